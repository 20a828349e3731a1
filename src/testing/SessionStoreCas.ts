/**
 * Versions and compare-and-set puts, registered by `SessionStoreSuite.suite` for every backend.
 */
import { expect } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { SessionId } from "../Ids.js"
import { SessionStore } from "../SessionStore.js"
import { outcome, untyped, uuid } from "./internal.js"
import type { Cases } from "./SessionStoreCache.js"

const sid = (): SessionId => SessionId.make(uuid())

const versionOf = (found: Option.Option<{ readonly version: number }>) => Option.getOrThrow(found).version

/** The version counter, the compare-and-set rules, and a race of writers that read the same version. */
export const compareAndSet = (ctx: Cases): void => {
  ctx.test("every put numbers the session: 1 first, one more each time, whatever version the session given carries", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id, "a", 42))
      expect(versionOf(yield* s.get(id))).toBe(1)
      yield* s.put(id, ctx.sample(id, "b", 0))
      yield* s.put(id, ctx.sample(id, "c", 1))
      const got = Option.getOrThrow(yield* s.get(id))
      expect(got.version).toBe(3)
      expect(got.turns[0]!.userMessage).toContain("c")
    }))

  ctx.test("expectedVersion 0 writes only where no live session is; then it is Conflict and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id, "first"), { expectedVersion: 0 })
      const error = yield* Effect.flip(s.put(id, ctx.sample(id, "second"), { expectedVersion: 0 }))
      expect(error).toMatchObject({ _tag: "Conflict", entity: "session", id, expected: "0", actual: "1" })
      const got = Option.getOrThrow(yield* s.get(id))
      expect(got.turns[0]!.userMessage).toContain("first")
      expect(got.version).toBe(1)
    }))

  ctx.test("a stale expectedVersion is Conflict naming the live version, and writes nothing; the current one writes", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id, "one"))
      yield* s.put(id, ctx.sample(id, "two"))
      for (const stale of [0, 1, 3, 100]) {
        const error = yield* Effect.flip(s.put(id, ctx.sample(id, "lost"), { expectedVersion: stale }))
        expect(error).toMatchObject({ _tag: "Conflict", expected: String(stale), actual: "2" })
      }
      expect(Option.getOrThrow(yield* s.get(id)).turns[0]!.userMessage).toContain("two")
      yield* s.put(id, ctx.sample(id, "three"), { expectedVersion: 2 })
      const got = Option.getOrThrow(yield* s.get(id))
      expect(got.version).toBe(3)
      expect(got.turns[0]!.userMessage).toContain("three")
      expect(yield* s.size()).toBe(1)
    }))

  ctx.test("concurrent compare-and-set writers that read the same version: exactly one wins, the rest are Conflict", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id, "base"))
      for (let round = 0; round < 5; round++) {
        const read = versionOf(yield* s.get(id))
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, w) => w),
          (w) => Effect.either(s.put(id, ctx.sample(id, `round ${round} writer ${w}`), { expectedVersion: read })),
          { concurrency: "unbounded" }
        )
        const winners = results.flatMap((r, w) => Either.isRight(r) ? [w] : [])
        expect(winners.length).toBe(1)
        for (const r of results) if (Either.isLeft(r)) expect(r.left).toMatchObject({ _tag: "Conflict", actual: String(read + 1) })
        const got = Option.getOrThrow(yield* s.get(id))
        expect(got.version).toBe(read + 1)
        expect(got.turns[0]!.userMessage).toContain(`round ${round} writer ${winners[0]}:`)
      }
    }))

  ctx.test("after a remove the version restarts: expectedVersion 0 writes again, at version 1", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id))
      yield* s.put(id, ctx.sample(id))
      expect(versionOf(yield* s.remove(id))).toBe(2)
      expect(yield* outcome(s.put(id, ctx.sample(id), { expectedVersion: 2 }))).toBe("Conflict")
      expect(yield* s.contains(id)).toBe(false)
      yield* s.put(id, ctx.sample(id), { expectedVersion: 0 })
      expect(versionOf(yield* s.get(id))).toBe(1)
    }))

  ctx.test("an expectedVersion that is no non-negative integer is InvalidInput, and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, untyped<number>("1")]) {
        expect(yield* outcome(s.put(id, ctx.sample(id), { expectedVersion: bad }))).toBe("InvalidInput")
      }
      expect(yield* s.contains(id)).toBe(false)
      // An options object without the field is an ordinary put.
      yield* s.put(id, ctx.sample(id), {})
      expect(yield* s.contains(id)).toBe(true)
    }))

  ctx.timed("an expired session counts as absent: expectedVersion 0 writes again", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id, "old"))
      yield* ctx.advance(1.5)
      yield* s.put(id, ctx.sample(id, "new"), { expectedVersion: 0 })
      const got = Option.getOrThrow(yield* s.get(id))
      expect(got.version).toBe(1)
      expect(got.turns[0]!.userMessage).toContain("new")
    }), { ttl: ctx.ttl })
}
