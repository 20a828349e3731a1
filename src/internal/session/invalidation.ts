/**
 * Cross-instance invalidation for the tiered session store, over Redis pub/sub.
 *
 * Every write script PUBLISHes `nonce id` on the prefix's channel in the same atomic step as the write, and the
 * reply carries how many subscribers the server delivered it to. Each instance subscribes on every master (one
 * connection each, so a Cluster's PUBLISH, which reports only the subscribers of the node that ran it, counts
 * every instance); on a message it drops its copy of the session, then acknowledges on the writer's own ack
 * channel. The writer acknowledges its caller once every receiver has acknowledged, or after `ackBound` (the
 * lease + 100 ms).
 *
 * The bound is safe because an instance serves from L1 only under a lease: a heartbeat PINGs every subscription
 * connection, and a PONG for a PING sent at `t` proves that every message PUBLISHed before the PING was read off
 * that connection first (one connection, in order), so the lease runs to `t + lease`. An instance that has not
 * processed an invalidation published at `p` holds no lease past `p + lease`, and the writer, waiting past `p +
 * ackBound` (ackBound > lease, both on each side's monotonic clock), never acknowledges while it could serve.
 * A closed subscription connection may have lost messages: the instance drops its whole L1 and serves from it
 * again only after resubscribing and a new heartbeat.
 *
 * The receiver count covers the instances the server still has subscribed. One it dropped without the instance
 * noticing yet (a cut connection) would not be counted, so each heartbeat also announces the instance (`+ id`),
 * and a writer waits for every instance announced within two leases as well (or for the bound): a peer that
 * cannot hear is waited out, never skipped. A store that closes says goodbye (`! id`).
 *
 * The heartbeat is a fiber on a `Schedule`, forked in the store's scope and run on the real clock (see `clock.ts`);
 * ioredis's events update the state synchronously, in the callback, because the lease argument needs every
 * message handled before the PONG that follows it; what they start in the background (SUBSCRIBE, an
 * acknowledgement) runs as fibers of the same scope.
 */
import { Deferred, Duration, Effect, FiberId, FiberSet, Option, Schedule } from "effect"
import type { Fiber, Scope } from "effect"
import type { Redis } from "ioredis"
import { monotonicMillis, onRealClock } from "./clock.js"
import { bounded, close } from "./redis.js"
import { masters } from "./scripts.js"
import type { Client } from "./scripts.js"

export interface Settings {
  readonly instance: string
  readonly channel: string
  readonly ackChannelOf: (instance: string) => string
  /** How long a heartbeat's PONG lets L1 serve, in ms. */
  readonly lease: number
  /** The command client: acknowledgements are published through it. */
  readonly client: Client
  /** How long a command of its own (an acknowledgement, an announcement) may take, in ms. */
  readonly timeout: number
}

/** What the invalidation tells the store's copies. */
export interface Hooks {
  /** Called with each session id another writer changed. */
  readonly invalidate: (id: string) => void
  /** Called when messages may have been lost: everything held must go. */
  readonly reset: () => void
}

/** The invalidation state of one instance: its lease and its pending writes. */
export interface Invalidation {
  /** Bumped whenever L1 was dropped wholesale: a read that started before must not fill L1. */
  readonly epoch: () => number
  /** Whether L1 may answer now: a lease is held. */
  readonly serving: () => boolean
  /** A fresh nonce for a write about to be sent; acknowledgements that beat the script's reply are kept. */
  readonly begin: () => string
  /** Forgets a write: it published nothing, or nobody waits for it any more. */
  readonly abandon: (nonce: string) => void
  /**
   * Waits until `receivers` instances (this one included) and every recently announced peer acknowledged `nonce`,
   * or `ackBound` of real time passed; interrupting it forgets the write.
   */
  readonly acknowledged: (nonce: string, receivers: number) => Effect.Effect<void>
  /** Whether a first lease is held within `ms` of real time (the store reads Redis until one is). */
  readonly awaitLease: (ms: number) => Effect.Effect<boolean>
}

interface Pending {
  readonly ackers: Set<string>
  /** How many receivers the server counted, and the announced peers, all of which must acknowledge. */
  need: number
  readonly peers: Array<string>
  readonly done: Deferred.Deferred<void>
}

const complete = (p: Pending) => p.ackers.size >= p.need && p.peers.every((peer) => p.ackers.has(peer))

interface Subscriber {
  readonly conn: Redis
  readonly name: string
  subscribed: boolean
}

/** Mutable state shared by the callbacks and the fibers; only ever touched in synchronous steps. */
interface State {
  epoch: number
  leaseEnd: number
  counter: number
  closed: boolean
  subscribers: Array<Subscriber>
  readonly pending: Map<string, Pending>
  /** Other instances on the prefix, by when they last announced themselves. */
  readonly peers: Map<string, number>
}

/** What the parts of one instance's invalidation share. */
interface Core {
  readonly settings: Settings
  readonly hooks: Hooks
  readonly state: State
  /** Open while a lease is held. */
  readonly leased: Effect.Latch
  /** Held by the beat under way. */
  readonly beating: Effect.Semaphore
  /** Runs work started by a callback, in the store's scope. */
  readonly background: <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>
}

const publish = (core: Core, to: string, message: string) =>
  Effect.ignore(bounded("SessionStore.invalidate", core.settings.timeout, () => core.settings.client.publish(to, message)))

/** Drops the lease and L1: called whenever a subscription may have missed a message. */
const lost = ({ hooks, leased, state }: Core) => {
  state.leaseEnd = 0
  state.epoch++
  leased.unsafeClose()
  hooks.reset()
}

const ack = ({ state }: Core, nonce: string, acker: string) => {
  const p = state.pending.get(nonce)
  if (p === undefined) return
  p.ackers.add(acker)
  if (complete(p)) Deferred.unsafeDone(p.done, Effect.void)
}

/** Handles one message, in the callback that delivers it: the lease argument needs it handled before any later PONG. */
const onMessage = (core: Core) => (from: string, message: string) => {
  const { hooks, settings, state } = core
  const { instance } = settings
  const space = message.indexOf(" ")
  if (space < 0) return
  const nonce = message.slice(0, space)
  const rest = message.slice(space + 1)
  if (from !== settings.channel) return ack(core, nonce, rest)
  if (nonce === "+" || nonce === "!") {
    if (rest !== instance) nonce === "+" ? state.peers.set(rest, monotonicMillis()) : state.peers.delete(rest)
    return
  }
  const writer = nonce.slice(0, nonce.lastIndexOf("/"))
  // The writer handles its own L1 around its write; its own copy of the message only counts as its receipt,
  // unless nobody waits for that write any more (it was interrupted or timed out): it may have landed after a
  // later read of this instance filled L1.
  if (writer === instance) {
    if (!state.pending.has(nonce)) hooks.invalidate(rest)
    return ack(core, nonce, instance)
  }
  hooks.invalidate(rest)
  // `-` is a plain Redis store's write: it waits for nobody.
  if (nonce !== "-") core.background(publish(core, settings.ackChannelOf(writer), `${nonce} ${instance}`))
}

const disconnect = ({ state }: Core) =>
  Effect.suspend(() => {
    const subs = state.subscribers
    state.subscribers = []
    for (const s of subs) s.subscribed = false
    return Effect.forEach(subs, (s) => close(s.conn), { concurrency: "unbounded", discard: true })
  })

/**
 * Opens one subscription connection per master; a connection counts only once its SUBSCRIBE was answered, and
 * then beats at once (`heartbeat`) to gain a lease without waiting for the schedule.
 */
const subscribe = (core: Core, heartbeat: Effect.Effect<void>) => {
  const { settings, state } = core
  const channels = [settings.channel, settings.ackChannelOf(settings.instance)]
  state.subscribers = masters(settings.client).map((master) => {
    const conn = master.duplicate({
      lazyConnect: true,
      autoResubscribe: false,
      enableAutoPipelining: false,
      enableOfflineQueue: false,
      connectionName: `arawn-tiered-${settings.instance}`
    })
    const sub: Subscriber = { conn, name: `${master.options.host}:${master.options.port}`, subscribed: false }
    conn.on("error", () => {})
    conn.on("message", onMessage(core))
    // Resubscribing is ours, not ioredis's.
    conn.on("ready", () =>
      core.background(Effect.matchEffect(Effect.tryPromise(() => conn.subscribe(...channels)), {
        onFailure: () => Effect.sync(() => conn.disconnect(true)),
        onSuccess: () => Effect.zipRight(Effect.sync(() => (sub.subscribed = true)), heartbeat)
      })))
    conn.on("close", () => {
      if (!sub.subscribed) return
      sub.subscribed = false
      lost(core)
    })
    core.background(Effect.ignore(Effect.tryPromise(() => conn.connect())))
    return sub
  })
}

const masterNames = (client: Client) => masters(client).map((m) => `${m.options.host}:${m.options.port}`).sort().join(",")

/** One round of PINGs on every subscription; all answered renews the lease from when they were sent. */
const beat = (core: Core): Effect.Effect<void> =>
  Effect.suspend(() => {
    const { settings, state } = core
    if (state.closed) return Effect.void
    const subs = state.subscribers
    // A Cluster whose masters changed has servers this instance is not subscribed on.
    if (subs.map((s) => s.name).sort().join(",") !== masterNames(settings.client)) {
      lost(core)
      return Effect.zipRight(disconnect(core), Effect.sync(() => state.closed || subscribe(core, heartbeatOf(core))))
    }
    if (subs.length === 0 || !subs.every((s) => s.subscribed)) return Effect.void
    const sent = monotonicMillis()
    const epoch = state.epoch
    return Effect.forEach(subs, (s) => Effect.tryPromise(() => s.conn.ping()), { concurrency: "unbounded", discard: true }).pipe(
      Effect.andThen(() => {
        if (epoch !== state.epoch || state.closed || !subs.every((s) => s.subscribed)) return
        state.leaseEnd = Math.max(state.leaseEnd, sent + settings.lease)
        core.leased.unsafeOpen()
        core.background(publish(core, settings.channel, `+ ${settings.instance}`))
      }),
      Effect.ignore
    )
  })

/** A beat, skipped while one is under way: a heartbeat is sent only once the one before it was answered. */
const heartbeatOf = (core: Core): Effect.Effect<void> => Effect.asVoid(core.beating.withPermitsIfAvailable(1)(beat(core)))

/** Waits for the acknowledgements of `nonce` (see `Invalidation.acknowledged`). */
const acknowledged = ({ settings, state }: Core, nonce: string, receivers: number) =>
  Effect.suspend(() => {
    const p = state.pending.get(nonce)
    if (p === undefined || state.closed) return Effect.void
    p.need = receivers
    const since = monotonicMillis() - 2 * settings.lease
    for (const [peer, seen] of state.peers) if (seen >= since) p.peers.push(peer)
    // Past the bound, no receiver can still serve a copy: its lease has run out.
    const ackBound = settings.lease + 100
    const wait = complete(p) ? Effect.void : onRealClock(Effect.timeoutOption(Deferred.await(p.done), ackBound))
    return Effect.ensuring(Effect.asVoid(wait), Effect.sync(() => state.pending.delete(nonce)))
  })

/**
 * Subscribes on every master, starts the heartbeat and returns the instance's invalidation; everything stops
 * with the surrounding Scope, after a goodbye to the other instances.
 */
export const make = (settings: Settings, hooks: Hooks): Effect.Effect<Invalidation, never, Scope.Scope> =>
  Effect.gen(function*() {
    const state: State = { epoch: 0, leaseEnd: 0, counter: 0, closed: false, subscribers: [], pending: new Map(), peers: new Map() }
    const core: Core = {
      settings,
      hooks,
      state,
      leased: yield* Effect.makeLatch(false),
      beating: yield* Effect.makeSemaphore(1),
      background: yield* FiberSet.makeRuntime<never>()
    }
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        state.closed = true
        state.leaseEnd = 0
        core.leased.unsafeClose()
        for (const p of state.pending.values()) Deferred.unsafeDone(p.done, Effect.void)
        return Effect.zipRight(publish(core, settings.channel, `! ${settings.instance}`), disconnect(core))
      })
    )
    const heartbeat = heartbeatOf(core)
    subscribe(core, heartbeat)
    yield* heartbeat.pipe(Effect.repeat(Schedule.spaced(Duration.millis(Math.max(10, settings.lease / 4)))), onRealClock, Effect.forkScoped)
    return {
      epoch: () => state.epoch,
      serving: () => monotonicMillis() < state.leaseEnd,
      begin: () => {
        const nonce = `${settings.instance}/${++state.counter}`
        state.pending.set(nonce, { ackers: new Set(), need: Number.POSITIVE_INFINITY, peers: [], done: Deferred.unsafeMake(FiberId.none) })
        return nonce
      },
      abandon: (nonce) => {
        state.pending.delete(nonce)
      },
      acknowledged: (nonce, receivers) => acknowledged(core, nonce, receivers),
      awaitLease: (ms) => core.leased.await.pipe(Effect.timeoutOption(ms), Effect.map(Option.isSome), onRealClock)
    }
  })
