/**
 * An in-process SessionStore on `lru-cache`: bounded by a capacity with least-recently-used eviction and an
 * optional sliding idle TTL, its clock read from Effect's `Clock` so `TestClock` drives expiry.
 *
 * @since 0.1.0
 */
import { Config, Effect, Layer, Option } from "effect"
import type { Clock } from "effect"
import { LRUCache } from "lru-cache"
import type { SessionId } from "../Ids.js"
import { stamp } from "../internal/session/codec.js"
import { resolveOptions } from "../internal/session/options.js"
import type { Session } from "../Session.js"
import type { CacheOptions, Driver } from "../SessionStore.js"
import { make as makeStore, SessionStore } from "../SessionStore.js"

/** @category options */
export interface Options extends CacheOptions {
  /**
   * One span per call (default true, like every store). An Effect span costs several microseconds, orders of
   * magnitude more than an in-process cache hit: turn it off where the cache sits on a path measured in ops/s.
   */
  readonly tracing?: boolean | undefined
}

/**
 * The lru-cache driver. Each entry is the private copy the kernel made at `put`; `get` returns it for the kernel
 * to copy, and `remove` hands it over, since the cache no longer holds it.
 *
 * @category drivers
 */
export const driver = (clock: Clock.Clock, options: CacheOptions = {}): Driver => {
  const { capacity, ttlMillis } = resolveOptions(options)
  // lru-cache takes an integer TTL and treats 0 as "none"; expiry is strict (`age > ttl`), so flooring keeps the
  // same whole-millisecond boundary as the fractional TTL, and sub-millisecond TTLs round up to 1 ms.
  const ttl = ttlMillis === undefined ? 0 : Math.max(1, Math.floor(ttlMillis))
  // lru-cache reads `start === 0` as "no TTL", and TestClock starts at 0: count from 1 at construction time.
  const origin = clock.unsafeCurrentTimeMillis() - 1
  const cache = new LRUCache<SessionId, Session>({
    max: capacity,
    ...(ttl > 0 ? { ttl } : {}),
    updateAgeOnGet: true,
    updateAgeOnHas: false,
    // The default (1) caches "now" behind a setTimeout per read; 0 reads the Clock every time, which both keeps
    // TestClock exact and avoids a timer per operation.
    ttlResolution: 0,
    perf: { now: () => clock.unsafeCurrentTimeMillis() - origin }
  })
  // `get` and `put` are the only operations that move an entry in LRU order and the only ones that restart its
  // TTL, so LRU order is also last-touch order: expired entries always sit at the LRU end and are the first ones
  // capacity eviction drops. No separate purge is needed before evicting.
  return {
    backend: "lru",
    get: (id) => Effect.sync(() => Option.fromNullable(cache.get(id))),
    set: (id, session, expected) =>
      Effect.sync(() => {
        // `peek` is undefined for an expired entry and moves nothing in LRU order.
        const current = cache.peek(id)?.version ?? 0
        if (expected !== undefined && expected !== current) return Option.some(String(current))
        cache.set(id, stamp(session, current + 1))
        return Option.none()
      }),
    remove: (id) =>
      Effect.sync(() => {
        // `peek` is undefined for an expired entry, which `delete` then drops as well.
        const stored = cache.peek(id)
        cache.delete(id)
        return Option.fromNullable(stored)
      }),
    has: (id) => Effect.sync(() => cache.has(id)),
    size: Effect.sync(() => {
      // `cache.size` counts expired entries until something touches them.
      if (ttl > 0) cache.purgeStale()
      return cache.size
    })
  }
}

/**
 * Builds a store on `lru-cache`. The Clock in context when this runs becomes the cache's clock for its lifetime.
 * What a caller mutates never reaches the store: `put` stores a private copy and `get` hands out a fresh one.
 *
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<SessionStore["Type"]> =>
  Effect.map(Effect.clock, (clock) => makeStore(driver(clock, options), { tracing: options.tracing }))

/**
 * The lru-cache SessionStore: capacity (default 10,000) with LRU eviction, optional sliding TTL (default none).
 * Requires nothing; the `Clock` in context when the layer is built drives expiry. Entries live in this process
 * only and are lost on restart. Memory is preallocated per slot of `capacity`.
 *
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<SessionStore> => Layer.effect(SessionStore, make(options))

/**
 * `layer` with its options read from `Config`, e.g.
 * `layerConfig({ capacity: Config.integer("SESSION_CAPACITY"), ttl: Config.duration("SESSION_TTL") })`.
 *
 * @category layers
 */
export const layerConfig = (config: Config.Config.Wrap<Options>) =>
  Layer.effect(SessionStore, Effect.flatMap(Config.unwrap(config), make))
