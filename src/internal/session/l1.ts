/**
 * The in-process copies of the tiered session store (L1): an lru-cache of decoded sessions, the Redis reads in
 * flight (one per id), and the newest local write per id. Everything that may make a copy stale goes through
 * `drop` or `reset`, which also disown the reads and writes in flight, so none of them can fill L1 afterwards.
 */
import { LRUCache } from "lru-cache"
import type { Deferred, Fiber, Option } from "effect"
import type { StorageError } from "../../Errors.js"
import type { Session } from "../../Session.js"
import { monotonicMillis as now } from "./clock.js"

export interface Entry {
  readonly session: Session
  /** When the read or write that last set the key's Redis expiry was sent (the expiry runs from later). */
  refreshedAt: number
}

/** A Redis read sent under a lease, shared by every caller that misses on its id while it is in flight. */
export interface Flight {
  readonly result: Deferred.Deferred<Option.Option<Session>, StorageError>
  /** The invalidation epoch it was sent in. */
  readonly epoch: number
  /** When it was registered: the key's expiry runs from later. */
  readonly sent: number
  /** Set when something made its answer stale: it then fills nothing. */
  invalidated: boolean
  /** The callers waiting for it; the last one to be interrupted stops it. */
  waiters: number
  /** Set once it has an answer (or failed). */
  settled: boolean
  fiber: Fiber.RuntimeFiber<Option.Option<Session>, StorageError> | undefined
}

export class Copies {
  readonly cache: LRUCache<string, Entry>
  readonly flights = new Map<string, Flight>()
  /** The newest local write per id: only it may set L1 once Redis answered. */
  private readonly latest = new Map<string, number>()
  private writes = 0

  constructor(
    capacity: number,
    ttlMillis: number | undefined,
    /** The key's sliding TTL in Redis, in ms (undefined: none): a copy never outlives it. */
    readonly px: number | undefined
  ) {
    this.cache = new LRUCache<string, Entry>({
      max: Math.max(1, Math.floor(capacity)),
      ...(ttlMillis !== undefined && ttlMillis > 0 && Number.isFinite(ttlMillis) ? { ttl: Math.max(1, Math.floor(ttlMillis)) } : {}),
      updateAgeOnGet: true,
      ttlResolution: 0,
      perf: { now }
    })
  }

  /** Forgets the copy of `id` and disowns what is in flight for it. */
  drop(id: string): void {
    this.cache.delete(id)
    this.latest.delete(id)
    const flight = this.flights.get(id)
    if (flight !== undefined) {
      flight.invalidated = true
      this.flights.delete(id)
    }
  }

  /** Forgets every copy and disowns everything in flight. */
  reset(): void {
    this.cache.clear()
    this.latest.clear()
    for (const f of this.flights.values()) f.invalidated = true
    this.flights.clear()
  }

  /** The copy of `id` if it cannot have expired in Redis since (`touch` moves it in LRU order). */
  live(id: string, touch: boolean): Entry | undefined {
    const e = touch ? this.cache.get(id) : this.cache.peek(id)
    if (e === undefined) return undefined
    if (this.px !== undefined && now() - e.refreshedAt >= this.px) {
      this.cache.delete(id)
      return undefined
    }
    return e
  }

  /** Drops `id` and numbers a write of it about to be sent. */
  beginWrite(id: string): number {
    this.drop(id)
    const token = ++this.writes
    this.latest.set(id, token)
    return token
  }

  /** Whether the write numbered `token` is still the newest on `id`, with nothing dropped since; forgets it. */
  endWrite(id: string, token: number): boolean {
    if (this.latest.get(id) !== token) return false
    this.latest.delete(id)
    return true
  }
}
