import { Duration } from "effect"

/** What the in-process drivers read from `CacheOptions`, with the defaults applied. */
export interface Resolved {
  readonly capacity: number
  /** Undefined for no TTL (also for an infinite one). */
  readonly ttlMillis: number | undefined
}

/** Capacity defaults to 10,000 and is at least 1; a TTL is kept in milliseconds, an infinite one means none. */
export const resolveOptions = (options: {
  readonly capacity?: number | undefined
  readonly ttl?: Duration.DurationInput | undefined
}): Resolved => {
  const ttlMillis = options.ttl === undefined ? undefined : Duration.toMillis(Duration.decode(options.ttl))
  return {
    capacity: Math.max(1, Math.floor(options.capacity ?? 10_000)),
    ttlMillis: ttlMillis === undefined || !Number.isFinite(ttlMillis) ? undefined : ttlMillis
  }
}
