/**
 * A SessionStore on Redis (via ioredis): sessions survive a restart of the process and are shared by every
 * process using the same server and prefix. Each session is one string key holding its Schema-encoded JSON, with
 * the sliding TTL as the key's expiry.
 *
 * @since 0.1.0
 */
import { Config, Duration, Effect, Either, Layer, Option, Schema } from "effect"
import type { Redacted, Scope } from "effect"
import type { ClusterNode, ClusterOptions, RedisOptions } from "ioredis"
import type { StorageError } from "../Errors.js"
import { SessionId } from "../Ids.js"
import { bounded, connect, defaults, literalPattern } from "../internal/session/redis.js"
import type { Target } from "../internal/session/redis.js"
import type { Client } from "../internal/session/scripts.js"
import { deleteSource, integers, masters, putSource, script } from "../internal/session/scripts.js"
import type { EncodedDriver } from "../SessionStore.js"
import { makeEncoded, SessionStore } from "../SessionStore.js"

/** @category options */
export interface Options extends Omit<RedisOptions, "keyPrefix" | "lazyConnect"> {
  /** A `redis://` or `rediss://` URL; its parts override `host`, `port`, `password`, `db`. */
  readonly url?: string | Redacted.Redacted | undefined
  /**
   * A Redis Cluster instead of one server: its seed nodes and ioredis Cluster options (the connection options
   * above do not apply; set them as `options.redisOptions`). Each session is one key and every command names one
   * key, so keys spread over the slots by their session id; a prefix holding a `{hash tag}` would put them all in
   * one slot.
   */
  readonly cluster?: { readonly nodes: ReadonlyArray<ClusterNode>; readonly options?: ClusterOptions | undefined } | undefined
  /** Every key is this prefix followed by a session id (default `"arawn:session:"`). */
  readonly prefix?: string | undefined
  /** Sliding idle TTL, set as the key's PX expiry by `put` and refreshed by `get` (default: none). */
  readonly ttl?: Duration.DurationInput | undefined
  /** One span per call (default true). */
  readonly tracing?: boolean | undefined
}

/** What `layerConfig` reads: the URL is a secret (it may carry a password). @category options */
export interface ConfigOptions {
  readonly url: Redacted.Redacted
  readonly prefix?: string | undefined
  readonly ttl?: Duration.DurationInput | undefined
  /** Milliseconds a call may take before it fails (default 2,000). */
  readonly commandTimeout?: number | undefined
}

const isSessionId = Schema.is(SessionId)
const putScript = script(putSource)
const deleteScript = script(deleteSource)

/** The channel on which writes under `prefix` announce which session changed. @category drivers */
export const channelOf = (prefix: string) => `${prefix}invalidate`

/** How the driver of `options` names keys and expires them. @internal */
export const keyspace = (options: Pick<Options, "prefix" | "ttl"> = {}) => {
  const prefix = options.prefix ?? "arawn:session:"
  const ttlMillis = options.ttl === undefined ? undefined : Duration.toMillis(Duration.decode(options.ttl))
  // PX takes a positive integer; an infinite TTL means none.
  const px = ttlMillis === undefined || !Number.isFinite(ttlMillis) ? undefined : Math.max(1, Math.floor(ttlMillis))
  return { prefix, px, key: (id: SessionId) => prefix + id }
}

/**
 * The Redis driver over a connected client (one server or a Cluster). Every primitive settles within
 * `commandTimeout` of real time (one deadline per call, started when the call is made); `size` makes one SCAN
 * round trip per 1,000 keys on each master, each bounded the same way. A put is one script (version check, SET,
 * invalidation PUBLISH) and so is the delete of a remove, so Tiered stores on the same prefix drop their copies.
 *
 * @category drivers
 */
export const driver = (client: Client, options: Pick<Options, "prefix" | "ttl" | "commandTimeout"> = {}): EncodedDriver => {
  const { key, prefix, px } = keyspace(options)
  const timeout = options.commandTimeout ?? defaults.commandTimeout ?? 2_000
  const pattern = literalPattern(prefix)
  const channel = channelOf(prefix)

  const scanPage = (node: Client, cursor: string) =>
    bounded("SessionStore.size", timeout, () => node.scan(cursor, "MATCH", pattern, "COUNT", 1000))

  return {
    backend: "redis",
    attributes: { "db.system.name": "redis" },
    locate: key,
    get: (id) =>
      Effect.map(
        bounded("SessionStore.get", timeout, () => px === undefined ? client.get(key(id)) : client.getex(key(id), "PX", px)),
        Option.fromNullable
      ),
    // A put without a TTL also clears an expiry left by a writer configured with one.
    set: (id, text, expected) =>
      Effect.map(
        bounded("SessionStore.put", timeout, async () =>
          integers(await putScript(client, key(id), [text.head, text.tail, expected === undefined ? "" : String(expected), px === undefined ? "" : String(px), channel, `- ${id}`]), 3)),
        ([written, version]) => written === 1 ? Option.none() : Option.some(version! < 0 ? "unreadable" : String(version))
      ),
    remove: (id, read) =>
      Effect.flatten(bounded("SessionStore.remove", timeout, async () => {
        const k = key(id)
        // Read, decode, then delete only if the key still holds what was read; a concurrent put in between
        // makes the loop read again. A text `read` refuses stays in place.
        for (;;) {
          const text = await client.get(k)
          if (text === null) return Either.right(Option.none())
          const decoded = read(text)
          if (Either.isLeft(decoded)) return Either.left(decoded.left)
          const [deleted] = integers(await deleteScript(client, k, [text, channel, `- ${id}`]), 2)
          if (deleted === 1) return Either.right(Option.some(decoded.right))
        }
      })),
    has: (id) => Effect.map(bounded("SessionStore.contains", timeout, () => client.exists(key(id))), (n) => n === 1),
    size: Effect.gen(function*() {
      // SCAN skips expired keys but may repeat a key across pages, hence the set. Keys under the prefix that are
      // not session ids were not written by a store and do not count.
      const seen = new Set<string>()
      for (const node of masters(client)) {
        let cursor = "0"
        do {
          const [next, keys] = yield* scanPage(node, cursor)
          for (const k of keys) if (isSessionId(k.slice(prefix.length))) seen.add(k)
          cursor = next
        } while (cursor !== "0")
      }
      return seen.size
    })
  }
}

/** Where `options` says to connect. @internal */
export const targetOf = (options: Options): Target => {
  const { url, cluster, prefix: _prefix, ttl: _ttl, tracing: _tracing, ...redisOptions } = options
  return cluster === undefined
    ? { _tag: "server" as const, url, options: redisOptions }
    : { _tag: "cluster" as const, nodes: cluster.nodes, options: cluster.options ?? {} }
}

/**
 * Connects to Redis and builds a store on it; the connection closes when the surrounding Scope does. Fails with
 * StorageError when the first connection cannot be made (within `connectTimeout`, default 2 s).
 *
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<SessionStore["Type"], StorageError, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* connect(targetOf(options))
    return makeEncoded(driver(client, options), { tracing: options.tracing })
  })

/**
 * The Redis SessionStore. Requires nothing; owns one connection, closed when the layer is released. Capacity is
 * Redis's business (`maxmemory` + an eviction policy), not this layer's. Expiry follows the Redis server's clock,
 * so `TestClock` does not drive it. Fails to build with StorageError when Redis cannot be reached; after that,
 * every call fails with StorageError within `commandTimeout` of real time when Redis is down or frozen (a put
 * that failed so may still have been applied, or be applied once the server answers), and calls succeed again
 * once the connection is back. A stored value that does not decode as a Session, or holds a session under
 * another id, is corrupt: `get` and `remove` fail with StorageError naming its key and leave it in place,
 * `contains` and `size` count it, and `put` replaces it.
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
