/**
 * The SessionStore conformance suite: every contract line of `SessionStore`, run against one backend.
 *
 * @since 0.1.0
 */
import { expect, it } from "@effect/vitest"
import { describe } from "vitest"
import { DateTime, Duration, Effect, Layer, Option, TestClock } from "effect"
import { SessionId, TurnId, WorkstreamId } from "../Ids.js"
import { Session, Turn } from "../Session.js"
import type { CacheOptions } from "../SessionStore.js"
import { SessionStore } from "../SessionStore.js"
import { MAX_DEPTH } from "../Json.js"
import { hostileJson, outcome, untyped, uuid } from "./internal.js"
import type { Cases } from "./SessionStoreCache.js"
import { capacity, Expiry, expiry } from "./SessionStoreCache.js"
import { compareAndSet } from "./SessionStoreCas.js"

/** What a backend supports beyond the core contract. @category suites */
export interface Features {
  /** The backend enforces `capacity` with least-recently-used eviction (the in-process caches do; Redis does not). */
  readonly capacity: boolean
  /**
   * How the timed cases let time pass. `test`: expiry follows Effect's Clock, so TestClock drives it; `live`: the
   * backend's own clock, in real time (the cases then sleep, and depend on the machine keeping pace); `hand`: the
   * backend's own clock, moved at once by the `Expiry` its layer provides (the TTL is an hour of real time).
   */
  readonly clock: "test" | "live" | "hand"
}

export { Expiry } from "./SessionStoreCache.js"

const expiryOf = (clock: Features["clock"]): Expiry["Type"] => ({
  advance: clock === "test"
    ? TestClock.adjust
    : clock === "live"
    ? Effect.sleep
    : () => Effect.fail(new Error("clock \"hand\": the layer under test provides no SessionStoreSuite.Expiry"))
})

const sid = (): SessionId => SessionId.make(uuid())

/**
 * A realistic session: two turns, tool calls with nested arguments, unicode, metadata; at version 1, as a store
 * gives it back after its first put. @category fixtures
 */
export const sampleSession = (id: SessionId = sid(), note = "hello", version = 1): Session =>
  new Session({
    id,
    version,
    workstreamId: WorkstreamId.make("ws-main"),
    turns: [
      new Turn({
        id: TurnId.make(uuid()),
        userMessage: `${note}: find the failing test 🧪`,
        assistantResponse: "It is in cache.test.ts — 日本語 ok",
        toolCalls: [{ id: "call_1", name: "grep", arguments: { pattern: "fail\"ing", paths: ["src", "test"], n: 3 } }],
        toolResults: [{ toolCallId: "call_1", success: true, content: "cache.test.ts:12" }],
        startedAt: DateTime.unsafeMake("2026-11-01T10:00:00.000Z"),
        completedAt: DateTime.unsafeMake("2026-11-01T10:00:05.250Z")
      }),
      new Turn({
        id: TurnId.make(uuid()),
        userMessage: "and now?",
        toolCalls: [],
        toolResults: [],
        startedAt: DateTime.unsafeMake("2026-11-01T10:01:00.000Z")
      })
    ],
    metadata: { model: "sonnet", budget: { tokens: 1200 }, flags: [true, null] },
    contextPreamble: "You are helpful.",
    createdAt: DateTime.unsafeMake("2026-11-01T10:00:00.000Z"),
    updatedAt: DateTime.unsafeMake("2026-11-01T10:01:00.000Z")
  })

/** Each contract line of the methods, on fresh ids. */
const contract = (ctx: Cases): void => {
  ctx.test("put then get returns an equal session", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const session = sampleSession()
      yield* s.put(session.id, session)
      const got = Option.getOrThrow(yield* s.get(session.id))
      expect(got).toEqual(session)
      expect(got.turns[0]!.toolCalls[0]!.arguments).toEqual({ pattern: "fail\"ing", paths: ["src", "test"], n: 3 })
      expect(got.turns[0]!.completedAt!.epochMillis).toBe(session.turns[0]!.completedAt!.epochMillis)
    }))

  ctx.test("get of an unknown id is None", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      expect(Option.isNone(yield* s.get(sid()))).toBe(true)
    }))

  ctx.test("put replaces the previous session", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const id = sid()
      yield* s.put(id, sampleSession(id, "first"))
      yield* s.put(id, sampleSession(id, "second"))
      expect(Option.getOrThrow(yield* s.get(id)).turns[0]!.userMessage).toContain("second")
      expect(yield* s.size()).toBe(1)
    }))

  ctx.test("remove returns the session once, then None; contains turns false", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const session = sampleSession()
      yield* s.put(session.id, session)
      expect(yield* s.contains(session.id)).toBe(true)
      expect(Option.getOrThrow(yield* s.remove(session.id))).toEqual(session)
      expect(Option.isNone(yield* s.remove(session.id))).toBe(true)
      expect(yield* s.contains(session.id)).toBe(false)
      expect(Option.isNone(yield* s.get(session.id))).toBe(true)
    }))

  ctx.test("remove of an unknown id is None", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      expect(Option.isNone(yield* s.remove(sid()))).toBe(true)
    }))

  ctx.test("size counts live sessions through puts, replaces and removes", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      expect(yield* s.size()).toBe(0)
      const ids = [sid(), sid(), sid()]
      for (const id of ids) yield* s.put(id, sampleSession(id))
      yield* s.put(ids[0]!, sampleSession(ids[0]!, "again"))
      expect(yield* s.size()).toBe(3)
      yield* s.remove(ids[1]!)
      expect(yield* s.size()).toBe(2)
    }))
}

/** What callers share with the store and with each other: nothing. */
const isolation = (ctx: Cases, make: (options: CacheOptions) => Layer.Layer<SessionStore, unknown>): void => {
  ctx.test("stored values are snapshots: mutating what was put or got changes nothing inside", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const session = sampleSession()
      yield* s.put(session.id, session)
      const turns: Array<Turn> = untyped(session.turns)
      turns.pop()
      const meta: Record<string, unknown> = untyped(session.metadata)
      meta.model = "mutated"
      const args: Record<string, unknown> = untyped(session.turns[0]!.toolCalls[0]!.arguments)
      args.pattern = "mutated"
      const got = Option.getOrThrow(yield* s.get(session.id))
      expect(got.turns.length).toBe(2)
      expect(got.metadata.model).toBe("sonnet")
      expect(untyped<Record<string, unknown>>(got.turns[0]!.toolCalls[0]!.arguments).pattern).toBe("fail\"ing")
      ;untyped<Array<Turn>>(got.turns).length = 0
      ;untyped<Record<string, unknown>>(got.metadata).model = "again"
      const again = Option.getOrThrow(yield* s.get(session.id))
      expect(again.turns.length).toBe(2)
      expect(again.metadata.model).toBe("sonnet")
    }))

  ctx.test("concurrent puts of distinct sessions are all kept", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const ids = Array.from({ length: 50 }, () => sid())
      yield* Effect.forEach(ids, (id) => s.put(id, sampleSession(id)), { concurrency: "unbounded" })
      expect(yield* s.size()).toBe(50)
      const found = yield* Effect.forEach(ids, (id) => s.contains(id), { concurrency: "unbounded" })
      expect(found.every((x) => x)).toBe(true)
    }))

  ctx.test("separately built stores do not share entries", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const session = sampleSession()
      yield* s.put(session.id, session)
      const seenElsewhere = yield* Effect.provide(
        Effect.flatMap(SessionStore, (other) => other.contains(session.id)),
        make({})
      )
      expect(seenElsewhere).toBe(false)
    }))
}

/** What `put` refuses, and that nothing of it is stored. */
const inputs = (ctx: Cases): void => {
  ctx.test("put under a key other than session.id is InvalidInput and stores nothing", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const other = sid()
      expect(yield* outcome(s.put(other, sampleSession()))).toBe("InvalidInput")
      expect(yield* s.contains(other)).toBe(false)
      expect(yield* s.size()).toBe(0)
    }))

  ctx.test("malformed ids are InvalidInput for every method", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      for (const bad of ["", "abc", "../../etc", "*", "arawn:session:*", "00000000-0000-0000-0000-00000000000G"]) {
        const id: SessionId = untyped(bad)
        expect(yield* outcome(s.get(id))).toBe("InvalidInput")
        expect(yield* outcome(s.contains(id))).toBe("InvalidInput")
        expect(yield* outcome(s.remove(id))).toBe("InvalidInput")
        expect(yield* outcome(s.put(id, sampleSession()))).toBe("InvalidInput")
      }
    }))

  ctx.test("a value that does not fit the Session schema is InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const good = sampleSession()
      const broken = { ...good, turns: [{ ...good.turns[0]!, startedAt: "yesterday" }] } satisfies Record<string, unknown>
      expect(yield* outcome(s.put(good.id, untyped(broken)))).toBe("InvalidInput")
      expect(yield* s.contains(good.id)).toBe(false)
    }))

  ctx.test("a Session-shaped plain object is InvalidInput, even with cyclic metadata", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const cyclic: Record<string, unknown> = {}
      cyclic["self"] = cyclic
      const plain = { ...sampleSession(), metadata: cyclic }
      expect(yield* outcome(s.put(plain.id, untyped(plain)))).toBe("InvalidInput")
      expect(yield* s.contains(plain.id)).toBe(false)
    }))
}

/** Free-form fields (metadata, tool-call arguments): stored as their JSON form, within the depth limit. */
const freeForm = (ctx: Cases): void => {
  ctx.test("free-form fields are stored as their JSON form, as the JSON codec of any backend would keep them", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const base = ctx.sample(sid())
      const metadata = {
        at: DateTime.toDateUtc(DateTime.unsafeMake(0)),
        gone: undefined,
        big: -0,
        nested: { list: [1, "two", { three: 3 }, undefined] },
        parsed: JSON.parse(`{"__proto__": {"polluted": true}, "kept": 1}`)
      }
      const session = new Session({ ...base, metadata })
      yield* s.put(session.id, session)
      const got = Option.getOrThrow(yield* s.get(session.id))
      expect(got.metadata).toStrictEqual(JSON.parse(JSON.stringify(metadata)))
      expect(Object.keys(got.metadata)).toEqual(["at", "big", "nested", "parsed"])
      const parsed = got.metadata.parsed
      expect(typeof parsed === "object" && parsed !== null && Object.getPrototypeOf(parsed)).toBe(Object.prototype)
    }))

  ctx.test("free-form values JSON cannot encode, or metadata whose JSON form is no object, are InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      const throwing = { toJSON: () => { throw new Error("not today") } }
      const metadata: ReadonlyArray<Record<string, unknown>> = [{ value: BigInt(1) }, { value: throwing }, { toJSON: () => "flat" }]
      for (const m of metadata) {
        const session = new Session({ ...ctx.sample(sid()), metadata: m })
        expect(yield* outcome(s.put(session.id, session))).toBe("InvalidInput")
        expect(yield* s.contains(session.id)).toBe(false)
      }
    }))

  ctx.test("free-form fields that are cyclic or nested past the depth limit are InvalidInput, and nothing is stored", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      // Session metadata has no size limit of its own: only the shapes that cannot be walked safely are refused.
      const hostile = hostileJson().filter((value) => typeof value === "object")
      expect(hostile.length).toBe(3)
      for (const value of hostile) {
        const base = sampleSession()
        const turn = base.turns[0]!
        const variants: ReadonlyArray<Session> = [
          ...(Array.isArray(value) ? [] : [new Session({ ...base, metadata: untyped(value) })]),
          new Session({ ...base, metadata: { nested: value } }),
          new Session({
            ...base,
            turns: [new Turn({ ...turn, toolCalls: [{ id: "call_1", name: "grep", arguments: value }] })]
          })
        ]
        for (const session of variants) {
          expect(yield* outcome(s.put(session.id, session))).toBe("InvalidInput")
          expect(yield* s.contains(session.id)).toBe(false)
        }
      }
      expect(yield* s.size()).toBe(0)
    }))

  ctx.test("free-form fields nested exactly to the depth limit are stored and read back; one level more is refused", () =>
    Effect.gen(function*() {
      const s = yield* SessionStore
      // The field itself is depth 0, as for Json.JsonValue: MAX_DEPTH containers in all.
      const chain = (levels: number) => {
        let value: unknown = "bottom"
        for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { d: value }
        return value
      }
      const ok = new Session({ ...sampleSession(), metadata: { d: chain(MAX_DEPTH - 1) } })
      yield* s.put(ok.id, ok)
      expect(Option.getOrThrow(yield* s.get(ok.id)).metadata).toEqual(ok.metadata)
      const deeper = new Session({ ...sampleSession(), metadata: { d: chain(MAX_DEPTH) } })
      expect(yield* outcome(s.put(deeper.id, deeper))).toBe("InvalidInput")
      expect(yield* s.contains(deeper.id)).toBe(false)
    }))
}

/**
 * Registers the suite. `make` builds a fresh, empty store with the given options; each test gets its own. With
 * `clock: "hand"`, its layer also provides the store's `Expiry`.
 *
 * @category suites
 */
export const suite = <E>(
  name: string,
  make: (options: CacheOptions) => Layer.Layer<SessionStore, E>,
  features: Features
): void => {
  describe(name, () => {
    const live = features.clock === "live"
    // The layer's own Expiry, when it has one, replaces the suite's.
    const layer = (options: CacheOptions) => Layer.merge(Layer.succeed(Expiry, expiryOf(features.clock)), make(options))
    const test = (title: string, body: () => Effect.Effect<void, unknown, SessionStore | Expiry>, options: CacheOptions = {}) =>
      it.effect(title, () => Effect.provide(Effect.suspend(body), layer(options)))
    const timed = (title: string, body: () => Effect.Effect<void, unknown, SessionStore | Expiry>, options: CacheOptions) =>
      live
        ? it.live(title, () => Effect.provide(Effect.suspend(body), layer(options)), 30_000)
        : test(title, body, options)
    const ttl = live ? Duration.millis(1000) : Duration.hours(1)
    const advance = (fraction: number) =>
      Effect.flatMap(Expiry, (e) => e.advance(Duration.millis(Duration.toMillis(ttl) * fraction)))

    const cases: Cases = { features, test, timed, ttl, advance, sample: sampleSession }
    contract(cases)
    isolation(cases, make)
    inputs(cases)
    freeForm(cases)
    if (features.capacity) capacity(cases)
    expiry(cases)
    compareAndSet(cases)
  })
}
