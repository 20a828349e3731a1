/** Reads of the SQLite memory store that may run on its reader threads. */
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Option, ParseResult, Schema } from "effect"
import { all } from "../sql.js"
import type { ReadPool } from "./readPool.js"

/**
 * `all` for a read-only statement, on a reader thread when the store has them (the statement is compiled here and
 * its rows decoded here); a reader that cannot answer hands the statement back to the main connection.
 */
export const read = <A, I>(
  readers: Option.Option<ReadPool>,
  Result: Schema.Schema<A, I>,
  statement: Statement.Statement<unknown>
): Effect.Effect<ReadonlyArray<A>, SqlError | ParseResult.ParseError> =>
  Option.match(readers, {
    onNone: () => all(Result, statement),
    onSome: (pool) =>
      pool.all(statement.compile()).pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(Result))),
        Effect.catchIf((e): e is Error => !ParseResult.isParseError(e), () => all(Result, statement))
      )
  })

