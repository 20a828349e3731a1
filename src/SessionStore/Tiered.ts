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
import { Config, Deferred, Duration, Effect, Exit, Fiber, FiberId, FiberSet, Layer, Option } from "effect"
import type { Scope } from "effect"
import { StorageError } from "../Errors.js"
import { IdGenerator } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import { monotonicMillis as now } from "../internal/session/clock.js"
import { decodeStored, encodeVersioned, stamp } from "../internal/session/codec.js"
import * as Invalidation from "../internal/session/invalidation.js"
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
   * invalidation (frozen, partitioned): past that, that instance cannot be serving its copy. Every instance on one
   * prefix must use the same lease: a writer waits as long as its own, so a reader holding a longer one could still
   * serve an old copy after the put returned.
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
  readonly inv: Invalidation.Invalidation
  /** The store's scope: shared reads run in it, so that no one caller's interruption stops them for the others. */
  readonly scope: Scope.Scope
  /** Runs work nobody waits for (a TTL refresh) until the store closes. */
  readonly background: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
}

/** The script's integers as an Effect, a reply of another shape being the call's StorageError. */
const replyOf = (method: string, count: number) => (reply: unknown) =>
  Effect.try({ try: () => integers(reply, count), catch: (cause) => new StorageError({ method, cause }) })

/** A hit refreshes the sliding TTL in Redis in the background, once a quarter of it has passed. */
const refresh = (ctx: Context, id: SessionId, e: Entry) => {
  const { px } = ctx
  if (px === undefined || now() - e.refreshedAt < px / 4) return
  const sent = now()
  ctx.background(Effect.ignore(Effect.map(
    bounded("SessionStore.get", ctx.timeout, () => ctx.client.pexpire(ctx.key(id), px)),
    (set) => {
      if (set === 1 && ctx.l1.cache.peek(id) === e) e.refreshedAt = sent
      else if (set === 0) ctx.l1.drop(id)
    }
  )))
}

/** One Redis read of `id`, which fills nothing. */
const fetch = (ctx: Context, id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> => {
  const k = ctx.key(id)
  return Effect.flatMap(
    bounded("SessionStore.get", ctx.timeout, () => ctx.px === undefined ? ctx.client.get(k) : ctx.client.getex(k, "PX", ctx.px)),
    (text) => text === null ? Effect.succeedNone : Effect.map(decodeStored("SessionStore.get", id, k, text), Option.some)
  )
}

/**
 * The read of a flight: it fills L1 only when nothing made it stale while it was in flight (an invalidation finds
 * it in `flights` and disowns it), and answers every caller that joined it.
 */
const fly = (ctx: Context, id: SessionId, flight: Flight) =>
  fetch(ctx, id).pipe(
    Effect.tap((found) =>
      Effect.sync(() => {
        if (ctx.l1.flights.get(id) === flight) ctx.l1.flights.delete(id)
        if (Option.isNone(found) || flight.invalidated || flight.epoch !== ctx.inv.epoch() || !ctx.inv.serving()) return
        ctx.l1.cache.set(id, { session: found.value, refreshedAt: flight.sent })
      })
    ),
    Effect.onExit((exit) =>
      Effect.sync(() => {
        if (ctx.l1.flights.get(id) === flight) ctx.l1.flights.delete(id)
        flight.settled = true
        Deferred.unsafeDone(flight.result, exit)
      })
    )
  )

/**
 * Joins the flight of `id`, starting one when there is none. Joining is safe only under a lease: then the flight
 * started after every acknowledged write. The last caller to be interrupted before its answer disowns it and stops
 * it, so nothing keeps running for nobody.
 */
const shared = (ctx: Context, id: SessionId) =>
  Effect.uninterruptibleMask((restore) => {
    const { flights } = ctx.l1
    const found = flights.get(id)
    const flight: Flight = found ?? {
      result: Deferred.unsafeMake(FiberId.none),
      epoch: ctx.inv.epoch(),
      sent: now(),
      invalidated: false,
      waiters: 0,
      settled: false,
      fiber: undefined
    }
    flight.waiters++
    const leave = Effect.suspend(() => {
      flight.waiters--
      if (flight.waiters > 0 || flight.settled || flight.fiber === undefined) return Effect.void
      flight.invalidated = true
      if (flights.get(id) === flight) flights.delete(id)
      return Fiber.interrupt(flight.fiber)
    })
    const started = found !== undefined ? Effect.void : Effect.sync(() => flights.set(id, flight)).pipe(
      Effect.zipRight(Effect.forkIn(Effect.interruptible(fly(ctx, id, flight)), ctx.scope)),
      Effect.map((fiber) => {
        flight.fiber = fiber
      })
    )
    return Effect.zipRight(started, restore(Deferred.await(flight.result))).pipe(
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.sync(() => flight.waiters--) : leave)
    )
  })

const get = (ctx: Context) => (id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> =>
  Effect.suspend(() => {
    const serving = ctx.inv.serving()
    const hit = serving ? ctx.l1.live(id, true) : undefined
    if (hit !== undefined) {
      refresh(ctx, id, hit)
      return Effect.succeed(Option.some(hit.session))
    }
    // A read sent without a lease is registered nowhere, so an invalidation it overlaps cannot reach it, and a
    // lease regained before its reply proves nothing about it: its value goes to its caller only.
    return serving ? shared(ctx, id) : fetch(ctx, id)
  })

/** A put in flight: what its reply is checked against, and what an interruption must undo. */
interface Write {
  token: number
  epoch: number
  sent: number
  nonce: string
}

const set = (ctx: Context) => (id: SessionId, session: Session, expected: number | undefined) =>
  Effect.flatMap(encodeVersioned("SessionStore.put", session), (text) => {
    const { inv, l1 } = ctx
    const w: Write = { token: 0, epoch: 0, sent: 0, nonce: "" }
    const args = [text.head, text.tail, expected === undefined ? "" : String(expected), ctx.px === undefined ? "" : String(ctx.px), ctx.channel]
    return bounded("SessionStore.put", ctx.timeout, () => {
      // Dropped and numbered in the same step that sends the script, so local writes set L1 in Redis order.
      w.token = l1.beginWrite(id)
      w.epoch = inv.epoch()
      w.sent = now()
      w.nonce = inv.begin()
      return putScript(ctx.client, ctx.key(id), [...args, `${w.nonce} ${id}`])
    }).pipe(
      Effect.flatMap(replyOf("SessionStore.put", 3)),
      Effect.flatMap(([written, version, receivers]): Effect.Effect<Option.Option<string>> => {
        const newest = l1.endWrite(id, w.token)
        if (written !== 1) return Effect.succeedSome(version! < 0 ? "unreadable" : String(version))
        stamp(session, version!)
        if (newest && w.epoch === inv.epoch() && inv.serving()) l1.cache.set(id, { session, refreshedAt: w.sent })
        return Effect.as(inv.acknowledged(w.nonce, receivers!), Option.none())
      }),
      // A put that failed, was refused or was interrupted leaves no pending write and no claim on L1 behind.
      Effect.ensuring(Effect.sync(() => {
        inv.abandon(w.nonce)
        l1.endWrite(id, w.token)
      }))
    )
  })

/**
 * One attempt at a remove: read, decode, then delete only what was read (as in the Redis store); None when a put
 * came in between and the attempt must be made again.
 */
const removeOnce = (ctx: Context, id: SessionId): Effect.Effect<Option.Option<Option.Option<Session>>, StorageError> => {
  const { inv, l1 } = ctx
  const k = ctx.key(id)
  return Effect.suspend(() => {
    const w = { nonce: "" }
    return Effect.gen(function*() {
      const text = yield* bounded("SessionStore.remove", ctx.timeout, () => ctx.client.get(k))
      if (text === null) return Option.some(Option.none())
      const session = yield* decodeStored("SessionStore.remove", id, k, text)
      const [deleted, receivers] = yield* Effect.flatMap(
        bounded("SessionStore.remove", ctx.timeout, () => {
          w.nonce = inv.begin()
          // Dropped again in the step that sends the delete: a read sent since the first drop may have filled L1.
          l1.drop(id)
          return deleteScript(ctx.client, k, [text, ctx.channel, `${w.nonce} ${id}`])
        }),
        replyOf("SessionStore.remove", 2)
      )
      if (deleted !== 1) return Option.none()
      yield* inv.acknowledged(w.nonce, receivers!)
      return Option.some(Option.some(session))
    }).pipe(Effect.ensuring(Effect.sync(() => inv.abandon(w.nonce))))
  })
}

const remove = (ctx: Context) => (id: SessionId): Effect.Effect<Option.Option<Session>, StorageError> => {
  const loop: Effect.Effect<Option.Option<Session>, StorageError> = Effect.flatMap(
    removeOnce(ctx, id),
    Option.match({ onNone: () => loop, onSome: Effect.succeed })
  )
  return Effect.zipRight(Effect.sync(() => ctx.l1.drop(id)), loop)
}

/** The tiered driver: L1 in front of the Redis commands, told by `inv` what other writers changed. */
const tieredDriver = (ctx: Context, options: Options): Driver => ({
  backend: "tiered",
  attributes: { "db.system.name": "redis" },
  get: get(ctx),
  set: set(ctx),
  remove: remove(ctx),
  has: (id) =>
    Effect.suspend(() =>
      ctx.inv.serving() && ctx.l1.live(id, false) !== undefined
        ? Effect.succeed(true)
        : Effect.map(bounded("SessionStore.contains", ctx.timeout, () => ctx.client.exists(ctx.key(id))), (n) => n === 1)
    ),
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
    const timeout = options.commandTimeout ?? defaults.commandTimeout ?? 2_000
    const scope = yield* Effect.scope
    const background = yield* FiberSet.makeRuntime<never>()
    const inv = yield* Invalidation.make(
      { instance, channel, ackChannelOf: (writer) => `${prefix}ack:${writer}`, lease, client, timeout },
      { invalidate: (id) => l1.drop(id), reset: () => l1.reset() }
    )
    yield* inv.awaitLease(options.connectTimeout ?? defaults.connectTimeout ?? 2_000)
    const driver = tieredDriver({ client, key, px, channel, timeout, l1, inv, scope, background }, options)
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
