/**
 * A SessionStore on Redis (via ioredis): sessions survive a restart of the process and are shared by every
 * process using the same server and prefix. Each session is one string key holding its Schema-encoded JSON, with
 * the sliding TTL as the key's expiry.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Layer, Redacted, Schema } from "effect"
import { Redis } from "ioredis"
import type { RedisOptions } from "ioredis"
import { StorageError } from "../Errors.js"
import { SessionId } from "../Ids.js"
import type { Session } from "../Session.js"
import { decodeId, decodeSession, encodeSession, SessionStore } from "../SessionStore.js"

/** @category options */
export interface Options extends Omit<RedisOptions, "keyPrefix" | "lazyConnect"> {
  /** A `redis://` or `rediss://` URL; its parts override `host`, `port`, `password`, `db`. */
  readonly url?: string | Redacted.Redacted | undefined
  /** Every key is this prefix followed by a session id (default `"arawn:session:"`). */
  readonly prefix?: string | undefined
  /** Sliding idle TTL, set as the key's PX expiry by `put` and refreshed by `get` (default: none). */
  readonly ttl?: Duration.DurationInput | undefined
}

/** What `layerConfig` reads: the URL is a secret (it may carry a password). @category options */
export interface ConfigOptions {
  readonly url: Redacted.Redacted
  readonly prefix?: string | undefined
  readonly ttl?: Duration.DurationInput | undefined
  /** Milliseconds a command may take before it fails (default 2,000). */
  readonly commandTimeout?: number | undefined
}

/**
 * The defaults that bound every call in real time, whatever Effect's Clock does: no offline queue (a call made
 * while disconnected fails at once instead of waiting for a reconnect that may never come), in-flight commands
 * failed on the first connection loss, a per-command timeout for a server that accepts but never answers, and
 * reconnection forever with a backoff capped at one second, so the store heals soon after Redis is back.
 * Auto-pipelining sends the commands that concurrent fibers issue in one tick as one write: fibers resume
 * spread over the decoding work, and without it each command pays its own syscall and server wake-up.
 */
const defaults: RedisOptions = {
  enableOfflineQueue: false,
  enableAutoPipelining: true,
  maxRetriesPerRequest: 0,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  retryStrategy: (attempt) => Math.min(attempt * 100, 1_000)
}

const span = { attributes: { "db.system.name": "redis", "arawn.backend": "redis" } }

const isSessionId = Schema.is(SessionId)

/** A SCAN MATCH pattern that matches `prefix` literally, whatever glob characters it contains. */
const literalPattern = (prefix: string) => prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + "*"

const storageError = (method: string) => (cause: unknown) => new StorageError({ method, cause })

const connect = (options: Options) => {
  const { url, prefix: _prefix, ttl: _ttl, ...redisOptions } = options
  const settings: RedisOptions = { ...defaults, ...redisOptions, lazyConnect: true }
  return Effect.acquireRelease(
    Effect.suspend(() => {
      const client = url === undefined
        ? new Redis(settings)
        : new Redis(Redacted.isRedacted(url) ? Redacted.value(url) : url, settings)
      // Connection errors also reach every pending call as a rejected command, which becomes that call's
      // StorageError; without a listener ioredis would print each reconnect failure to stderr.
      client.on("error", () => {})
      return Effect.tryPromise({
        try: () => client.connect(),
        catch: (cause) => {
          // A failed first connect would otherwise keep retrying in the background.
          client.disconnect()
          return new StorageError({ method: "SessionStore.connect", cause })
        }
      }).pipe(Effect.as(client))
    }),
    (client) =>
      Effect.promise(async () => {
        // QUIT lets in-flight replies arrive; `disconnect` then ends any reconnect loop when Redis is down.
        await client.quit().catch(() => "closed")
        client.disconnect()
      })
  )
}

/**
 * Connects to Redis and builds a store on it; the connection closes when the surrounding Scope does. Fails with
 * StorageError when the first connection cannot be made (within `connectTimeout`, default 2 s).
 *
 * @category constructors
 */
export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    const prefix = options.prefix ?? "arawn:session:"
    const ttlMillis = options.ttl === undefined ? undefined : Duration.toMillis(Duration.decode(options.ttl))
    // PX takes a positive integer; an infinite TTL means none.
    const px = ttlMillis === undefined || !Number.isFinite(ttlMillis) ? undefined : Math.max(1, Math.floor(ttlMillis))
    const client = yield* connect(options)
    const key = (id: SessionId) => prefix + id
    const call = <A>(method: string, run: () => Promise<A>) =>
      Effect.tryPromise({ try: run, catch: storageError(method) })
    const decodeStored = (method: string, k: string, json: string | null) =>
      json === null ? Effect.succeedNone : Effect.asSome(decodeSession(method, k, json))

    const validId = {
      get: decodeId("SessionStore.get"),
      put: decodeId("SessionStore.put"),
      remove: decodeId("SessionStore.remove"),
      contains: decodeId("SessionStore.contains")
    }

    const get = Effect.fn("SessionStore.get", span)(function*(rawId: SessionId) {
      const k = key(yield* validId.get(rawId))
      const json = yield* call("SessionStore.get", () => px === undefined ? client.get(k) : client.getex(k, "PX", px))
      return yield* decodeStored("SessionStore.get", k, json)
    })

    const put = Effect.fn("SessionStore.put", span)(function*(rawId: SessionId, session: Session) {
      const id = yield* validId.put(rawId)
      const json = yield* encodeSession("SessionStore.put", id, session)
      // A plain SET also clears an expiry left by a writer configured with a TTL.
      yield* call("SessionStore.put", () => px === undefined ? client.set(key(id), json) : client.set(key(id), json, "PX", px))
    })

    const remove = Effect.fn("SessionStore.remove", span)(function*(rawId: SessionId) {
      const k = key(yield* validId.remove(rawId))
      const json = yield* call("SessionStore.remove", () => client.getdel(k))
      return yield* decodeStored("SessionStore.remove", k, json)
    })

    const contains = Effect.fn("SessionStore.contains", span)(function*(rawId: SessionId) {
      const k = key(yield* validId.contains(rawId))
      return (yield* call("SessionStore.contains", () => client.exists(k))) === 1
    })

    const size = Effect.fn("SessionStore.size", span)(function*() {
      const pattern = literalPattern(prefix)
      return yield* call("SessionStore.size", async () => {
        // SCAN skips expired keys but may repeat a key across pages, hence the set. Keys under the prefix that
        // are not session ids were not written by a store and do not count.
        const seen = new Set<string>()
        let cursor = "0"
        do {
          const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000)
          for (const k of keys) if (isSessionId(k.slice(prefix.length))) seen.add(k)
          cursor = next
        } while (cursor !== "0")
        return seen.size
      })
    })

    return { get, put, remove, contains, size } satisfies SessionStore["Type"]
  })

/**
 * The Redis SessionStore. Requires nothing; owns one connection, closed when the layer is released. Capacity is
 * Redis's business (`maxmemory` + an eviction policy), not this layer's. Expiry follows the Redis server's clock,
 * so `TestClock` does not drive it. Fails to build with StorageError when Redis cannot be reached; after that,
 * every call made while Redis is unavailable fails with StorageError within `commandTimeout` and calls succeed
 * again once the connection is back.
 *
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<SessionStore, StorageError> =>
  Layer.scoped(SessionStore, make(options))

/**
 * `layer` with its options read from `Config`, e.g. `layerConfig({ url: Config.redacted("REDIS_URL") })`.
 *
 * @category layers
 */
export const layerConfig = (config: Config.Config.Wrap<ConfigOptions>) =>
  Layer.scoped(SessionStore, Effect.flatMap(Config.unwrap(config), (options) => make(options)))
