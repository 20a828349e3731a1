import { expect, it } from "@effect/vitest"
import { afterAll, beforeAll, describe } from "vitest"
import { randomBytes } from "node:crypto"
import { Deferred, Duration, Effect, Either, Exit, Fiber, Layer, Option, Schema } from "effect"
import { Redis as IORedis } from "ioredis"
import { Session, SessionStore } from "arawn-store"
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"
import * as Tiered from "../src/SessionStore/Tiered.js"
import type { Chunk, Way } from "./support/proxy.js"
import { proxy } from "./support/proxy.js"
import { expiryHand, host, port, redisServer, skipRedis, sparePort, startServer, stopServer, until } from "./support/redis.js"

const freshPrefix = () => `arawn-test:${randomBytes(6).toString("hex")}:`
const { sampleSession } = SessionStoreSuite

/** Calls of `command` the server at `p` has run since its stats were reset. */
const calls = async (client: IORedis, command: string) => {
  const info = await client.info("commandstats")
  const m = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
  return m === null ? 0 : Number(m[1])
}

/** What connection `conn` sent (`up`) or was sent (`down`) through a proxy, from entry `from` of its log on. */
const passed = (log: ReadonlyArray<Chunk>, conn: number, way: Way, from = 0) =>
  log.slice(from).filter((c) => c.conn === conn && c.way === way).map((c) => c.text).join("")

describe.skipIf(await skipRedis())("SessionStore/Tiered", () => {
  let raw: IORedis
  beforeAll(async () => {
    raw = new IORedis({ host, port, lazyConnect: true })
    await raw.connect()
  })
  afterAll(async () => {
    await raw.quit()
  })

  const cleanup = (prefix: string) =>
    Layer.scopedDiscard(Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const keys = await raw.keys(`${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`)
        if (keys.length > 0) await raw.del(...keys)
      })
    ))
  const make = (options: SessionStore.CacheOptions, prefix = freshPrefix()) =>
    Layer.merge(Tiered.layer({ host, port, prefix, ttl: options.ttl }), cleanup(prefix))
  /** With the hand that ages its keys (and drops the copies of them) instead of waiting for them to expire. */
  const withHand = (options: SessionStore.CacheOptions) => {
    const prefix = freshPrefix()
    return Layer.merge(make(options, prefix), expiryHand(raw, prefix, true))
  }

  SessionStoreSuite.suite("conformance", withHand, { capacity: false, clock: "hand" })
  SessionStoreModel.suite("conformance", (options) => make(options), { capacity: false, clock: "live" }, {
    operations: Number(process.env.ARAWN_MODEL_OPS) || undefined
  })

  it.live("two instances on one prefix: once a put or remove in one returned, the other never reads the old value", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* Tiered.make({ host, port, prefix })
      const b = yield* Tiered.make({ host, port, prefix })
      const id = sampleSession().id
      let stale = 0
      for (let round = 1; round <= 300; round++) {
        yield* a.put(id, sampleSession(id, `round ${round}`))
        const seen = Option.getOrThrow(yield* b.get(id))
        if (seen.version !== round || !seen.turns[0]!.userMessage.startsWith(`round ${round}:`)) stale++
        // b now holds a copy in L1; the next put in a must reach it.
      }
      expect(stale).toBe(0)
      yield* a.remove(id)
      expect(Option.isNone(yield* b.get(id))).toBe(true)
      expect(yield* b.contains(id)).toBe(false)
      yield* Effect.promise(() => raw.del(prefix + id))
    }).pipe(Effect.scoped), 60_000)

  it.live("a read sent after the lease lapsed never fills L1: a put acknowledged before its reply is seen at once", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const px = yield* proxy(host, port)
      // The reader reaches Redis through the proxy: its command connection and its subscription, in some order.
      const reader = yield* Tiered.make({ host, port: px.port, prefix, commandTimeout: 30_000 })
      const writer = yield* Tiered.make({ host, port, prefix })
      const id = sampleSession().id
      const note = (s: Option.Option<Session.Session>) => Option.getOrThrow(s).turns[0]!.userMessage
      yield* writer.put(id, sampleSession(id, "before the put"))
      expect(note(yield* reader.get(id))).toContain("before the put")
      expect(px.connections()).toBe(2)
      const sub = [0, 1].find((c) => /subscribe/i.test(passed(px.log, c, "up")))!
      const cmd = 1 - sub

      // The reader's heartbeat goes unanswered from now on, and its lease lapses. The first read it sends to Redis
      // runs there, but the answer is held.
      yield* px.hold(sub, "down")
      const held = px.log.length
      yield* px.holdOn(cmd, "down", { conn: cmd, way: "up", text: prefix + id })
      // Hits while the lease lasts; the first call past it is that read.
      let pending: Fiber.RuntimeFiber<Option.Option<Session.Session>, unknown> | undefined
      while (pending === undefined) {
        const call = yield* Effect.fork(reader.get(id))
        const sent = yield* Effect.race(
          Effect.as(Fiber.join(call), false),
          Effect.as(px.when((log) => passed(log, cmd, "up", held).includes(prefix + id)), true)
        )
        if (sent) pending = call
        else yield* Effect.sleep(Duration.millis(5))
      }
      // The read has run: its reply, the old value, waits in the proxy.
      yield* px.when((log) => passed(log, cmd, "down", held).includes("before the put"))

      // A put after that read. Its invalidation reaches the reader; the reader's acknowledgement waits behind the
      // read (one pipeline at a time on its command connection).
      const put = yield* Effect.fork(writer.put(id, sampleSession(id, "after the put")))
      yield* px.when((log) => passed(log, sub, "down", held).includes(id))
      const released = px.log.length
      yield* px.release(sub, "down")
      // The reader holds a lease again: a heartbeat sent after the invalidation was answered (a heartbeat is sent
      // only once the one before it was answered, so the second PING since the release proves the first's PONG).
      yield* px.when((log) => (passed(log, sub, "up", released).match(/ping/gi) ?? []).length >= 2)
      // Only now does the old value reach the reader: its caller may have it (the read began before the put)...
      yield* px.release(cmd, "down")
      expect(note(yield* Fiber.join(pending))).toContain("before the put")
      yield* Fiber.join(put)
      // ...but once the put is acknowledged, no read may.
      expect(note(yield* reader.get(id))).toContain("after the put")
      expect(note(yield* reader.get(id))).toContain("after the put")
      yield* Effect.promise(() => raw.del(prefix + id))
    }).pipe(Effect.scoped), 30_000)

  it.live("interrupting the callers of a shared read: the others still get its answer; when none is left it stops and fills nothing", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const px = yield* proxy(host, port)
      // One lease for both, long enough for a loaded machine: a writer waits for acknowledgements as long as its
      // own lease lets any instance serve (instances on one prefix are meant to share the setting).
      const lease = { lease: "10 seconds", connectTimeout: 10_000 } as const
      const reader = yield* Tiered.make({ host, port: px.port, prefix, commandTimeout: 30_000, ...lease })
      const writer = yield* Tiered.make({ host, port, prefix, ...lease })
      const id = sampleSession().id
      const note = (s: Option.Option<Session.Session>) => Option.getOrThrow(s).turns[0]!.userMessage
      yield* writer.put(id, sampleSession(id, "first"))
      const sub = [0, 1].find((c) => /subscribe/i.test(passed(px.log, c, "up")))!
      const cmd = 1 - sub
      /** Forks `n` gets of `id` and returns once their one read has reached Redis, its answer held. */
      const held = (n: number) =>
        Effect.gen(function*() {
          const from = px.log.length
          yield* px.hold(cmd, "down")
          const calls = yield* Effect.all(Array.from({ length: n }, () => Effect.fork(reader.get(id))))
          yield* px.when((log) => passed(log, cmd, "up", from).includes(prefix + id))
          yield* px.when((log) => passed(log, cmd, "down", from).includes("first"))
          return { calls, from }
        })

      // Two callers share one read; interrupting one leaves the other its answer.
      const one = yield* held(2)
      yield* Fiber.interrupt(one.calls[0]!)
      yield* px.release(cmd, "down")
      expect(note(yield* Fiber.join(one.calls[1]!))).toContain("first")
      expect((passed(px.log, cmd, "up", one.from).match(new RegExp(id, "g")) ?? []).length).toBe(1)

      // A put drops the copy that read filled; then the only caller of the next read is interrupted, at once,
      // though Redis has not answered. The value changes behind the store's back (no invalidation) before the
      // read's answer arrives: had the read lived on, it would have filled L1 with the old value.
      yield* writer.put(id, sampleSession(id, "first again"))
      const two = yield* held(1)
      const interrupted = yield* Effect.timeoutOption(Fiber.interrupt(two.calls[0]!), Duration.seconds(5))
      expect(Option.isSome(interrupted) && Exit.isInterrupted(interrupted.value)).toBe(true)
      const behind = Schema.encodeSync(Session.SessionJson)(new Session.Session({ ...sampleSession(id, "behind its back"), version: 9 }))
      yield* Effect.promise(() => raw.set(prefix + id, behind))
      yield* px.release(cmd, "down")
      const after = Option.getOrThrow(yield* reader.get(id))
      expect(after.version).toBe(9)
      expect(after.turns[0]!.userMessage).toContain("behind its back")
      yield* Effect.promise(() => raw.del(prefix + id))
    }).pipe(Effect.scoped), 30_000)

  it.live("interrupting a put waiting for acknowledgements returns at once and leaves its write applied and the store usable", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      // A subscriber that the server counts as a receiver but that never acknowledges: the put waits out its bound.
      const silent = raw.duplicate()
      const heard = yield* Deferred.make<void>()
      yield* Effect.promise(() => silent.subscribe(`${prefix}invalidate`))
      silent.on("message", () => Deferred.unsafeDone(heard, Effect.void))
      const writer = yield* Tiered.make({ host, port, prefix, lease: "20 seconds", connectTimeout: 10_000 })
      const id = sampleSession().id
      const put = yield* Effect.fork(writer.put(id, sampleSession(id, "written")))
      yield* Deferred.await(heard)
      const interrupted = yield* Effect.timeoutOption(Fiber.interrupt(put), Duration.seconds(5))
      expect(Option.isSome(interrupted) && Exit.isInterrupted(interrupted.value)).toBe(true)
      yield* Effect.promise(() => silent.quit())
      // The write was applied before the wait; every call works, and a put waits for no one who is gone.
      expect(Option.getOrThrow(yield* writer.get(id)).version).toBe(1)
      const next = yield* Effect.timeoutOption(writer.put(id, sampleSession(id, "again")), Duration.seconds(5))
      expect(Option.isSome(next)).toBe(true)
      expect(Option.getOrThrow(yield* writer.get(id)).version).toBe(2)
      yield* Effect.promise(() => raw.del(prefix + id))
    }).pipe(Effect.scoped), 30_000)

  it.live("compare-and-set across instances: of two writers that read the same version, exactly one wins", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* Tiered.make({ host, port, prefix })
      const b = yield* Tiered.make({ host, port, prefix })
      const id = sampleSession().id
      yield* a.put(id, sampleSession(id, "base"))
      for (let round = 0; round < 50; round++) {
        const [va, vb] = [Option.getOrThrow(yield* a.get(id)).version, Option.getOrThrow(yield* b.get(id)).version]
        expect(va).toBe(vb)
        const results = yield* Effect.all([
          Effect.either(a.put(id, sampleSession(id, `a ${round}`), { expectedVersion: va })),
          Effect.either(b.put(id, sampleSession(id, `b ${round}`), { expectedVersion: vb }))
        ], { concurrency: 2 })
        expect(results.filter(Either.isRight).length).toBe(1)
        expect(Option.getOrThrow(yield* a.get(id)).version).toBe(va + 1)
      }
      yield* Effect.promise(() => raw.del(prefix + id))
    }).pipe(Effect.scoped), 60_000)

  it.live("a hit costs no Redis command, and concurrent misses on one id make one read", () =>
    Effect.gen(function*() {
      const p = yield* Effect.promise(sparePort)
      yield* redisServer(p)
      const stats = new IORedis({ host, port: p })
      yield* Effect.addFinalizer(() => Effect.promise(() => stats.quit()))
      const writer = yield* Tiered.make({ host, port: p })
      // Only reads sent under a lease are shared and fill L1: one long enough that a loaded machine's stalls do not
      // let it lapse, first awaited for as long.
      const reader = yield* Tiered.make({ host, port: p, lease: "10 seconds", connectTimeout: 10_000 })
      const session = sampleSession()
      yield* writer.put(session.id, session)
      yield* Effect.promise(() => stats.config("RESETSTAT"))
      const results = yield* Effect.all(Array.from({ length: 50 }, () => reader.get(session.id)), { concurrency: "unbounded" })
      expect(results.every((r) => Option.getOrThrow(r).version === 1)).toBe(true)
      expect(yield* Effect.promise(() => calls(stats, "get"))).toBe(1)
      for (let i = 0; i < 100; i++) expect(Option.isSome(yield* reader.get(session.id))).toBe(true)
      expect(yield* reader.contains(session.id)).toBe(true)
      expect(yield* Effect.promise(() => calls(stats, "get"))).toBe(1)
      expect(yield* Effect.promise(() => calls(stats, "exists"))).toBe(0)
    }).pipe(Effect.scoped), 30_000)

  it.live("Redis restarted: calls fail with StorageError, L1 is dropped, and after it is back nothing stale is served", () =>
    Effect.gen(function*() {
      const p = yield* Effect.promise(sparePort)
      let server = yield* Effect.promise(() => startServer(p))
      yield* Effect.addFinalizer(() => Effect.promise(() => stopServer(server)))
      const a = yield* Tiered.make({ host, port: p })
      const session = sampleSession()
      yield* a.put(session.id, session)
      expect(Option.isSome(yield* a.get(session.id))).toBe(true)
      yield* Effect.promise(() => stopServer(server))
      // Once the subscription is seen down (at once, here: the socket closes), L1 no longer answers: the call goes
      // to Redis and fails typed.
      const failsTyped = () =>
        Effect.runPromise(Effect.match(a.get(session.id), { onFailure: (e) => e._tag === "StorageError", onSuccess: () => false }))
      expect(yield* Effect.promise(() => until(failsTyped, 10_000))).toBe(true)
      for (const call of [a.get(session.id), a.put(session.id, session), a.contains(session.id), a.remove(session.id)]) {
        const r = yield* Effect.either(call)
        expect(Either.isLeft(r) && r.left._tag).toBe("StorageError")
      }
      server = yield* Effect.promise(() => startServer(p))
      // A write this instance could not hear about (the new server is empty; this one writes behind its back).
      const other = Schema.encodeSync(Session.SessionJson)(new Session.Session({ ...sampleSession(session.id, "elsewhere"), version: 5 }))
      const direct = new IORedis({ host, port: p })
      yield* Effect.addFinalizer(() => Effect.promise(() => direct.quit()))
      yield* Effect.promise(() => direct.set(`arawn:session:${session.id}`, other))
      const healed = yield* Effect.promise(() =>
        until(() => Effect.runPromise(Effect.match(a.get(session.id), { onFailure: () => false, onSuccess: () => true })), 10_000)
      )
      expect(healed).toBe(true)
      const after = Option.getOrThrow(yield* a.get(session.id))
      expect(after.version).toBe(5)
      expect(after.turns[0]!.userMessage).toContain("elsewhere")
    }).pipe(Effect.scoped), 30_000)

  it.live("with a TTL, a hit refreshes the key's expiry in the background; a copy never outlives its key", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const ttl = 4_000
      const s = yield* Tiered.make({ host, port, prefix, ttl: Duration.millis(ttl) })
      const session = sampleSession()
      const pttl = Effect.promise(() => raw.pttl(prefix + session.id))
      yield* s.put(session.id, session)
      // Hits from L1 until one comes a quarter of the TTL after the put: that one also sends the refresh, and the
      // key's remaining time goes back up (polled: the refresh is not awaited by the hit).
      let last = yield* pttl
      for (;;) {
        expect(Option.isSome(yield* s.get(session.id))).toBe(true)
        const left = yield* pttl
        if (left > last) break
        last = left
        yield* Effect.sleep(Duration.millis(20))
      }
      // Untouched from now on, the key expires in Redis; from the moment it has, no copy of it may answer.
      expect(yield* Effect.promise(() => until(async () => (await raw.exists(prefix + session.id)) === 0, 5 * ttl))).toBe(true)
      expect(yield* s.contains(session.id)).toBe(false)
      expect(Option.isNone(yield* s.get(session.id))).toBe(true)
    }).pipe(Effect.scoped), 30_000)
})
