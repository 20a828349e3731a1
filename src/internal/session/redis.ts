import { Duration, Effect, Redacted } from "effect"
import { Cluster, Redis } from "ioredis"
import type { ClusterNode, ClusterOptions, RedisOptions } from "ioredis"
import { StorageError } from "../../Errors.js"
import { realClock } from "./clock.js"
import type { Client } from "./scripts.js"

/**
 * The defaults that keep every call bounded in real time, whatever Effect's Clock does: no offline queue (a call
 * made while disconnected fails at once instead of waiting for a reconnect that may never come), in-flight
 * commands failed on the first connection loss, a per-command timeout for a server that accepts but never
 * answers, and reconnection forever with a backoff capped at one second, so the store heals soon after Redis is
 * back. Auto-pipelining sends the commands that concurrent fibers issue in one tick as one write: fibers resume
 * spread over the decoding work, and without it each command pays its own syscall and server wake-up.
 */
export const defaults: RedisOptions = {
  enableOfflineQueue: false,
  enableAutoPipelining: true,
  maxRetriesPerRequest: 0,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  retryStrategy: (attempt) => Math.min(attempt * 100, 1_000)
}

/** Where a store connects: one server (a URL and/or options) or a Cluster (its seed nodes and options). */
export type Target =
  | { readonly _tag: "server"; readonly url: string | Redacted.Redacted | undefined; readonly options: RedisOptions }
  | { readonly _tag: "cluster"; readonly nodes: ReadonlyArray<ClusterNode>; readonly options: ClusterOptions }

const open = (target: Target): Client => {
  if (target._tag === "cluster") {
    const { redisOptions, ...options } = target.options
    // The same bounds as for one server, on every node connection; a Cluster has its own offline queue, which
    // would hold calls during a failover for as long as it lasts.
    return new Cluster([...target.nodes], {
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      ...options,
      lazyConnect: true,
      redisOptions: { ...defaults, ...redisOptions }
    })
  }
  const settings: RedisOptions = { ...defaults, ...target.options, lazyConnect: true }
  const { url } = target
  return url === undefined ? new Redis(settings) : new Redis(Redacted.isRedacted(url) ? Redacted.value(url) : url, settings)
}

/** Closes a client: QUIT lets in-flight replies arrive, then `disconnect` ends any reconnect loop when Redis is down. */
export const close = (client: Client | Redis): Effect.Effect<void> =>
  Effect.tryPromise(() => client.quit()).pipe(
    Effect.ignore,
    Effect.zipRight(Effect.sync(() => client.disconnect()))
  )

/** One connection (or one Cluster), opened now and closed with the surrounding Scope; StorageError when it cannot be opened. */
export const connect = (target: Target) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const client = open(target)
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
    close
  )

/**
 * `run` as an Effect that settles within `ms` of real time, under TestClock too. ioredis's own `commandTimeout`
 * starts when a command is written, and with auto-pipelining a command waits unwritten behind the pipeline in
 * flight, so against a frozen server a call could take twice the timeout; this deadline starts with the call.
 * `run` is called synchronously when the Effect starts (what it sends goes out in the order the calls are made).
 * Interrupting the Effect stops the wait at once; a command already sent may still reach the server, as may one
 * the deadline failed: it stays queued in the client.
 */
export const bounded = <A>(method: string, ms: number, run: () => Promise<A>): Effect.Effect<A, StorageError> =>
  // Not `Effect.timeoutFail`, which races two forked fibers: on a loaded machine that doubled a round trip.
  Effect.async<A, StorageError>((resume) => {
    let pending = true
    const settle = (result: Effect.Effect<A, StorageError>) => {
      if (!pending) return
      pending = false
      cancel()
      resume(result)
    }
    const cancel = Effect.runCallback(realClock.sleep(Duration.millis(ms)), {
      onExit: () => settle(Effect.fail(new StorageError({ method, cause: new Error(`Redis did not answer within ${ms} ms`) })))
    })
    Effect.runCallback(Effect.tryPromise({ try: run, catch: (cause) => new StorageError({ method, cause }) }), { onExit: settle })
    return Effect.sync(() => {
      pending = false
      cancel()
    })
  })

/** A SCAN MATCH pattern that matches `prefix` literally, whatever glob characters it contains. */
export const literalPattern = (prefix: string) => prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + "*"


