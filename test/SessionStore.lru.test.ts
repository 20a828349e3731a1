import { expect, it } from "@effect/vitest"
import { describe } from "vitest"
import { Config, ConfigProvider, Duration, Effect, Layer, Option, TestClock } from "effect"
import { Session, SessionStore } from "arawn-store"
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"
import * as Lru from "../src/SessionStore/Lru.js"

const { sampleSession } = SessionStoreSuite

SessionStoreSuite.suite("SessionStore/Lru", Lru.layer, { capacity: true, clock: "test" })
SessionStoreSuite.suite("SessionStore/Lru (tracing: false)", (options) => Lru.layer({ ...options, tracing: false }), {
  capacity: true,
  clock: "test"
})

// ARAWN_MODEL_OPS=20000 for a bench-sized run.
SessionStoreModel.suite("SessionStore/Lru", Lru.layer, { capacity: true, clock: "test" }, {
  operations: Number(process.env.ARAWN_MODEL_OPS) || undefined
})

describe("SessionStore/Lru specifics", () => {
  const withStore = <A, E>(options: Lru.Options, body: (s: SessionStore.SessionStore["Type"]) => Effect.Effect<A, E>) =>
    Effect.flatMap(Lru.make(options), body)

  it.effect("expiry is strict and exact to the millisecond under TestClock", () =>
    withStore({ ttl: Duration.seconds(1) }, (s) =>
      Effect.gen(function*() {
        const session = sampleSession()
        yield* s.put(session.id, session)
        yield* TestClock.adjust(Duration.millis(1000))
        expect(yield* s.contains(session.id)).toBe(true)
        yield* TestClock.adjust(Duration.millis(1))
        expect(yield* s.contains(session.id)).toBe(false)
        expect(yield* s.size()).toBe(0)
      })))

  it.effect("a get at the last live millisecond restarts the full TTL", () =>
    withStore({ ttl: Duration.seconds(1) }, (s) =>
      Effect.gen(function*() {
        const session = sampleSession()
        yield* s.put(session.id, session)
        yield* TestClock.adjust(Duration.millis(1000))
        expect(Option.isSome(yield* s.get(session.id))).toBe(true)
        yield* TestClock.adjust(Duration.millis(1000))
        expect(yield* s.contains(session.id)).toBe(true)
        yield* TestClock.adjust(Duration.millis(1))
        expect(Option.isNone(yield* s.get(session.id))).toBe(true)
      })))

  it.effect("an infinite TTL never expires", () =>
    withStore({ ttl: Duration.infinity }, (s) =>
      Effect.gen(function*() {
        const session = sampleSession()
        yield* s.put(session.id, session)
        yield* TestClock.adjust(Duration.days(3650))
        expect(yield* s.contains(session.id)).toBe(true)
      })))

  it.effect("capacity below 1 holds one session", () =>
    withStore({ capacity: 0 }, (s) =>
      Effect.gen(function*() {
        const [a, b] = [sampleSession(), sampleSession()]
        yield* s.put(a.id, a)
        yield* s.put(b.id, b)
        expect(yield* s.size()).toBe(1)
        expect(yield* s.contains(b.id)).toBe(true)
      })))

  it.effect("every get hands out a distinct copy, equal to what was put", () =>
    withStore({}, (s) =>
      Effect.gen(function*() {
        const session = sampleSession()
        yield* s.put(session.id, session)
        const first = Option.getOrThrow(yield* s.get(session.id))
        const second = Option.getOrThrow(yield* s.get(session.id))
        expect(first).not.toBe(second)
        expect(first.turns).not.toBe(second.turns)
        expect(first.turns[0]!.toolCalls[0]!.arguments).not.toBe(second.turns[0]!.toolCalls[0]!.arguments)
        expect(first).toBeInstanceOf(Session.Session)
        expect(first.turns[0]).toBeInstanceOf(Session.Turn)
        expect(first).toEqual(session)
        expect(second).toEqual(session)
      })))

  it.effect("remove hands back the stored session, which then cannot reach the store", () =>
    withStore({}, (s) =>
      Effect.gen(function*() {
        const session = sampleSession()
        yield* s.put(session.id, session)
        const removed = Option.getOrThrow(yield* s.remove(session.id))
        expect(removed).toEqual(session)
        expect(yield* s.size()).toBe(0)
      })))

  it.effect("layerConfig reads capacity and ttl from Config", () =>
    Effect.gen(function*() {
      const layer = Lru.layerConfig({ capacity: Config.integer("CAPACITY"), ttl: Config.duration("TTL") }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({ CAPACITY: 2, TTL: "10 seconds" })))
      )
      yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* SessionStore.SessionStore
          const [a, b, c] = [sampleSession(), sampleSession(), sampleSession()]
          for (const x of [a, b, c]) yield* s.put(x.id, x)
          expect(yield* s.size()).toBe(2)
          yield* TestClock.adjust(Duration.seconds(11))
          expect(yield* s.size()).toBe(0)
        }),
        layer
      )
    }))
})
