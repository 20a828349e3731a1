/**
 * A SessionStore with an in-process LRU (L1) in front of the Redis store: a hit costs no round trip, and no
 * instance ever serves a copy older than a write another instance has acknowledged.
 *
 * Reads fill L1 from Redis, one read per id however many callers miss at once. Writes go to Redis first (one
 * script: version check, write, invalidation PUBLISH), then to L1. Every instance on the prefix drops its copy on
 * the invalidation and acknowledges it, and a put or remove returns once all have, or once the lease has run out
 * on any that did not (see `lease`). L1 answers, and reads fill it, only while this instance holds a lease from its
 * subscription heartbeat (a read sent without one goes to Redis and fills nothing), and L1 is dropped whole when
 * a subscription connection closes (messages may have been lost), so an outage costs round trips, never stale
 * reads.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Either, Layer, Option } from "effect"
import type { Scope } from "effect"
import type { StorageError } from "../Errors.js"
import { IdGenerator } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import { decodeStored, encodeVersioned, stamp } from "../internal/session/codec.js"
import { Invalidation, now } from "../internal/session/invalidation.js"
import type { Entry, Flight } from "../internal/session/l1.js"
import { Copies } from "../internal/session/l1.js"
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

const putScript = script(putSource)
const deleteScript = script(deleteSource)

/** What the tiered primitives share. */
interface Context {
  readonly client: Client
  readonly key: (id: SessionId) => string
  readonly px: number | undefined
  readonly channel: string
  readonly timeout: number
  readonly l1: Copies
  readonly inv: Invalidation
}

const decoder = (ctx: Context, method: string, id: SessionId) => (text: string) => decodeStored(method, id, ctx.key(id), text)

/** A hit refreshes the sliding TTL in Redis in the background, once a quarter of it has passed. */
const refresh = (ctx: Context, id: SessionId, e: Entry) => {
  const { px } = ctx
  if (px === undefined || now() - e.refreshedAt < px / 4) return
  const sent = now()
  ctx.client.pexpire(ctx.key(id), px).then((set) => {
    if (set === 1 && ctx.l1.cache.peek(id) === e) e.refreshedAt = sent
    else if (set === 0) ctx.l1.drop(id)
  }, () => {})
}

/**
 * One Redis read of `id`. Only a read sent under a lease (`leased`) may fill L1, and only when nothing made it
 * stale while it was in flight: such a read is registered in `flights`, where an invalidation finds and disowns
 * it. A read sent without a lease is registered nowhere, so an invalidation it overlaps cannot reach it, and a
 * lease regained before its reply proves nothing about it: its value goes to its caller only.
 */
const read = (ctx: Context, id: SessionId, leased: boolean): Flight => {
  const { inv, l1 } = ctx
  const sent = now()
  const k = ctx.key(id)
  const decode = decoder(ctx, "SessionStore.get", id)
  const settle = () => {
    if (l1.flights.get(id) === flight) l1.flights.delete(id)
  }
  const flight: Flight = {
    epoch: inv.epoch,
    invalidated: false,
    promise: (ctx.px === undefined ? ctx.client.get(k) : ctx.client.getex(k, "PX", ctx.px)).then(
      (text): Either.Either<Option.Option<Session>, StorageError> => {
        settle()
        if (text === null) return Either.right(Option.none())
        const decoded = decode(text)
        if (Either.isLeft(decoded)) return Either.left(decoded.left)
        if (leased && !flight.invalidated && flight.epoch === inv.epoch && inv.serving()) {
          l1.cache.set(id, { session: decoded.right, refreshedAt: sent })
        }
        return Either.right(Option.some(decoded.right))
      },
      (cause: unknown) => {
        settle()
        return Promise.reject(cause)
      }
    )
  }
  return flight
}

const get = (ctx: Context) => (id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> => {
  const hit = ctx.inv.serving() ? ctx.l1.live(id, true) : undefined
  if (hit !== undefined) {
    refresh(ctx, id, hit)
    return Effect.succeed(Option.some(hit.session))
  }
  return Effect.flatten(bounded("SessionStore.get", ctx.timeout, () => {
    // Joining a read in flight is safe only under a lease: then it started after every acknowledged write.
    const serving = ctx.inv.serving()
    const joined = serving ? ctx.l1.flights.get(id) : undefined
    if (joined !== undefined) return joined.promise
    const flight = read(ctx, id, serving)
    if (serving) ctx.l1.flights.set(id, flight)
    return flight.promise
  }))
}

const set = (ctx: Context) => (id: SessionId, session: Session, expected: number | undefined) =>
  Effect.flatMap(encodeVersioned("SessionStore.put", session), (text) => {
    const { inv, l1 } = ctx
    let nonce = ""
    let token = 0
    let epoch = 0
    let sent = 0
    const args = [text.head, text.tail, expected === undefined ? "" : String(expected), ctx.px === undefined ? "" : String(ctx.px), ctx.channel]
    return Effect.flatMap(
      bounded("SessionStore.put", ctx.timeout, async () => {
        // Dropped and numbered in the same step that sends the script, so local writes set L1 in Redis order.
        token = l1.beginWrite(id)
        epoch = inv.epoch
        sent = now()
        nonce = inv.begin()
        return integers(await putScript(ctx.client, ctx.key(id), [...args, `${nonce} ${id}`]), 3)
      }).pipe(Effect.tapError(() => Effect.sync(() => inv.abandon(nonce)))),
      ([written, version, receivers]): Effect.Effect<Option.Option<string>> => {
        const newest = l1.endWrite(id, token)
        if (written !== 1) {
          inv.abandon(nonce)
          return Effect.succeedSome(version! < 0 ? "unreadable" : String(version))
        }
        stamp(session, version!)
        if (newest && epoch === inv.epoch && inv.serving()) l1.cache.set(id, { session, refreshedAt: sent })
        return Effect.as(inv.acknowledged(nonce, receivers!), Option.none())
      }
    )
  })

const remove = (ctx: Context) => (id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> => {
  const { inv, l1 } = ctx
  const decode = decoder(ctx, "SessionStore.remove", id)
  const k = ctx.key(id)
  let nonce = ""
  return Effect.flatten(bounded("SessionStore.remove", ctx.timeout, async () => {
    l1.drop(id)
    // As in the Redis store: delete only what was read and decoded; a put in between makes the loop read again.
    for (;;) {
      const text = await ctx.client.get(k)
      if (text === null) return Effect.succeedNone
      const decoded = decode(text)
      if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
      nonce = inv.begin()
      // Dropped again in the step that sends the delete: a read sent since the first drop may have filled L1.
      l1.drop(id)
      const [deleted, receivers] = integers(await deleteScript(ctx.client, k, [text, ctx.channel, `${nonce} ${id}`]), 2)
      if (deleted === 1) return Effect.as(inv.acknowledged(nonce, receivers!), Option.some(decoded.right))
      inv.abandon(nonce)
    }
  }).pipe(Effect.tapError(() => Effect.sync(() => inv.abandon(nonce)))))
}

/** The tiered driver: L1 in front of the Redis commands, told by `inv` what other writers changed. */
const tieredDriver = (ctx: Context, options: Options): Driver => ({
  backend: "tiered",
  attributes: { "db.system.name": "redis" },
  get: get(ctx),
  set: set(ctx),
  remove: remove(ctx),
  has: (id) =>
    ctx.inv.serving() && ctx.l1.live(id, false) !== undefined
      ? Effect.succeed(true)
      : Effect.map(bounded("SessionStore.contains", ctx.timeout, () => ctx.client.exists(ctx.key(id))), (n) => n === 1),
  size: Redis.driver(ctx.client, options).size
})

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
    const { key, prefix, px } = Redis.keyspace(options)
    const lease = options.lease === undefined ? 1_000 : Math.max(10, Duration.toMillis(Duration.decode(options.lease)))
    const l1Ttl = options.l1?.ttl === undefined ? undefined : Duration.toMillis(Duration.decode(options.l1.ttl))
    const l1 = new Copies(options.l1?.capacity ?? 10_000, l1Ttl, px)
    const channel = Redis.channelOf(prefix)
    const invalidation = new Invalidation(
      instance,
      { channel, ackChannelOf: (writer) => `${prefix}ack:${writer}`, lease, client },
      (id) => l1.drop(id),
      () => l1.reset()
    )
    const timeout = options.commandTimeout ?? defaults.commandTimeout ?? 2_000
    const driver = tieredDriver({ client, key, px, channel, timeout, l1, inv: invalidation }, options)
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
