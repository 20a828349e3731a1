/**
 * Cross-instance invalidation for the tiered session store, over Redis pub/sub.
 *
 * Every write script PUBLISHes `nonce id` on the prefix's channel in the same atomic step as the write, and the
 * reply carries how many subscribers the server delivered it to. Each instance subscribes on every master (one
 * connection each, so a Cluster's PUBLISH, which reports only the subscribers of the node that ran it, counts
 * every instance); on a message it drops its copy of the session, then acknowledges on the writer's own ack
 * channel. The writer acknowledges its caller once every receiver has acknowledged, or after `ackBound`.
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
 */
import { Effect } from "effect"
import type { Redis } from "ioredis"
import { masters } from "./scripts.js"
import type { Client } from "./scripts.js"

/**
 * Real monotonic time. A lease bounds what a process may serve while it cannot hear about writes: it must follow
 * the real passage of time even under TestClock, as the command deadlines do.
 */
export const now = (): number => performance.now()

export interface Settings {
  readonly channel: string
  readonly ackChannelOf: (instance: string) => string
  /** How long a heartbeat's PONG lets L1 serve, in ms. */
  readonly lease: number
  /** The command client: acknowledgements are published through it. */
  readonly client: Client
}

interface Pending {
  readonly ackers: Set<string>
  /** How many receivers the server counted, and the announced peers, all of which must acknowledge. */
  need: number
  readonly peers: Array<string>
  done: (() => void) | undefined
}

const complete = (p: Pending) => p.ackers.size >= p.need && p.peers.every((peer) => p.ackers.has(peer))

interface Subscriber {
  readonly conn: Redis
  readonly name: string
  subscribed: boolean
}

/** The invalidation state of one instance: its lease, its pending writes, and what it tells its L1. */
export class Invalidation {
  /** Bumped whenever L1 was dropped wholesale: a read that started before must not fill L1. */
  epoch = 0
  private leaseEnd = 0
  private counter = 0
  private subscribers: Array<Subscriber> = []
  private readonly pending = new Map<string, Pending>()
  /** Other instances on the prefix, by when they last announced themselves. */
  private readonly peers = new Map<string, number>()
  private timer: ReturnType<typeof setInterval> | undefined
  private beating = false
  private closed = false

  constructor(
    readonly instance: string,
    private readonly settings: Settings,
    /** Called with each session id another writer changed. */
    private readonly invalidate: (id: string) => void,
    /** Called when messages may have been lost: everything held must go. */
    private readonly reset: () => void
  ) {}

  /** Whether L1 may answer now: a lease is held. */
  serving(): boolean {
    return now() < this.leaseEnd
  }

  /** How long a writer waits for acknowledgements at most: past it, no receiver can still serve a copy. */
  get ackBound(): number {
    return this.settings.lease + 100
  }

  /** Opens the subscriptions and starts the heartbeat. */
  start(): void {
    this.connect()
    this.timer = setInterval(() => this.heartbeat(), Math.max(10, this.settings.lease / 4))
    this.timer.unref()
  }

  /** Resolves once a first lease is held, or after `ms` (the store then reads Redis until one is). */
  awaitLease(ms: number): Promise<boolean> {
    const deadline = now() + ms
    return new Promise((resolve) => {
      const poll = () => {
        if (this.serving()) return resolve(true)
        if (now() > deadline || this.closed) return resolve(false)
        setTimeout(poll, 10)
      }
      poll()
    })
  }

  async stop(): Promise<void> {
    this.closed = true
    if (this.timer !== undefined) clearInterval(this.timer)
    this.leaseEnd = 0
    for (const p of this.pending.values()) p.done?.()
    await this.settings.client.publish(this.settings.channel, `! ${this.instance}`).catch(() => 0)
    return this.disconnect()
  }

  /** A fresh nonce for a write about to be sent; acknowledgements that beat the script's reply are kept. */
  begin(): string {
    const nonce = `${this.instance}/${++this.counter}`
    this.pending.set(nonce, { ackers: new Set(), need: Number.POSITIVE_INFINITY, peers: [], done: undefined })
    return nonce
  }

  /** Forgets a write that published nothing. */
  abandon(nonce: string): void {
    this.pending.delete(nonce)
  }

  /** Waits until `receivers` instances (this one included) acknowledged `nonce`, or `ackBound` passed. */
  acknowledged(nonce: string, receivers: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const p = this.pending.get(nonce)
      if (p === undefined || this.closed) return resume(Effect.void)
      let timer: ReturnType<typeof setTimeout> | undefined
      const finish = () => {
        if (timer !== undefined) clearTimeout(timer)
        this.pending.delete(nonce)
        resume(Effect.void)
      }
      p.need = receivers
      const since = now() - 2 * this.settings.lease
      for (const [peer, seen] of this.peers) if (seen >= since) p.peers.push(peer)
      if (complete(p)) return finish()
      p.done = finish
      timer = setTimeout(finish, this.ackBound)
      return Effect.sync(() => {
        if (timer !== undefined) clearTimeout(timer)
        this.pending.delete(nonce)
      })
    })
  }

  private ack(nonce: string, acker: string): void {
    const p = this.pending.get(nonce)
    if (p === undefined) return
    p.ackers.add(acker)
    if (complete(p)) p.done?.()
  }

  private onMessage(channel: string, message: string): void {
    const space = message.indexOf(" ")
    if (space < 0) return
    const nonce = message.slice(0, space)
    const rest = message.slice(space + 1)
    if (channel !== this.settings.channel) return this.ack(nonce, rest)
    if (nonce === "+" || nonce === "!") {
      if (rest !== this.instance) nonce === "+" ? this.peers.set(rest, now()) : this.peers.delete(rest)
      return
    }
    const writer = nonce.slice(0, nonce.lastIndexOf("/"))
    // The writer handles its own L1 around its write; its own copy of the message only counts as its receipt.
    if (writer === this.instance) return this.ack(nonce, this.instance)
    this.invalidate(rest)
    // `-` is a plain Redis store's write: it waits for nobody.
    if (nonce === "-") return
    this.settings.client.publish(this.settings.ackChannelOf(writer), `${nonce} ${this.instance}`).catch(() => 0)
  }

  /** Drops the lease and L1: called whenever a subscription may have missed a message. */
  private lost(): void {
    this.leaseEnd = 0
    this.epoch++
    this.reset()
  }

  private masterNames(): Array<string> {
    return masters(this.settings.client).map((m) => `${m.options.host}:${m.options.port}`).sort()
  }

  private connect(): void {
    const channels = [this.settings.channel, this.settings.ackChannelOf(this.instance)]
    this.subscribers = masters(this.settings.client).map((master) => {
      const conn = master.duplicate({
        lazyConnect: true,
        autoResubscribe: false,
        enableAutoPipelining: false,
        enableOfflineQueue: false,
        connectionName: `arawn-tiered-${this.instance}`
      })
      const sub: Subscriber = { conn, name: `${master.options.host}:${master.options.port}`, subscribed: false }
      conn.on("error", () => {})
      conn.on("message", (channel: string, message: string) => this.onMessage(channel, message))
      // Resubscribing is ours, not ioredis's: a connection counts only once its SUBSCRIBE was answered.
      conn.on("ready", () => {
        conn.subscribe(...channels).then(
          () => {
            sub.subscribed = true
            this.heartbeat()
          },
          () => conn.disconnect(true)
        )
      })
      conn.on("close", () => {
        if (!sub.subscribed) return
        sub.subscribed = false
        this.lost()
      })
      conn.connect().catch(() => {})
      return sub
    })
  }

  private async disconnect(): Promise<void> {
    const subs = this.subscribers
    this.subscribers = []
    await Promise.all(subs.map(async (s) => {
      s.subscribed = false
      await s.conn.quit().catch(() => "closed")
      s.conn.disconnect()
    }))
  }

  /** One round of PINGs on every subscription; all answered renews the lease from when they were sent. */
  private heartbeat(): void {
    if (this.beating || this.closed) return
    const subs = this.subscribers
    // A Cluster whose masters changed has servers this instance is not subscribed on.
    if (subs.map((s) => s.name).sort().join(",") !== this.masterNames().join(",")) {
      this.lost()
      void this.disconnect().then(() => this.closed || this.connect())
      return
    }
    if (subs.length === 0 || !subs.every((s) => s.subscribed)) return
    this.beating = true
    const sent = now()
    const epoch = this.epoch
    Promise.all(subs.map((s) => s.conn.ping())).then(
      () => {
        this.beating = false
        if (epoch === this.epoch && !this.closed && subs.every((s) => s.subscribed)) {
          this.leaseEnd = Math.max(this.leaseEnd, sent + this.settings.lease)
          this.settings.client.publish(this.settings.channel, `+ ${this.instance}`).catch(() => 0)
        }
      },
      () => {
        this.beating = false
      }
    )
  }
}
