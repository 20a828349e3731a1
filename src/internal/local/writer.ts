/**
 * The one write lock of a store directory, shared by every process that opens it: each write runs in a
 * `BEGIN IMMEDIATE` transaction of `workstreams.db`'s write connection, which SQLite grants to one connection at a
 * time across processes (the WAL lock), and which the OS releases if its holder dies. In process, a semaphore
 * queues the fibers of this connection first. Waiting for another process never blocks the event loop: the
 * connection's own busy timeout is 0, and a refused `BEGIN IMMEDIATE` is retried on a schedule, until
 * `busyTimeout` has passed. A caller of `exclusive` interrupted while it waits, or while its transaction runs,
 * leaves nothing behind: the transaction rolls back and its `undo` runs, as for a failure. An append on the direct
 * connection (`direct`) takes the same lock without waiting for another process, and once it holds it runs to its
 * end: an interruption then takes effect after its commit, as one arriving just after it would.
 *
 * The holder also learns whether anything it may have cached is stale: `PRAGMA data_version` changes exactly when
 * another connection (another process) committed since this connection last looked, and a transaction of this
 * connection that rolled back may have left a cache ahead of the database; either way `onStale` runs, still under
 * the lock.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { Clock, Effect, Either, Exit, Option, Schedule, Schema } from "effect"
import { StorageError } from "../../Errors.js"
import type { DirectConnection, DirectTx } from "./direct.js"
import { openDirect } from "./direct.js"

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
  /**
   * Runs `attempt` holding the write lock, in one transaction of the direct connection (see `direct.ts`), committed
   * when it returns anything but `DECLINED`; not fsynced. `None` when it did not run or declined: no direct
   * connection, another process holds the lock (this never waits for it), or `attempt` itself declined, having
   * written nothing. Once it holds the lock it runs to its end, even when its caller is interrupted meanwhile. A
   * failure rolls back, then runs `undo` as `exclusive` does.
   */
  readonly direct: <A>(
    method: string,
    attempt: (tx: DirectTx) => Promise<A | typeof DECLINED>,
    undo: Effect.Effect<void, StorageError>
  ) => Effect.Effect<Option.Option<A>, StorageError>
}

/** What a direct attempt returns when the write connection's path must do the work instead. */
export const DECLINED: unique symbol = Symbol.for("arawn-store/local/DECLINED")

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

const decodeDataVersion = Schema.decodeUnknownEither(Schema.Tuple(Schema.Struct({ data_version: Schema.Number })))

/**
 * The writer of `sql`'s database. `directFile` is that database's file, for the direct connection of appends (none
 * for a read-only store).
 */
export const makeWriter = (sql: SqlClient.SqlClient, busyMs: number, onStale: () => void = () => undefined, directFile?: string) =>
  Effect.map(Effect.zip(Effect.makeSemaphore(1), openDirect(directFile)), ([lock, direct]): Writer => {
    let seen: number | undefined
    const exec = (method: string, conn: Connection, statement: string) =>
      Effect.mapError(conn.execute(statement, [], undefined), (cause) => new StorageError({ method, cause }))
    /** Runs `onStale` when another connection committed since the last look. */
    const checkVersion = (method: string, conn: Connection) =>
      Effect.flatMap(exec(method, conn, "PRAGMA data_version"), (rows) => {
        const decoded = decodeDataVersion(rows)
        if (Either.isLeft(decoded)) return new StorageError({ method, cause: decoded.left })
        const { data_version } = decoded.right[0]
        if (data_version !== seen) onStale()
        seen = data_version
        return Effect.void
      })

    const wait = lockWait(busyMs)
    /**
     * `BEGIN IMMEDIATE`, retried while another connection holds the lock, for up to `busyMs`. The first attempt runs
     * bare: the retry's schedule driver and clock cost more than the statement, and most writes find the lock free.
     */
    const begin = (method: string, conn: Connection) =>
      conn.execute("BEGIN IMMEDIATE", [], undefined).pipe(
        // The span marks a wait for another process; a lock found free is no event worth one.
        Effect.catchIf(isBusy, () =>
          conn.execute("BEGIN IMMEDIATE", [], undefined).pipe(
            Effect.retry({ schedule: wait, while: isBusy }),
            Effect.withClock(realClock),
            Effect.withSpan("WorkstreamStore.local.writeLock", { attributes: { "arawn.method": method } })
          )),
        Effect.mapError((cause) =>
          new StorageError({
            method,
            cause: isBusy(cause) ? new Error(`another process has held the write lock of workstreams.db for over ${busyMs} ms`) : cause
          })
        ),
        Effect.asVoid
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
            Effect.zipRight(checkVersion(method, conn), self),
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

    /** The attempt in its transaction; `None` when the lock was taken or the attempt declined (rolled back). */
    const attemptDirect = async <A>(d: DirectConnection, attempt: (tx: DirectTx) => Promise<A | typeof DECLINED>) => {
      if (!d.begin()) return Option.none<A>()
      try {
        const result = await attempt(d.tx)
        if (result === DECLINED) {
          d.rollback()
          return Option.none<A>()
        }
        d.commit()
        return Option.some(result)
      } catch (e) {
        // A commit SQLite refused (a full disk) is rolled back already; this only makes sure no transaction is left.
        try {
          d.rollback()
        } catch {
          // the attempt's own failure is the one to report
        }
        throw e
      }
    }

    const runDirect = <A>(method: string, attempt: (tx: DirectTx) => Promise<A | typeof DECLINED>, undo: Effect.Effect<void, StorageError>) =>
      direct === undefined ? Effect.succeed(Option.none<A>()) : lock.withPermits(1)(
        Effect.uninterruptible(Effect.catchAll(
          Effect.tryPromise({ try: () => attemptDirect(direct, attempt), catch: (cause) => new StorageError({ method, cause }) }),
          (e) => {
            onStale()
            return Effect.zipRight(
              Effect.scoped(Effect.flatMap(sql.reserve, (conn) => compensate(method, conn, undo))).pipe(
                Effect.catchAll((cause) => Effect.logWarning("taking back a failed write failed", cause.message))
              ),
              Effect.fail(e)
            )
          }
        ))
      )

    return {
      exclusive: (method, self, durable = false, undo) => lock.withPermits(1)(run(method, self, durable, undo)),
      direct: runDirect
    }
  })
