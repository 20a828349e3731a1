/**
 * The cache semantics of the SessionStore suite (capacity and LRU order, sliding TTL), registered by
 * `SessionStoreSuite.suite`.
 */
import { expect } from "@effect/vitest"
import { Context, Duration, Effect, Option, TestClock } from "effect"
import { SessionId } from "../Ids.js"
import type { Session } from "../Session.js"
import type { CacheOptions } from "../SessionStore.js"
import { SessionStore } from "../SessionStore.js"
import { uuid } from "./internal.js"

/**
 * Lets time pass for the store under test, as its backend measures it: the suite provides it for the `test` and
 * `live` clocks; with the `hand` clock, the backend's layer does (e.g. by taking the time off every key's TTL).
 *
 * @category suites
 */
export class Expiry extends Context.Tag("arawn-store/testing/SessionStoreSuite/Expiry")<Expiry, {
  /** Returns once every session the store holds is `d` older, as far as the store can tell. */
  readonly advance: (d: Duration.Duration) => Effect.Effect<void, unknown>
}>() {}

/** What the suite hands its groups of cases. */
export interface Cases {
  readonly features: { readonly capacity: boolean; readonly clock: "test" | "live" | "hand" }
  readonly test: (title: string, body: () => Effect.Effect<void, unknown, SessionStore | Expiry>, options?: CacheOptions) => void
  /** A case that needs time to pass: TestClock, the backend's hand, or real time (see `Features.clock`). */
  readonly timed: (title: string, body: () => Effect.Effect<void, unknown, SessionStore | Expiry>, options: CacheOptions) => void
  /** The TTL the timed cases use, and a move of the clock by a share of it. */
  readonly ttl: Duration.Duration
  readonly advance: (fraction: number) => Effect.Effect<void, unknown, Expiry>
  readonly sample: (id: SessionId, note?: string, version?: number) => Session
}

const sid = (): SessionId => SessionId.make(uuid())

/** Capacity with least-recently-used eviction, for the backends that have one. */
export const capacity = (ctx: Cases): void => {
  ctx.test("at capacity the least recently used session is evicted", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const ids = [sid(), sid(), sid(), sid()]
      for (const id of ids) yield* s.put(id, ctx.sample(id))
      expect(yield* s.size()).toBe(3)
      expect(yield* s.contains(ids[0]!)).toBe(false)
      for (const id of ids.slice(1)) expect(yield* s.contains(id)).toBe(true)
    }), { capacity: 3 })

  ctx.test("get moves a session to most recently used", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const [a, b, c, d] = [sid(), sid(), sid(), sid()]
      for (const id of [a, b, c]) yield* s.put(id, ctx.sample(id))
      yield* s.get(a)
      yield* s.put(d, ctx.sample(d))
      expect(yield* s.contains(a)).toBe(true)
      expect(yield* s.contains(b)).toBe(false)
    }), { capacity: 3 })

  ctx.test("contains does not move a session in LRU order", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const [a, b, c, d] = [sid(), sid(), sid(), sid()]
      for (const id of [a, b, c]) yield* s.put(id, ctx.sample(id))
      expect(yield* s.contains(a)).toBe(true)
      yield* s.put(d, ctx.sample(d))
      expect(yield* s.contains(a)).toBe(false)
      expect(yield* s.contains(b)).toBe(true)
    }), { capacity: 3 })

  ctx.test("replacing a session at capacity evicts nothing and refreshes it", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const [a, b, c, d] = [sid(), sid(), sid(), sid()]
      for (const id of [a, b, c]) yield* s.put(id, ctx.sample(id))
      yield* s.put(a, ctx.sample(a, "replaced"))
      expect(yield* s.size()).toBe(3)
      for (const id of [a, b, c]) expect(yield* s.contains(id)).toBe(true)
      yield* s.put(d, ctx.sample(d))
      expect(yield* s.contains(b)).toBe(false)
      expect(yield* s.contains(a)).toBe(true)
    }), { capacity: 3 })

  ctx.test("capacity 1 keeps only the latest session", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const [a, b] = [sid(), sid()]
      yield* s.put(a, ctx.sample(a))
      yield* s.put(b, ctx.sample(b))
      expect(yield* s.size()).toBe(1)
      expect(yield* s.contains(b)).toBe(true)
    }), { capacity: 1 })
}

/** The sliding TTL, on TestClock, the backend's hand or in real time. */
export const expiry = (ctx: Cases): void => {
  ctx.timed("a session untouched for longer than the TTL is gone for every method", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const [a, b] = [sid(), sid()]
      yield* s.put(a, ctx.sample(a))
      yield* s.put(b, ctx.sample(b))
      yield* ctx.advance(0.5)
      expect(yield* s.contains(a)).toBe(true)
      yield* ctx.advance(1.2)
      expect(yield* s.contains(a)).toBe(false)
      expect(Option.isNone(yield* s.get(a))).toBe(true)
      expect(Option.isNone(yield* s.remove(b))).toBe(true)
      expect(yield* s.size()).toBe(0)
    }), { ttl: ctx.ttl })

  ctx.timed("get refreshes the sliding TTL", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id))
      for (let i = 0; i < 3; i++) {
        yield* ctx.advance(0.6)
        expect(Option.isSome(yield* s.get(id))).toBe(true)
      }
      yield* ctx.advance(1.5)
      expect(Option.isNone(yield* s.get(id))).toBe(true)
    }), { ttl: ctx.ttl })

  ctx.timed("put refreshes the sliding TTL", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id))
      yield* ctx.advance(0.6)
      yield* s.put(id, ctx.sample(id, "again"))
      yield* ctx.advance(0.6)
      expect(yield* s.contains(id)).toBe(true)
      expect(Option.getOrThrow(yield* s.get(id)).turns[0]!.userMessage).toContain("again")
    }), { ttl: ctx.ttl })

  ctx.timed("contains does not refresh the TTL", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id))
      yield* ctx.advance(0.6)
      expect(yield* s.contains(id)).toBe(true)
      yield* ctx.advance(0.6)
      expect(yield* s.contains(id)).toBe(false)
    }), { ttl: ctx.ttl })

  ctx.timed("size never counts expired sessions", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const [a, b] = [sid(), sid()]
      yield* s.put(a, ctx.sample(a))
      yield* ctx.advance(0.6)
      yield* s.put(b, ctx.sample(b))
      expect(yield* s.size()).toBe(2)
      yield* ctx.advance(0.6)
      expect(yield* s.size()).toBe(1)
      expect(yield* s.contains(b)).toBe(true)
    }), { ttl: ctx.ttl })

  ctx.timed("an expired session can be put again", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, ctx.sample(id, "old"))
      yield* ctx.advance(1.5)
      yield* s.put(id, ctx.sample(id, "new"))
      expect(Option.getOrThrow(yield* s.get(id)).turns[0]!.userMessage).toContain("new")
    }), { ttl: ctx.ttl })

  if (ctx.features.clock === "test") {
    ctx.test("without a TTL nothing expires", () =>
      Effect.gen(function*() {
        const s = yield* SessionStore
        const id = sid()
        yield* s.put(id, ctx.sample(id))
        yield* TestClock.adjust(Duration.days(365))
        expect(Option.isSome(yield* s.get(id))).toBe(true)
      }))

    if (ctx.features.capacity) {
      ctx.test("expired sessions make room before a live one is evicted", () =>
        Effect.gen(function*() {
          const s = yield* SessionStore
          const [a, b, c] = [sid(), sid(), sid()]
          yield* s.put(a, ctx.sample(a))
          yield* ctx.advance(0.6)
          yield* s.put(b, ctx.sample(b))
          yield* ctx.advance(0.6)
          yield* s.put(c, ctx.sample(c))
          expect(yield* s.contains(b)).toBe(true)
          expect(yield* s.contains(c)).toBe(true)
        }), { capacity: 2, ttl: ctx.ttl })
    }
  }
}
