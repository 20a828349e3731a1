/**
 * An in-process SessionStore on `lru-cache`: bounded by a capacity with least-recently-used eviction and an
 * optional sliding idle TTL, its clock read from Effect's `Clock` so `TestClock` drives expiry.
 *
 * @since 0.1.0
 */
import { Config, Effect, Layer, Option, Schema } from "effect"
import { LRUCache } from "lru-cache"
import type { SessionId } from "../Ids.js"
import { Session, Turn } from "../Session.js"
import type { CacheOptions } from "../SessionStore.js"
import { decodeId, resolveOptions, SessionStore } from "../SessionStore.js"
import { InvalidInput } from "../Errors.js"

/** @category options */
export interface Options extends CacheOptions {
  /**
   * One span per call (default true, like every store). An Effect span costs several microseconds, orders of
   * magnitude more than an in-process cache hit: turn it off where the cache sits on a path measured in ops/s.
   */
  readonly tracing?: boolean | undefined
}

// No call-site stack on the spans: Effect.fn would register one per call in a WeakMap, and on a path that also
// allocates a snapshot per call the extra GC work costs more than the operation itself. The only failures here are
// a caller's InvalidInput and a put whose value does not survive its own JSON round trip.
const span = { attributes: { "arawn.backend": "lru" }, captureStackTrace: false }

/** A copy of a JSON value: what `Schema.Unknown` fields hold after the JSON round trip made at `put`. */
const copyJson = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson)
  const out: Record<string, unknown> = {}
  for (const key in value) {
    const copied = copyJson(Reflect.get(value, key))
    // JSON.parse makes "__proto__" an ordinary key; assigning it would set the copy's prototype instead.
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true })
    } else {
      out[key] = copied
    }
  }
  return out
}

const copyTurn = (turn: Turn): Turn =>
  Object.assign(Object.create(Turn.prototype), turn, {
    toolCalls: turn.toolCalls.map((call) => ({ ...call, arguments: copyJson(call.arguments) })),
    toolResults: turn.toolResults.map((result) => ({ ...result }))
  })

/**
 * A detached copy of a stored session: every array and object is new, strings and `DateTime`s (immutable) are
 * shared. Building instances from their prototype skips the Schema class constructors, which are several times
 * slower than the copy itself, and the whole copy is an order of magnitude cheaper than decoding JSON again. It
 * follows the shape of `Session` and `Turn`; a test pins their field lists so a new field gets a look here.
 */
const snapshot = (session: Session): Session =>
  Object.assign(Object.create(Session.prototype), session, {
    turns: session.turns.map(copyTurn),
    metadata: copyJson(session.metadata)
  })

/** A JSON value's JSON form: exactly what the JSON codec (and so Redis) keeps of it. */
const jsonForm = (value: unknown): unknown => {
  const text = JSON.stringify(value)
  return text === undefined ? undefined : JSON.parse(text)
}

const validSession = Schema.validate(Session)

/**
 * What `put` stores: the session checked against its key and the Session schema, its typed fields copied as they
 * are (strings and `DateTime`s are immutable) and its free-form JSON fields (metadata, tool arguments) passed
 * through JSON, so the stored value keeps exactly what the JSON codec would keep, at a fraction of a full encode
 * and decode.
 */
const detachSession = (method: string, id: SessionId, session: Session) =>
  Effect.gen(function*() {
    if (session.id !== id) {
      return yield* new InvalidInput({ method, message: `session id ${session.id} does not match the key ${id}` })
    }
    const valid = yield* Effect.mapError(
      validSession(session),
      (e) => new InvalidInput({ method, message: `session does not fit the Session schema: ${e.message}` })
    )
    return yield* Effect.try({
      try: () =>
        Object.assign(Object.create(Session.prototype), valid, {
          turns: valid.turns.map((turn) =>
            Object.assign(Object.create(Turn.prototype), turn, {
              toolCalls: turn.toolCalls.map((call) => ({ ...call, arguments: jsonForm(call.arguments) })),
              toolResults: turn.toolResults.map((result) => ({ ...result }))
            })
          ),
          metadata: jsonForm(valid.metadata)
        }),
      catch: (e) => new InvalidInput({ method, message: `session is not JSON-encodable: ${e instanceof Error ? e.message : String(e)}` })
    })
  })

/**
 * Builds a store on `lru-cache`. The Clock in context when this runs becomes the cache's clock for its lifetime.
 *
 * Each stored value is a private copy made at `put` (validated by the Session schema, its free-form fields passed
 * through JSON, so it keeps exactly what the Redis backend would and shares nothing with the caller); `get` hands out a fresh structural
 * copy of it and `remove` the stored copy itself, which the store then no longer holds, so what a caller mutates
 * never reaches the store.
 *
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<SessionStore["Type"]> =>
  Effect.map(Effect.clock, (clock) => {
    const { capacity, ttlMillis } = resolveOptions(options)
    // lru-cache takes an integer TTL and treats 0 as "none"; expiry is strict (`age > ttl`), so flooring keeps the
    // same whole-millisecond boundary as the fractional TTL, and sub-millisecond TTLs round up to 1 ms.
    const ttl = ttlMillis === undefined || !Number.isFinite(ttlMillis) ? 0 : Math.max(1, Math.floor(ttlMillis))
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

    const traced = options.tracing !== false
    const method = (name: string) => traced ? Effect.fn(name, span) : Effect.fnUntraced

    const validId = {
      get: decodeId("SessionStore.get"),
      put: decodeId("SessionStore.put"),
      remove: decodeId("SessionStore.remove"),
      contains: decodeId("SessionStore.contains")
    }

    const get = method("SessionStore.get")(function*(rawId: SessionId) {
      const id = yield* validId.get(rawId)
      const stored = cache.get(id)
      return stored === undefined ? Option.none() : Option.some(snapshot(stored))
    })

    const put = method("SessionStore.put")(function*(rawId: SessionId, session: Session) {
      const id = yield* validId.put(rawId)
      cache.set(id, yield* detachSession("SessionStore.put", id, session))
    })

    const remove = method("SessionStore.remove")(function*(rawId: SessionId) {
      const id = yield* validId.remove(rawId)
      // `peek` is undefined for an expired entry, which `delete` then drops as well.
      const stored = cache.peek(id)
      cache.delete(id)
      return stored === undefined ? Option.none() : Option.some(stored)
    })

    const contains = method("SessionStore.contains")(function*(rawId: SessionId) {
      const id = yield* validId.contains(rawId)
      return cache.has(id)
    })

    const size = method("SessionStore.size")(function*() {
      // `cache.size` counts expired entries until something touches them.
      if (ttl > 0) cache.purgeStale()
      return cache.size
    })

    return { get, put, remove, contains, size } satisfies SessionStore["Type"]
  })

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
