/**
 * A SessionStore with an in-process LRU (L1) in front of the Redis store: a hit costs no round trip, and no
 * instance ever serves a copy older than a write another instance has acknowledged.
 *
 * Reads fill L1 from Redis, one read per id however many callers miss at once. Writes go to Redis first (one
 * script: version check, write, invalidation PUBLISH), then to L1. Every instance on the prefix drops its copy on
 * the invalidation and acknowledges it, and a put or remove returns once all have, or once the lease has run out
 * on any that did not (see `lease`). L1 answers only while this instance holds a lease from its subscription
 * heartbeat, and is dropped whole when a subscription connection closes (messages may have been lost), so an
 * outage costs round trips, never stale reads.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Either, Layer, Option } from "effect"
import type { Scope } from "effect"
import { LRUCache } from "lru-cache"
import type { StorageError } from "../Errors.js"
import { IdGenerator } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import { decodeStored, encodeVersioned, stamp } from "../internal/session/codec.js"
import { Invalidation, now } from "../internal/session/invalidation.js"
import { bounded, connect, defaults } from "../internal/session/redis.js"
import type { Client } from "../internal/session/scripts.js"
import { deleteSource, integers, putSource, script } from "../internal/session/scripts.js"
import type { Session } from "../Session.js"
import type { Driver } from "../SessionStore.js"
import { make as makeStore, SessionStore } from "../SessionStore.js"
import * as Redis from "./Redis.js"

/** @category options */
export interface Options extends Redis.Options {
  /** The in-process copies: at most `capacity` sessions (default 10,000), each kept at most `ttl` (default: none). */
  readonly l1?: { readonly capacity?: number | undefined; readonly ttl?: Duration.DurationInput | undefined } | undefined
  /**
   * How long one subscription heartbeat lets L1 answer (default 1 second; heartbeats run four times per lease). It
   * is also, plus 100 ms, the longest a put or remove waits for another instance that does not acknowledge its
   * invalidation (frozen, partitioned): past that, that instance cannot be serving its copy.
   */
  readonly lease?: Duration.DurationInput | undefined
}

interface Entry {
  readonly session: Session
  /** When the read or write that last set the key's Redis expiry was sent (the expiry runs from later). */
  refreshedAt: number
}

interface Flight {
  readonly promise: Promise<Either.Either<Option.Option<Session>, StorageError>>
  readonly epoch: number
  invalidated: boolean
}

const putScript = script(putSource)
const deleteScript = script(deleteSource)

/** The tiered driver over a connected client and a started invalidation (which `invalidate`/`reset` it calls). */
const tieredDriver = (
  client: Client,
  options: Options,
  inv: (hooks: { readonly invalidate: (id: string) => void; readonly reset: () => void }) => Invalidation
): { readonly driver: Driver; readonly invalidation: Invalidation } => {
  const { key, prefix, px } = Redis.keyspace(options)
  const timeout = options.commandTimeout ?? defaults.commandTimeout ?? 2_000
  const channel = Redis.channelOf(prefix)
  const l1Ttl = options.l1?.ttl === undefined ? 0 : Duration.toMillis(Duration.decode(options.l1.ttl))
  const cache = new LRUCache<string, Entry>({
    max: Math.max(1, Math.floor(options.l1?.capacity ?? 10_000)),
    ...(l1Ttl > 0 && Number.isFinite(l1Ttl) ? { ttl: Math.max(1, Math.floor(l1Ttl)) } : {}),
    updateAgeOnGet: true,
    ttlResolution: 0,
    perf: { now }
  })
  const flights = new Map<string, Flight>()
  /** The newest local write per id: only it may set L1 once Redis answered. */
  const latest = new Map<string, number>()
  let writes = 0

  const drop = (id: string) => {
    cache.delete(id)
    latest.delete(id)
    const flight = flights.get(id)
    if (flight !== undefined) {
      flight.invalidated = true
      flights.delete(id)
    }
  }
  const invalidation = inv({
    invalidate: drop,
    reset: () => {
      cache.clear()
      latest.clear()
      for (const f of flights.values()) f.invalidated = true
      flights.clear()
    }
  })
  const structurally = (method: string, id: SessionId) => (text: string) => decodeStored(method, id, key(id), text)

  /** An L1 entry that may answer: a lease is held and the key cannot have expired in Redis since. */
  const live = (id: SessionId, touch: boolean): Entry | undefined => {
    if (!invalidation.serving()) return undefined
    const e = touch ? cache.get(id) : cache.peek(id)
    if (e === undefined) return undefined
    if (px !== undefined && now() - e.refreshedAt >= px) {
      cache.delete(id)
      return undefined
    }
    return e
  }

  /** A hit refreshes the sliding TTL in Redis in the background, once a quarter of it has passed. */
  const refresh = (id: SessionId, e: Entry) => {
    if (px === undefined || now() - e.refreshedAt < px / 4) return
    const sent = now()
    client.pexpire(key(id), px).then((set) => {
      if (set === 1 && cache.peek(id) === e) e.refreshedAt = sent
      else if (set === 0) drop(id)
    }, () => {})
  }

  const read = (id: SessionId): Flight => {
    const epoch = invalidation.epoch
    const sent = now()
    const k = key(id)
    const decode = structurally("SessionStore.get", id)
    const flight: Flight = {
      epoch,
      invalidated: false,
      promise: (px === undefined ? client.get(k) : client.getex(k, "PX", px)).then((text): Either.Either<Option.Option<Session>, StorageError> => {
        if (flights.get(id) === flight) flights.delete(id)
        if (text === null) return Either.right(Option.none())
        const decoded = decode(text)
        if (Either.isLeft(decoded)) return Either.left(decoded.left)
        if (!flight.invalidated && flight.epoch === invalidation.epoch && invalidation.serving()) {
          cache.set(id, { session: decoded.right, refreshedAt: sent })
        }
        return Either.right(Option.some(decoded.right))
      }, (cause: unknown) => {
        if (flights.get(id) === flight) flights.delete(id)
        return Promise.reject(cause)
      })
    }
    return flight
  }

  const get = (id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> => {
    const hit = live(id, true)
    if (hit !== undefined) {
      refresh(id, hit)
      return Effect.succeed(Option.some(hit.session))
    }
    return Effect.flatten(bounded("SessionStore.get", timeout, () => {
      // Joining a read in flight is safe only under a lease: then it started after every acknowledged write.
      const joined = invalidation.serving() ? flights.get(id) : undefined
      if (joined !== undefined) return joined.promise
      const flight = read(id)
      if (invalidation.serving()) flights.set(id, flight)
      return flight.promise
    }))
  }

  const set = (id: SessionId, session: Session, expected: number | undefined) =>
    Effect.flatMap(encodeVersioned("SessionStore.put", session), (text) => {
      let nonce = ""
      let token = 0
      let epoch = 0
      let sent = 0
      return Effect.flatMap(
        bounded("SessionStore.put", timeout, async () => {
          // Dropped and numbered in the same step that sends the script, so local writes set L1 in Redis order.
          drop(id)
          token = ++writes
          latest.set(id, token)
          epoch = invalidation.epoch
          sent = now()
          nonce = invalidation.begin()
          const args = [text.head, text.tail, expected === undefined ? "" : String(expected), px === undefined ? "" : String(px)]
          return integers(await putScript(client, key(id), [...args, channel, `${nonce} ${id}`]), 3)
        }).pipe(Effect.tapError(() => Effect.sync(() => invalidation.abandon(nonce)))),
        ([written, version, receivers]): Effect.Effect<Option.Option<string>> => {
          if (written !== 1) {
            invalidation.abandon(nonce)
            if (latest.get(id) === token) latest.delete(id)
            return Effect.succeedSome(version! < 0 ? "unreadable" : String(version))
          }
          stamp(session, version!)
          if (latest.get(id) === token) {
            latest.delete(id)
            if (epoch === invalidation.epoch && invalidation.serving()) cache.set(id, { session, refreshedAt: sent })
          }
          return Effect.as(invalidation.acknowledged(nonce, receivers!), Option.none())
        }
      )
    })

  const remove = (id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> => {
    const decode = structurally("SessionStore.remove", id)
    let nonce = ""
    return Effect.flatten(bounded("SessionStore.remove", timeout, async () => {
      drop(id)
      const k = key(id)
      // As in the Redis store: delete only what was read and decoded; a put in between makes the loop read again.
      for (;;) {
        const text = await client.get(k)
        if (text === null) return Effect.succeedNone
        const decoded = decode(text)
        if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
        nonce = invalidation.begin()
        // Dropped again in the step that sends the delete: a read sent since the first drop may have filled L1.
        drop(id)
        const [deleted, receivers] = integers(await deleteScript(client, k, [text, channel, `${nonce} ${id}`]), 2)
        if (deleted === 1) return Effect.as(invalidation.acknowledged(nonce, receivers!), Option.some(decoded.right))
        invalidation.abandon(nonce)
      }
    }).pipe(Effect.tapError(() => Effect.sync(() => invalidation.abandon(nonce)))))
  }

  const driver: Driver = {
    backend: "tiered",
    attributes: { "db.system.name": "redis" },
    get,
    set,
    remove,
    has: (id) =>
      live(id, false) !== undefined
        ? Effect.succeed(true)
        : Effect.map(bounded("SessionStore.contains", timeout, () => client.exists(key(id))), (n) => n === 1),
    size: Redis.driver(client, options).size
  }
  return { driver, invalidation }
}

/**
 * Connects to Redis (one server or a Cluster), subscribes on every master and builds the store; everything
 * closes with the surrounding Scope. Fails with StorageError when the first connection cannot be made; when the
 * subscriptions are not up within `connectTimeout`, the store starts and reads Redis until they are.
 *
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<SessionStore["Type"], StorageError, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* connect(Redis.targetOf(options))
    const instance = yield* Effect.flatMap(IdGenerator, (ids) => ids.next)
    const { prefix } = Redis.keyspace(options)
    const lease = options.lease === undefined ? 1_000 : Math.max(10, Duration.toMillis(Duration.decode(options.lease)))
    const { driver, invalidation } = tieredDriver(client, options, ({ invalidate, reset }) =>
      new Invalidation(instance, {
        channel: Redis.channelOf(prefix),
        ackChannelOf: (writer) => `${prefix}ack:${writer}`,
        lease,
        client
      }, invalidate, reset))
    yield* Effect.acquireRelease(
      Effect.promise(() => {
        invalidation.start()
        return invalidation.awaitLease(options.connectTimeout ?? defaults.connectTimeout ?? 2_000)
      }),
      () => Effect.promise(() => invalidation.stop())
    )
    return makeStore(driver, { tracing: options.tracing })
  })

/**
 * The tiered SessionStore: lru-cache copies in front of Redis (`Redis.Options`, plus `l1` and `lease`). Requires
 * nothing; owns its Redis connection (or Cluster) and one subscription connection per master, closed when the
 * layer is released. Every instance writing the prefix must be a tiered store for acknowledged writes to be seen
 * at once everywhere (a plain Redis store's writes invalidate copies too, but without waiting). Expiry follows
 * the Redis server's clock, as for the Redis store; an L1 hit refreshes the key's TTL in the background. A key
 * Redis evicts under `maxmemory` announces nothing: an instance holding a copy may still serve it until its L1
 * TTL or a write to it.
 *
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<SessionStore, StorageError> =>
  Layer.scoped(SessionStore, make(options))

/**
 * `layer` with its options read from `Config`, e.g.
 * `layerConfig({ url: Config.redacted("REDIS_URL"), l1: { capacity: Config.integer("L1_CAPACITY") } })`.
 *
 * @category layers
 */
export const layerConfig = (config: Config.Config.Wrap<Redis.ConfigOptions & Pick<Options, "l1" | "lease">>) =>
  Layer.scoped(SessionStore, Effect.flatMap(Config.unwrap(config), (options) => make(options)))
