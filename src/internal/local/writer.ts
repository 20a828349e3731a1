/**
 * The one write lock of a store directory, shared by every process that opens it: each write runs in a
 * `BEGIN IMMEDIATE` transaction of `workstreams.db`'s write connection, which SQLite grants to one connection at a
 * time across processes (the WAL lock), and which the OS releases if its holder dies. In process, a semaphore
 * queues the fibers of this connection first. Waiting for another process never blocks the event loop: the
 * connection's own busy timeout is 0, and a refused `BEGIN IMMEDIATE` is retried after a timer, until
 * `busyTimeout` has passed.
 *
 * The holder also learns whether anything it may have cached is stale: `PRAGMA data_version` changes exactly when
 * another connection (another process) committed since this connection last looked, and a transaction of this
 * connection that rolled back may have left a cache ahead of the database; either way `onStale` runs, still under
 * the lock.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Effect, Exit, Option, Schema } from "effect"
import { StorageError } from "../../Errors.js"

export interface Writer {
  /** Runs `self` holding the write lock, in one transaction committed when it succeeds (fsynced when `durable`). */
  readonly exclusive: <A, E, R>(method: string, self: Effect.Effect<A, E, R>, durable?: boolean) => Effect.Effect<A, E | StorageError, R>
  /** `exclusive` if the lock is free right now (no fiber or process holds it); `None` otherwise. */
  readonly tryExclusive: <A, E, R>(method: string, self: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | StorageError, R>
}

const isBusy = (e: unknown): boolean => {
  const cause = typeof e === "object" && e !== null && "cause" in e ? e.cause : e
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" &&
    (cause.code.startsWith("SQLITE_BUSY") || cause.code.startsWith("SQLITE_LOCKED"))
}

// A real timer, not `Effect.sleep`: a TestClock must not be able to stall a store waiting for another process.
const pause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

const DataVersion = Schema.Struct({ data_version: Schema.Number })

export const makeWriter = (sql: SqlClient.SqlClient, busyMs: number, onStale: () => void = () => undefined) =>
  Effect.map(Effect.makeSemaphore(1), (lock): Writer => {
    let seen: number | undefined
    const dataVersion = SqlSchema.single({ Request: Schema.Void, Result: DataVersion, execute: () => sql`PRAGMA data_version` })
    /** Runs `onStale` when another connection committed since the last look. */
    const checkVersion = (method: string) =>
      Effect.map(Effect.mapError(dataVersion(undefined), (cause) => new StorageError({ method, cause })), ({ data_version }) => {
        if (data_version !== seen) onStale()
        seen = data_version
      })

    const exec = (method: string, conn: Connection, statement: string) =>
      Effect.mapError(conn.execute(statement, [], undefined), (cause) => new StorageError({ method, cause }))

    /** `BEGIN IMMEDIATE`, retried while another connection holds the lock (once only unless `wait`); false if not granted. */
    const begin = (method: string, conn: Connection, wait: boolean) =>
      Effect.gen(function*() {
        let waited = 0
        for (let delay = 1;; delay = Math.min(delay * 2, 50)) {
          const started = yield* Effect.either(conn.execute("BEGIN IMMEDIATE", [], undefined))
          if (started._tag === "Right") return true
          if (!isBusy(started.left)) return yield* new StorageError({ method, cause: started.left })
          if (!wait) return false
          if (waited >= busyMs) {
            return yield* new StorageError({
              method,
              cause: new Error(`another process has held the write lock of workstreams.db for over ${busyMs} ms`)
            })
          }
          yield* pause(delay)
          waited += delay
        }
      })

    const run = <A, E, R>(method: string, self: Effect.Effect<A, E, R>, durable: boolean, wait: boolean) =>
      Effect.uninterruptible(Effect.scoped(Effect.gen(function*() {
        const conn = yield* Effect.mapError(sql.reserve, (cause) => new StorageError({ method, cause }))
        if (durable) yield* exec(method, conn, "PRAGMA synchronous = FULL")
        const granted = yield* begin(method, conn, wait)
        if (!granted) {
          if (durable) yield* exec(method, conn, "PRAGMA synchronous = NORMAL")
          return Option.none<A>()
        }
        const exit = yield* Effect.exit(Effect.provideService(
          Effect.zipRight(checkVersion(method), self),
          SqlClient.TransactionConnection,
          [conn, 0]
        ))
        const end = yield* Effect.exit(exec(method, conn, Exit.isSuccess(exit) ? "COMMIT" : "ROLLBACK"))
        if (Exit.isFailure(end) && Exit.isSuccess(exit)) yield* Effect.ignore(exec(method, conn, "ROLLBACK"))
        if (Exit.isFailure(exit) || Exit.isFailure(end)) onStale()
        if (durable) yield* Effect.ignore(exec(method, conn, "PRAGMA synchronous = NORMAL"))
        if (Exit.isFailure(end)) return yield* Effect.failCause(end.cause)
        return Option.some(yield* exit)
      })))

    return {
      exclusive: (method, self, durable = false) =>
        lock.withPermits(1)(Effect.flatMap(run(method, self, durable, true), Option.match({
          // `begin` only gives up on a timeout, which fails; a waiting run always holds the lock.
          onNone: () => Effect.fail(new StorageError({ method, cause: new Error("the write lock was not granted") })),
          onSome: Effect.succeed
        }))),
      tryExclusive: (method, self) =>
        Effect.map(lock.withPermitsIfAvailable(1)(run(method, self, false, false)), Option.flatten)
    }
  })
