/**
 * How the SQL drivers talk to their connection: schema-decoded reads, transactions whose every failure is a typed
 * error (a failed COMMIT too: `SqlClient.withTransaction` turns that into a defect), and the mapping of driver
 * failures to `StorageError`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError as SqlErrorClass } from "@effect/sql/SqlError"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, ParseResult, Schema } from "effect"
import { StorageError } from "../Errors.js"

/** Whether `s` may name a PostgreSQL schema or start a table name unquoted (short enough for the suffixes added to it). */
export const isIdentifier = (s: string): boolean => /^[A-Za-z_][A-Za-z0-9_]{0,40}$/.test(s)

/**
 * A row count (LIMIT, OFFSET) written into the statement's text instead of bound. SQLite reads a bound LIMIT while
 * planning, so a statement whose LIMIT is a parameter is prepared again on every run: for the store's larger
 * statements that re-preparation costs more than running them (270 us of a 380 us search on a small store). Each
 * count is the store's own integer, so the text is always a plain number; what is not one reads as no rows.
 */
export const rowCount = (sql: SqlClient.SqlClient, n: number) =>
  sql.literal(String(Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.trunc(n))) : n > 0 ? Number.MAX_SAFE_INTEGER : 0))

/** A decoder of a statement's rows. Built once per row schema (at module level or once per store), never per call. */
export type RowsDecoder<A> = (rows: unknown) => Effect.Effect<ReadonlyArray<A>, ParseResult.ParseError>

/** The decoder of an array of `Row`s. */
export const decodeRows = <A, I>(Row: Schema.Schema<A, I>): RowsDecoder<A> => Schema.decodeUnknown(Schema.Array(Row))

/** Every row `statement` returns, decoded by `decode`. */
export const all = <A, E>(
  decode: RowsDecoder<A>,
  statement: Effect.Effect<ReadonlyArray<unknown>, E>
): Effect.Effect<ReadonlyArray<A>, E | ParseResult.ParseError> => Effect.flatMap(statement, decode)

const decodeCount = decodeRows(Schema.Struct({ n: Schema.Number }))

/** The single number a `SELECT ... AS n` returns (0 when it returns no row). */
export const single = <E>(statement: Effect.Effect<ReadonlyArray<unknown>, E>) =>
  Effect.map(all(decodeCount, statement), (rows) => rows[0]?.n ?? 0)

type DriverFailure = SqlError | ParseResult.ParseError

/** Driver and decode failures as the `StorageError` of `method`; every other error passes through. */
export const storage = (method: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exclude<E, Extract<E, DriverFailure>> | StorageError, R> =>
  Effect.catchIf(
    effect,
    (e): e is Extract<E, DriverFailure> => e instanceof SqlErrorClass || ParseResult.isParseError(e),
    (cause) => Effect.fail(new StorageError({ method, cause }))
  )

/**
 * Runs `effect` in a transaction on a reserved connection. `BEGIN IMMEDIATE` takes the write lock (waiting up to
 * busy_timeout) before the first read, so a writer never holds a stale snapshot that SQLite must refuse on upgrade;
 * plain `BEGIN` gives a read snapshot. A failed COMMIT (disk full, I/O error) is a failure of the call, after
 * which the transaction is rolled back; a ROLLBACK that fails because SQLite already rolled back is ignored.
 */
export const transaction = (sql: SqlClient.SqlClient, begin: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | SqlError, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.scoped(Effect.gen(function*() {
      const conn = yield* sql.reserve
      const rollback = Effect.ignore(conn.executeRaw("ROLLBACK", []))
      yield* conn.executeRaw(begin, [])
      const exit = yield* Effect.exit(
        Effect.provideService(restore(effect), SqlClient.TransactionConnection, [conn, 0] as const)
      )
      if (Exit.isFailure(exit)) {
        yield* rollback
        return yield* Effect.failCause(exit.cause)
      }
      const committed = yield* Effect.exit(conn.executeRaw("COMMIT", []))
      if (Exit.isFailure(committed)) {
        yield* rollback
        return yield* Effect.failCause(committed.cause)
      }
      return exit.value
    }))
  )
