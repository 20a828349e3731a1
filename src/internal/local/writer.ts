/**
 * The one write lock of a store directory, shared by every process that opens it: each write runs in a
 * `BEGIN IMMEDIATE` transaction of `workstreams.db`'s write connection, which SQLite grants to one connection at a
 * time across processes (the WAL lock), and which the OS releases if its holder dies. In process, a semaphore
 * queues the fibers of this connection first. Waiting for another process never blocks the event loop: the
 * connection's own busy timeout is 0, and a refused `BEGIN IMMEDIATE` is retried on a schedule, until
 * `busyTimeout` has passed. A caller interrupted while it waits, or while its transaction runs, leaves nothing
 * behind: the transaction rolls back and its `undo` runs, as for a failure.
 *
 * The holder also learns whether anything it may have cached is stale: `PRAGMA data_version` changes exactly when
 * another connection (another process) committed since this connection last looked, and a transaction of this
 * connection that rolled back may have left a cache ahead of the database; either way `onStale` runs, still under
 * the lock.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Clock, Effect, Exit, Schedule, Schema } from "effect"
import { StorageError } from "../../Errors.js"

export interface Writer {
  /**
   * Runs `self` holding the write lock, in one transaction committed when it succeeds (fsynced when `durable`).
   * When the transaction fails (`self`, or its commit), `undo` runs next, holding the lock again and before any
   * other fiber of this process writes: it takes back what `self` wrote outside the database (a log's new bytes).
   * SQLite itself rolls back a commit that failed for a full disk, releasing the lock, so another process may
   * write in between; `undo` must check that what it takes back is still its own. Its own failure is logged; the
   * transaction's is what `exclusive` fails with.
   */
  readonly exclusive: <A, E, R>(
    method: string,
    self: Effect.Effect<A, E, R>,
    durable?: boolean,
    undo?: Effect.Effect<void, StorageError, R>
  ) => Effect.Effect<A, E | StorageError, R>
}

const isBusy = (e: unknown): boolean => {
  const cause = typeof e === "object" && e !== null && "cause" in e ? e.cause : e
  return typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" &&
    (cause.code.startsWith("SQLITE_BUSY") || cause.code.startsWith("SQLITE_LOCKED"))
}

/** Back-off for a refused `BEGIN IMMEDIATE`: 1 ms doubling up to 50 ms, for `busyMs` in all. */
const lockWait = (busyMs: number) =>
  Schedule.exponential("1 millis").pipe(Schedule.union(Schedule.spaced("50 millis")), Schedule.upTo(`${busyMs} millis`))

// The default clock, not the caller's: a TestClock must not be able to stall a store waiting for another process.
const realClock = Clock.make()

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

    const wait = lockWait(busyMs)
    /**
     * `BEGIN IMMEDIATE`, retried while another connection holds the lock, for up to `busyMs`. The first attempt runs
     * bare: the retry's schedule driver and clock cost more than the statement, and most writes find the lock free.
     */
    const begin = (method: string, conn: Connection) =>
      conn.execute("BEGIN IMMEDIATE", [], undefined).pipe(
        Effect.catchIf(isBusy, () =>
          conn.execute("BEGIN IMMEDIATE", [], undefined).pipe(
            Effect.retry({ schedule: wait, while: isBusy }),
            Effect.withClock(realClock)
          )),
        Effect.mapError((cause) =>
          new StorageError({
            method,
            cause: isBusy(cause) ? new Error(`another process has held the write lock of workstreams.db for over ${busyMs} ms`) : cause
          })
        ),
        Effect.asVoid,
        Effect.withSpan("WorkstreamStore.local.writeLock", { attributes: { "arawn.method": method } })
      )

    /** `undo` in a transaction of its own (rolled back: it writes nothing to the database) under the lock. */
    const compensate = <R>(method: string, conn: Connection, undo: Effect.Effect<void, StorageError, R>) =>
      Effect.gen(function*() {
        yield* begin(method, conn)
        const done = yield* Effect.exit(Effect.provideService(undo, SqlClient.TransactionConnection, [conn, 0]))
        yield* Effect.ignore(exec(method, conn, "ROLLBACK"))
        yield* done
      }).pipe(Effect.catchAll((e) => Effect.logWarning("taking back a failed write failed", e.message)))

    // Uninterruptible but for the wait and `self`: an interrupted `self` rolls back and is undone like a failed one.
    const run = <A, E, R>(method: string, self: Effect.Effect<A, E, R>, durable: boolean, undo?: Effect.Effect<void, StorageError, R>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.scoped(Effect.gen(function*() {
          const conn = yield* Effect.mapError(sql.reserve, (cause) => new StorageError({ method, cause }))
          if (durable) yield* exec(method, conn, "PRAGMA synchronous = FULL")
          // Waiting, `begin` holds the lock when it returns (it fails on a timeout).
          const began = yield* Effect.exit(restore(begin(method, conn)))
          if (Exit.isFailure(began)) {
            if (durable) yield* Effect.ignore(exec(method, conn, "PRAGMA synchronous = NORMAL"))
            return yield* Effect.failCause(began.cause)
          }
          const exit = yield* Effect.exit(restore(Effect.provideService(
            Effect.zipRight(checkVersion(method), self),
            SqlClient.TransactionConnection,
            [conn, 0]
          )))
          const end = yield* Effect.exit(exec(method, conn, Exit.isSuccess(exit) ? "COMMIT" : "ROLLBACK"))
          // A commit SQLite refused (a full disk) is rolled back already; this only makes sure no transaction is left.
          if (Exit.isFailure(end) && Exit.isSuccess(exit)) yield* Effect.ignore(exec(method, conn, "ROLLBACK"))
          const failed = Exit.isFailure(exit) || Exit.isFailure(end)
          if (failed) onStale()
          if (failed && undo !== undefined) yield* compensate(method, conn, undo)
          if (durable) yield* Effect.ignore(exec(method, conn, "PRAGMA synchronous = NORMAL"))
          // The transaction's own failure first: a rollback that failed after it says less.
          if (Exit.isFailure(exit)) return yield* exit
          if (Exit.isFailure(end)) return yield* Effect.failCause(end.cause)
          return exit.value
        }))
      )

    return {
      exclusive: (method, self, durable = false, undo) => lock.withPermits(1)(run(method, self, durable, undo))
    }
  })
