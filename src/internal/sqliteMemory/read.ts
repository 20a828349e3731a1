/** Reads of the SQLite memory store that may run on its reader threads. */
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Effect, Option, ParseResult } from "effect"
import { all } from "../sql.js"
import type { RowsDecoder } from "../sql.js"
import type { ReadPool } from "./readPool.js"

/**
 * `all` for a read-only statement, on a reader thread when the store has them (the statement is compiled here and
 * its rows decoded here); a reader that cannot answer hands the statement back to the main connection.
 */
export const read = <A>(
  readers: Option.Option<ReadPool>,
  decode: RowsDecoder<A>,
  statement: Statement.Statement<unknown>
): Effect.Effect<ReadonlyArray<A>, SqlError | ParseResult.ParseError> =>
  Option.match(readers, {
    onNone: () => all(decode, statement),
    onSome: (pool) =>
      pool.all(statement.compile()).pipe(
        Effect.flatMap(decode),
        Effect.catchIf((e): e is Error => !ParseResult.isParseError(e), () => all(decode, statement))
      )
  })
