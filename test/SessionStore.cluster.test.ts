/**
 * The Redis and Tiered session stores on a real Redis Cluster of three masters, started by this file on loopback
 * ports (redis-server --cluster-enabled yes, redis-cli --cluster create) and stopped when it ends.
 */
import { expect, it } from "@effect/vitest"
import { afterAll, beforeAll, describe } from "vitest"
import { randomBytes } from "node:crypto"
import { execFileSync } from "node:child_process"
import { Effect, Layer, Option } from "effect"
import { Cluster } from "ioredis"
import type { SessionStore } from "arawn-store"
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"
import * as Redis from "../src/SessionStore/Redis.js"
import * as Tiered from "../src/SessionStore/Tiered.js"
import type { RedisCluster } from "./support/redis.js"
import { expiryHand, startCluster } from "./support/redis.js"

const installed = (() => {
  try {
    execFileSync("redis-server", ["--version"])
    return true
  } catch {
    return false
  }
})()
const freshPrefix = () => `arawn-test:${randomBytes(6).toString("hex")}:`
const { sampleSession } = SessionStoreSuite

describe.skipIf(!installed && !process.env.ARAWN_REQUIRE_SERVICES)("SessionStore on a Redis Cluster of 3 masters", () => {
  let cluster: RedisCluster
  let raw: Cluster
  beforeAll(async () => {
    cluster = await startCluster()
    raw = new Cluster([...cluster.nodes])
    await new Promise((resolve) => raw.once("ready", resolve))
  }, 60_000)
  afterAll(async () => {
    await raw?.quit()
    await cluster?.stop()
  })

  const nodes = () => cluster.nodes
  const redis = (options: SessionStore.CacheOptions, prefix = freshPrefix()) =>
    Layer.suspend(() => Redis.layer({ cluster: { nodes: nodes() }, prefix, ttl: options.ttl }))
  const tiered = (options: SessionStore.CacheOptions, prefix = freshPrefix()) =>
    Layer.suspend(() => Tiered.layer({ cluster: { nodes: nodes() }, prefix, ttl: options.ttl }))
  /** With the hand that ages the keys (and drops the tiered copies of them) instead of waiting for them to expire. */
  const withHand = (store: typeof redis, isTiered: boolean) => (options: SessionStore.CacheOptions) => {
    const prefix = freshPrefix()
    return Layer.merge(store(options, prefix), Layer.suspend(() => expiryHand(raw, prefix, isTiered)))
  }

  SessionStoreSuite.suite("Redis", withHand(redis, false), { capacity: false, clock: "hand" })
  SessionStoreModel.suite("Redis", (options) => redis(options), { capacity: false, clock: "live" }, { operations: 1_000 })
  SessionStoreSuite.suite("Tiered", withHand(tiered, true), { capacity: false, clock: "hand" })
  SessionStoreModel.suite("Tiered", (options) => tiered(options), { capacity: false, clock: "live" }, { operations: 1_000 })

  it.live("sessions spread over the masters, and size counts them on every one", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const s = yield* Redis.make({ cluster: { nodes: nodes() }, prefix })
      const sessions = Array.from({ length: 30 }, () => sampleSession())
      yield* Effect.forEach(sessions, (x) => s.put(x.id, x), { concurrency: 10, discard: true })
      expect(yield* s.size()).toBe(30)
      const perMaster = yield* Effect.promise(() =>
        Promise.all(raw.nodes("master").map(async (m) => (await m.keys(`${prefix}*`)).length))
      )
      expect(perMaster.length).toBe(3)
      expect(perMaster.every((n) => n > 0)).toBe(true)
      expect(perMaster.reduce((a, b) => a + b, 0)).toBe(30)
    }).pipe(Effect.scoped))

  it.live("two tiered instances on the cluster: a put or remove acknowledged in one is what the other reads next", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const a = yield* Tiered.make({ cluster: { nodes: nodes() }, prefix })
      const b = yield* Tiered.make({ cluster: { nodes: nodes() }, prefix })
      const ids = Array.from({ length: 6 }, () => sampleSession().id)
      let stale = 0
      for (let round = 1; round <= 50; round++) {
        for (const id of ids) {
          yield* a.put(id, sampleSession(id, `round ${round}`))
          const seen = Option.getOrThrow(yield* b.get(id))
          if (seen.version !== round) stale++
        }
      }
      expect(stale).toBe(0)
      for (const id of ids) {
        yield* b.remove(id)
        expect(Option.isNone(yield* a.get(id))).toBe(true)
      }
    }).pipe(Effect.scoped), 60_000)
})
