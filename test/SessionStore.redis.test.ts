import { expect, it } from "@effect/vitest"
import { afterAll, beforeAll, describe } from "vitest"
import type { ChildProcess } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import { performance } from "node:perf_hooks"
import { Config, ConfigProvider, Duration, Effect, Either, Fiber, Layer, Option, Schema } from "effect"
import { Redis as IORedis } from "ioredis"
import { Ids, Session, SessionStore } from "arawn-store"
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"
import * as Redis from "../src/SessionStore/Redis.js"
import { expiryHand, host, port, redisServer, skipRedis, sparePort, stopServer, until } from "./support/redis.js"

const skipRedisUnreachableAndOptional = await skipRedis()
const freshPrefix = () => `arawn-test:${randomBytes(6).toString("hex")}:`
const sid = () => Ids.SessionId.make(randomUUID())
const { sampleSession } = SessionStoreSuite

const waitUntil = (check: () => Promise<boolean>, timeoutMs: number) => Effect.promise(() => until(check, timeoutMs))
const kill = (child: ChildProcess) => Effect.promise(() => stopServer(child))

/** How long `self` took in real time, and how it ended. */
const timed = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const t0 = performance.now()
    const result = yield* Effect.either(self)
    return { ms: performance.now() - t0, result }
  })

describe.skipIf(skipRedisUnreachableAndOptional)("SessionStore/Redis", () => {
  let raw: IORedis
  beforeAll(async () => {
    raw = new IORedis({ host, port, lazyConnect: true })
    await raw.connect()
  })
  afterAll(async () => {
    await raw.quit()
  })

  const keysUnder = async (prefix: string) => {
    const out = new Set<string>()
    let cursor = "0"
    do {
      const [next, keys] = await raw.scan(cursor, "MATCH", prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + "*")
      for (const k of keys) out.add(k)
      cursor = next
    } while (cursor !== "0")
    return [...out]
  }

  /** Each store gets its own prefix, and its keys are deleted when its layer is released. */
  const make = (options: SessionStore.CacheOptions, prefix = freshPrefix()) => {
    const cleanup = Layer.scopedDiscard(Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const keys = await keysUnder(prefix)
        if (keys.length > 0) await raw.del(...keys)
      })
    ))
    return Layer.merge(Redis.layer({ host, port, prefix, ttl: options.ttl }), cleanup)
  }

  /** With the hand that ages its keys instead of waiting for them to expire. */
  const withHand = (options: SessionStore.CacheOptions) => {
    const prefix = freshPrefix()
    return Layer.merge(make(options, prefix), expiryHand(raw, prefix, false))
  }

  SessionStoreSuite.suite("conformance", withHand, { capacity: false, clock: "hand" })
  // ARAWN_MODEL_OPS=20000 for a bench-sized run.
  SessionStoreModel.suite("conformance", (options) => make(options), { capacity: false, clock: "live" }, {
    operations: Number(process.env.ARAWN_MODEL_OPS) || undefined
  })

  it.live("a stored value that does not decode, or holds another session, is corrupt the same way for every method", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const [a, b, c, d, e] = [sid(), sid(), sid(), sid(), sid()]
      let deep: unknown = 0
      for (let i = 0; i < 100; i++) deep = [deep]
      const stored = new Map<Ids.SessionId, string>([
        [a, "{not json"],
        [b, JSON.stringify({ id: b, turns: "none" })],
        // A well-formed session, but under the key of another one.
        [c, Schema.encodeSync(Session.SessionJson)(sampleSession(d))],
        // A session under its own key, with metadata nested deeper than put accepts.
        [e, Schema.encodeSync(Session.SessionJson)(new Session.Session({ ...sampleSession(e), metadata: { deep } }))]
      ])
      for (const [id, text] of stored) yield* Effect.promise(() => raw.set(prefix + id, text))
      const s = yield* Redis.make({ host, port, prefix })
      for (const [id, text] of stored) {
        for (const attempt of [s.get(id), s.remove(id)]) {
          const error = yield* Effect.flip(attempt)
          expect(error._tag).toBe("StorageError")
          expect(error.message).toContain(prefix + id)
        }
        // Left in place: contains and size never read values, so they count it.
        expect(yield* Effect.promise(() => raw.get(prefix + id))).toBe(text)
        expect(yield* s.contains(id)).toBe(true)
      }
      expect(yield* s.size()).toBe(4)
      // A compare-and-set put cannot match a version it cannot read; text without one is "unreadable".
      const refused = yield* Effect.flip(s.put(a, sampleSession(a), { expectedVersion: 0 }))
      expect(refused).toMatchObject({ _tag: "Conflict", entity: "session", id: a, expected: "0", actual: "unreadable" })
      expect(yield* Effect.promise(() => raw.get(prefix + a))).toBe("{not json")
      // put replaces a corrupt entry, which is then an ordinary session; its version counts on from the one the
      // text carried (c holds a version-1 session of another id).
      const given = sampleSession(c, "fresh", 7)
      yield* s.put(c, given)
      const fresh = new Session.Session({ ...given, version: 2 })
      expect(Option.getOrThrow(yield* s.get(c))).toEqual(fresh)
      expect(Option.getOrThrow(yield* s.remove(c))).toEqual(fresh)
      expect(yield* s.size()).toBe(3)
      yield* Effect.promise(() => raw.del(prefix + a, prefix + b, prefix + e))
    }).pipe(Effect.scoped))

  it.live("the stored text starts with the id and the version, where the put script reads the version", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const s = yield* Redis.make({ host, port, prefix })
      const session = sampleSession()
      yield* s.put(session.id, session)
      yield* s.put(session.id, session)
      const text = yield* Effect.promise(() => raw.get(prefix + session.id))
      expect(text?.startsWith(`{"id":"${session.id}","version":2,"workstreamId":`)).toBe(true)
      yield* Effect.promise(() => raw.del(prefix + session.id))
    }).pipe(Effect.scoped))

  it.live("with a TTL, put sets PX and get restarts it; without one, keys never expire", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const withTtl = yield* Redis.make({ host, port, prefix, ttl: Duration.seconds(60) })
      const session = sampleSession()
      const k = prefix + session.id
      yield* withTtl.put(session.id, session)
      const afterPut = yield* Effect.promise(() => raw.pttl(k))
      expect(afterPut).toBeGreaterThan(50_000)
      expect(afterPut).toBeLessThanOrEqual(60_000)
      // As if half the TTL had passed, without waiting for it.
      yield* Effect.promise(() => raw.pexpire(k, 30_000))
      yield* withTtl.contains(session.id)
      const beforeGet = yield* Effect.promise(() => raw.pttl(k))
      expect(beforeGet).toBeLessThanOrEqual(30_000)
      yield* withTtl.get(session.id)
      const afterGet = yield* Effect.promise(() => raw.pttl(k))
      expect(afterGet).toBeGreaterThan(30_000)

      const noTtl = yield* Redis.make({ host, port, prefix })
      yield* noTtl.put(session.id, session)
      expect(yield* Effect.promise(() => raw.pttl(k))).toBe(-1)
      yield* noTtl.get(session.id)
      expect(yield* Effect.promise(() => raw.pttl(k))).toBe(-1)
      yield* noTtl.remove(session.id)
      expect(yield* Effect.promise(() => raw.exists(k))).toBe(0)
    }).pipe(Effect.scoped))

  it.live("keys stay under the prefix, even one full of glob characters, and size counts only session keys", () =>
    Effect.gen(function*() {
      const tag = randomBytes(6).toString("hex")
      const prefix = `arawn-test:[${tag}]*?:`
      const s = yield* Redis.make({ host, port, prefix })
      const session = sampleSession()
      yield* s.put(session.id, session)
      // Siblings an unescaped pattern would match, and a non-session key under the prefix.
      const strays = [`arawn-test:${tag[0]}${tag}:${sid()}`, `arawn-test:[${tag}]xy:${sid()}`, `${prefix}not-a-session`]
      for (const k of strays) yield* Effect.promise(() => raw.set(k, "x"))
      expect(yield* Effect.promise(() => keysUnder(prefix))).toEqual(
        expect.arrayContaining([prefix + session.id, `${prefix}not-a-session`])
      )
      expect(yield* s.size()).toBe(1)
      yield* s.remove(session.id)
      expect(yield* s.size()).toBe(0)
      yield* Effect.promise(() => raw.del(...strays))
    }).pipe(Effect.scoped))

  it.live("the layer's connection is closed when the layer is released", () =>
    Effect.gen(function*() {
      const name = `arawn-close-${randomBytes(6).toString("hex")}`
      const listed = Effect.promise(async () => String(await raw.client("LIST")).includes(`name=${name} `))
      yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* SessionStore.SessionStore
          yield* s.size()
          expect(yield* listed).toBe(true)
        }),
        Redis.layer({ host, port, prefix: freshPrefix(), connectionName: name })
      )
      expect(yield* waitUntil(async () => !String(await raw.client("LIST")).includes(`name=${name} `), 2_000)).toBe(true)
    }))

  it.live("building against a server that is not there fails with StorageError, quickly", () =>
    Effect.gen(function*() {
      const p = yield* Effect.promise(sparePort)
      const { ms, result } = yield* timed(Effect.scoped(Redis.make({ host, port: p })))
      expect(Either.isLeft(result) && result.left._tag).toBe("StorageError")
      expect(ms).toBeLessThan(3_000)
    }))

  it.live("layerConfig reads a redacted URL, prefix and ttl from Config", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const layer = Redis.layerConfig({
        url: Config.redacted("REDIS_URL"),
        prefix: Config.string("PREFIX"),
        ttl: Config.duration("TTL")
      }).pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({
        REDIS_URL: `redis://${host}:${port}/0`,
        PREFIX: prefix,
        TTL: "30 seconds"
      }))))
      const session = sampleSession()
      yield* Effect.provide(Effect.flatMap(SessionStore.SessionStore, (s) => s.put(session.id, session)), layer)
      const pttl = yield* Effect.promise(() => raw.pttl(prefix + session.id))
      expect(pttl).toBeGreaterThan(29_000)
      expect(pttl).toBeLessThanOrEqual(30_000)
      yield* Effect.promise(() => raw.del(prefix + session.id))
    }))

  it.live("while Redis is down calls fail with StorageError within a bound, and work again once it is back", () =>
    Effect.gen(function*() {
      const p = yield* Effect.promise(sparePort)
      const first = yield* redisServer(p)
      const s = yield* Redis.make({ host, port: p, prefix: freshPrefix() })
      const session = sampleSession()
      yield* s.put(session.id, session)
      expect(Option.isSome(yield* s.get(session.id))).toBe(true)

      yield* kill(first)
      const calls = [s.get(session.id), s.put(session.id, session), s.contains(session.id), s.remove(session.id), s.size()]
      for (const call of calls) {
        const { ms, result } = yield* timed(call)
        expect(Either.isLeft(result) && result.left._tag).toBe("StorageError")
        expect(ms).toBeLessThan(3_000)
      }

      yield* redisServer(p)
      const healed = yield* waitUntil(
        () => Effect.runPromise(Effect.match(s.put(session.id, session), { onFailure: () => false, onSuccess: () => true })),
        10_000
      )
      expect(healed).toBe(true)
      expect(Option.getOrThrow(yield* s.get(session.id))).toEqual(session)
      expect(yield* s.size()).toBe(1)
    }).pipe(Effect.scoped), 30_000)

  it.live("a server that stops answering fails calls at the command timeout, and they succeed once it resumes", () =>
    Effect.gen(function*() {
      const p = yield* Effect.promise(sparePort)
      const server = yield* redisServer(p)
      const s = yield* Redis.make({ host, port: p, prefix: freshPrefix(), commandTimeout: 500 })
      const session = sampleSession()
      yield* s.put(session.id, session)
      server.kill("SIGSTOP")
      const { ms, result } = yield* timed(s.get(session.id)).pipe(
        Effect.ensuring(Effect.sync(() => server.kill("SIGCONT")))
      )
      expect(Either.isLeft(result) && result.left._tag).toBe("StorageError")
      expect(ms).toBeLessThan(2_500)
      expect(Option.getOrThrow(yield* s.get(session.id))).toEqual(session)
    }).pipe(Effect.scoped), 30_000)

  it.live("with the server frozen, every call fails within commandTimeout, even one queued behind a call in flight", () =>
    Effect.gen(function*() {
      const p = yield* Effect.promise(sparePort)
      const server = yield* redisServer(p)
      // The default timeout (2 s). Queued behind the first call, the later ones used to end at twice it from the
      // first call's start; sent a tenth of it later, 1.9 times it after their own. Half of it is left for a loaded
      // machine's timer lag.
      const commandTimeout = 2_000
      const s = yield* Redis.make({ host, port: p, prefix: freshPrefix() })
      const session = sampleSession()
      yield* s.put(session.id, session)
      server.kill("SIGSTOP")
      const outcomes: ReadonlyArray<{ ms: number; result: Either.Either<unknown, { _tag: string }> }> = yield* Effect.gen(function*() {
        // A first call occupies the connection; ioredis holds every later command unwritten behind it.
        const first = yield* Effect.fork(timed(s.get(session.id)))
        yield* Effect.sleep(Duration.millis(commandTimeout / 10))
        const later = yield* Effect.all(
          [s.get(session.id), s.put(session.id, session), s.contains(session.id), s.remove(session.id), s.size()].map(timed),
          { concurrency: "unbounded" }
        )
        return [yield* Fiber.join(first), ...later]
      }).pipe(Effect.ensuring(Effect.sync(() => server.kill("SIGCONT"))))
      for (const { ms, result } of outcomes) {
        expect(Either.isLeft(result) && result.left._tag).toBe("StorageError")
        expect(ms).toBeGreaterThanOrEqual(commandTimeout - 50)
        expect(ms).toBeLessThan(commandTimeout * 1.5)
      }
      // A timed-out put may still be applied once the server answers; either way the store works again.
      const healed = yield* waitUntil(
        () => Effect.runPromise(Effect.match(s.get(session.id), { onFailure: () => false, onSuccess: () => true })),
        10_000
      )
      expect(healed).toBe(true)
    }).pipe(Effect.scoped), 30_000)
})
