/**
 * Reads of the SQLite memory store outside a transaction. A store on a file has a read-only connection of its own in
 * the caller's thread, whose statements are prepared once and kept: a read there skips @effect/sql's per-statement
 * span, connection lock and statement cache (about 45 us a statement, several times a small store's query). A
 * statement that has taken long goes to the reader threads instead, so a large store's scans neither block the
 * caller's event loop nor run one after the other. Inside a transaction every read is the transaction's.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { Context, Effect, Option } from "effect"
import type { ParseResult } from "effect"
import type { Fiber } from "effect"
import { performance } from "node:perf_hooks"
import { all } from "../sql.js"
import type { RowsDecoder } from "../sql.js"
import type { Connection, Prepared } from "./connection.js"
import type { ReadPool } from "./readPool.js"

/** Where a store's reads run. */
export interface Reads {
  /** Reads run on a connection other than the store's own (so one read may see a later state than the one before). */
  readonly separate: boolean
  /** Every row of a read-only statement, decoded by `decode`. */
  readonly all: <A>(decode: RowsDecoder<A>, statement: Statement.Statement<unknown>) => Effect.Effect<ReadonlyArray<A>, SqlError | ParseResult.ParseError>
  /**
   * Every row of a read-only statement that calls the store's SQL functions (`scoreFunction.ts`), run on the read
   * connection in this thread, the only one that has them; `None` where there is none (a store read through its
   * client, or a read inside a transaction).
   */
  readonly local: <A>(
    decode: RowsDecoder<A>,
    statement: Statement.Statement<unknown>
  ) => Effect.Effect<Option.Option<ReadonlyArray<A>>, SqlError | ParseResult.ParseError>
}

/**
 * A statement whose recent runs averaged more than this goes to a reader thread: the hop there (posting the
 * statement, copying the rows back, waking the caller) costs about this much, and a shorter stall of the caller's
 * event loop is not worth avoiding.
 */
const HOP_MICROS = 500

/** Prepared statements kept per connection (the reader threads keep as many). */
const CACHED = 200

interface Entry {
  readonly prepared: Prepared
  /** The run times of the latest runs in microseconds, wherever they ran (see `learn`). */
  readonly recent: Array<number>
  /** The least of `recent`. */
  micros: number
}

/** Runs remembered per statement. */
const RECENT = 8

/** The store's own connection, through @effect/sql: for `:memory:` and a client given by the caller. */
const onClient = <A>(decode: RowsDecoder<A>, statement: Statement.Statement<unknown>) => all(decode, statement)

/** `Reads` on the store's own connection alone. */
export const clientReads: Reads = { separate: false, all: onClient, local: () => Effect.succeedNone }

const inTransaction = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Option.isSome(Context.getOption(fiber.currentContext, SqlClient.TransactionConnection))

const failed = (cause: unknown) => new SqlError({ cause, message: "Failed to execute statement" })

/** `Reads` on `db` (a read-only connection to the store's file, in this thread), and on `readers` when given. */
export const directReads = (db: Connection, readers: Option.Option<ReadPool>): Reads => {
  const cache = new Map<string, Entry>()
  const entry = (sql: string): Entry => {
    let e = cache.get(sql)
    if (e === undefined) {
      if (cache.size >= CACHED) cache.delete(cache.keys().next().value!)
      e = { prepared: db.prepare(sql), recent: [], micros: 0 }
      cache.set(sql, e)
    }
    return e
  }
  // The least of the latest runs: the thread losing its core (a loaded machine) only ever stretches a run, so one
  // slow run among fast ones says nothing, while a scan that grows with the store is slow every time.
  const learn = (e: Entry, micros: number) => {
    if (e.recent.push(micros) > RECENT) e.recent.shift()
    e.micros = Math.min(...e.recent)
  }
  const here = (sql: string, params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<unknown>, SqlError> => {
    try {
      const e = entry(sql)
      // Performance time, not domain time: it only decides where the next run of this statement goes.
      const t0 = performance.now()
      const rows = e.prepared.all(...params)
      learn(e, (performance.now() - t0) * 1000)
      return Effect.succeed(rows)
    } catch (cause) {
      // A statement over tables since dropped (a reindex swapped generations) is never run again.
      cache.delete(sql)
      return Effect.fail(failed(cause))
    }
  }
  const run = (sql: string, params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<unknown>, SqlError> => {
    const e = cache.get(sql)
    if (Option.isNone(readers) || e === undefined || e.micros <= HOP_MICROS) return here(sql, params)
    return readers.value.all([sql, params]).pipe(
      Effect.map(({ rows, micros }) => {
        learn(e, micros)
        return rows
      }),
      // A reader that cannot answer (stopped, or behind a schema change) hands the statement back to this thread.
      Effect.catchAll(() => here(sql, params))
    )
  }
  return {
    separate: true,
    all: (decode, statement) =>
      Effect.withFiberRuntime((fiber) => {
        if (inTransaction(fiber)) return onClient(decode, statement)
        const [sql, params] = statement.compile()
        return Effect.flatMap(run(sql, params), decode)
      }),
    local: (decode, statement) =>
      Effect.withFiberRuntime((fiber) => {
        if (inTransaction(fiber)) return Effect.succeedNone
        const [sql, params] = statement.compile()
        return Effect.asSome(Effect.flatMap(here(sql, params), decode))
      })
  }
}
