/**
 * The hot cache of live agent sessions.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, Schema } from "effect"
import { InvalidInput, StorageError } from "./Errors.js"
import { SessionId } from "./Ids.js"
import { decodeInput } from "./internal/decode.js"
import { Session, SessionJson } from "./Session.js"

/** @category services */
export class SessionStore extends Context.Tag("arawn-store/SessionStore")<SessionStore, {
  /** `None` when absent or expired; a hit refreshes the sliding TTL and the LRU position. */
  readonly get: (id: SessionId) => Effect.Effect<Option.Option<Session>, InvalidInput | StorageError>
  /** Stores a snapshot under `id` (which must equal `session.id`), replacing any previous one; refreshes TTL and LRU. */
  readonly put: (id: SessionId, session: Session) => Effect.Effect<void, InvalidInput | StorageError>
  /** Removes the session and returns what was there (`None` when absent or expired); idempotent. */
  readonly remove: (id: SessionId) => Effect.Effect<Option.Option<Session>, InvalidInput | StorageError>
  /** Whether a live (unexpired) session has this id; does not refresh TTL or LRU position. */
  readonly contains: (id: SessionId) => Effect.Effect<boolean, InvalidInput | StorageError>
  /** How many live sessions are held; expired ones never count. */
  readonly size: () => Effect.Effect<number, StorageError>
}>() {}

/** @category options */
export interface CacheOptions {
  /** Most sessions held; the least recently used is evicted past it (default 10,000; below 1 counts as 1). */
  readonly capacity?: number | undefined
  /** Sliding idle TTL: a session untouched by `get`/`put` for longer than this is gone (default: none). */
  readonly ttl?: Duration.DurationInput | undefined
}

/** The options with defaults applied. @internal */
export const resolveOptions = (options: CacheOptions) => ({
  capacity: Math.max(1, Math.floor(options.capacity ?? 10_000)),
  ttlMillis: options.ttl === undefined ? undefined : Duration.toMillis(Duration.decode(options.ttl))
})

const isSessionId = Schema.is(SessionId)

/** Validates an id; a valid one (the common case) is checked without running the decoder. @internal */
export const decodeId = (method: string) => {
  const decode = decodeInput(SessionId, method)
  return (id: unknown): Effect.Effect<SessionId, InvalidInput> => isSessionId(id) ? Effect.succeed(id) : decode(id)
}

const encodeJson = Schema.encode(SessionJson)
const decodeJson = Schema.decode(SessionJson)

/** Validates `session` against its id and schema and returns its JSON text (a detached snapshot). @internal */
export const encodeSession = (method: string, id: SessionId, session: Session) =>
  Effect.gen(function*() {
    if (session.id !== id) {
      return yield* new InvalidInput({ method, message: `session id ${session.id} does not match the key ${id}` })
    }
    return yield* Effect.mapError(
      encodeJson(session),
      (e) => new InvalidInput({ method, message: `session does not fit the Session schema: ${e.message}` })
    )
  })

/** Decodes stored JSON text; text that no longer decodes is a StorageError naming the key. @internal */
export const decodeSession = (method: string, key: string, json: string) =>
  Effect.mapError(
    decodeJson(json),
    (e) => new StorageError({ method, cause: new Error(`stored value at ${key} is not a valid Session: ${e.message}`) })
  )

interface Entry {
  readonly json: string
  readonly touched: number
}

/**
 * An in-process SessionStore over an insertion-ordered `Map` (re-inserting on access keeps LRU order), with
 * sliding TTL read from Effect's `Clock`, so `TestClock` drives expiry. Values are stored as JSON text, exactly
 * what the Redis backend stores, so snapshots are detached from the caller's objects.
 *
 * @category constructors
 */
export const makeMemory = (options: CacheOptions = {}): Effect.Effect<SessionStore["Type"]> =>
  Effect.sync(() => {
    const { capacity, ttlMillis } = resolveOptions(options)
    const entries = new Map<SessionId, Entry>()
    const expired = (e: Entry, now: number) => ttlMillis !== undefined && now - e.touched > ttlMillis
    const live = (id: SessionId, now: number): Entry | undefined => {
      const e = entries.get(id)
      if (e === undefined) return undefined
      if (expired(e, now)) {
        entries.delete(id)
        return undefined
      }
      return e
    }
    const purge = (now: number) => {
      for (const [id, e] of entries) if (expired(e, now)) entries.delete(id)
    }
    const now = Effect.clockWith((clock) => clock.currentTimeMillis)

    const get = Effect.fn("SessionStore.get")(function*(rawId: SessionId) {
      const id = yield* decodeId("SessionStore.get")(rawId)
      const t = yield* now
      const e = live(id, t)
      if (e === undefined) return Option.none()
      entries.delete(id)
      entries.set(id, { json: e.json, touched: t })
      return Option.some(yield* decodeSession("SessionStore.get", id, e.json))
    })

    const put = Effect.fn("SessionStore.put")(function*(rawId: SessionId, session: Session) {
      const id = yield* decodeId("SessionStore.put")(rawId)
      const json = yield* encodeSession("SessionStore.put", id, session)
      const t = yield* now
      entries.delete(id)
      if (entries.size >= capacity) {
        purge(t)
        for (const oldest of entries.keys()) {
          if (entries.size < capacity) break
          entries.delete(oldest)
        }
      }
      entries.set(id, { json, touched: t })
    })

    const remove = Effect.fn("SessionStore.remove")(function*(rawId: SessionId) {
      const id = yield* decodeId("SessionStore.remove")(rawId)
      const e = live(id, yield* now)
      entries.delete(id)
      return e === undefined ? Option.none() : Option.some(yield* decodeSession("SessionStore.remove", id, e.json))
    })

    const contains = Effect.fn("SessionStore.contains")(function*(rawId: SessionId) {
      const id = yield* decodeId("SessionStore.contains")(rawId)
      return live(id, yield* now) !== undefined
    })

    const size = Effect.fn("SessionStore.size")(function*() {
      purge(yield* now)
      return entries.size
    })

    return { get, put, remove, contains, size } satisfies SessionStore["Type"]
  })

/**
 * The in-memory SessionStore with default options (capacity 10,000, no TTL): the test double.
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<SessionStore> = Layer.effect(SessionStore, makeMemory())

/** @category layers */
export const layerMemoryWith = (options: CacheOptions): Layer.Layer<SessionStore> =>
  Layer.effect(SessionStore, makeMemory(options))
