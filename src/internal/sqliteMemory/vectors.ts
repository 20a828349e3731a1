/**
 * The store's vector tables. Vectors live in numbered generations (exact float32 blobs plus a vec0 bit index of
 * SimHash codes); which one is live is the embedding state of the shared SQL driver (sqlMemory/state).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { Array as Arr, Effect, Option, Schema } from "effect"
import type { ParseResult } from "effect"
import { all, decodeRows, transaction } from "../sql.js"
import type { EmbeddingSpace } from "../../Errors.js"
import type { State } from "../sqlMemory/state.js"
import type { Reads } from "./read.js"
import { generationDdl, PARTITIONS } from "./schema.js"
import type { TableNames } from "./schema.js"

/** Rows per multi-row INSERT: amortises statement overhead, far below SQLite's 32766 bound parameters. */
export const INSERT_CHUNK = 256

/** What the store's modules share: the connection, the table names and the embedder's space. */
export interface Store {
  readonly sql: SqlClient.SqlClient
  readonly t: TableNames
  readonly current: EmbeddingSpace
  /** SimHash code of a vector, for the bit index. */
  readonly code: (v: Float32Array) => Uint8Array
  /** Where reads outside a transaction run (a file's own read connection and reader threads, or the store's connection). */
  readonly reads: Reads
}

/** A vector to write: the memory's pk, its float vector and its code. */
export type VectorItem = readonly [pk: bigint, vector: Float32Array, code: Uint8Array]

export const bytes = (v: Float32Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

// The tables of a generation are named by its number, so their DDL is generated.
export const createGeneration = (s: Store, g: number) =>
  Effect.forEach(generationDdl(s.t, g), (ddl) => s.sql.unsafe(ddl), { discard: true })

export const dropGeneration = (s: Store, g: number) =>
  Effect.zipRight(
    s.sql`DROP TABLE IF EXISTS ${s.sql(s.t.vectors(g))}`,
    s.sql`DROP TABLE IF EXISTS ${s.sql(s.t.codes(g))}`
  )

/** `count` copies of a row's placeholders, comma-separated: a chunk's VALUES list (chunks come in few sizes). */
const placeholders = (() => {
  const made = new Map<string, string>()
  return (row: string, count: number) => {
    const key = `${count}${row}`
    let list = made.get(key)
    if (list === undefined) {
      list = Array.from({ length: count }, () => row).join(",")
      made.set(key, list)
    }
    return list
  }
})()

const PARTS = BigInt(PARTITIONS)

/**
 * Writes each item's vector and code into every generation given. The statements are plain text over a flat
 * parameter list: a template with a fragment per row made @effect/sql compile the chunk row by row on every call.
 * The table names are generated from the validated prefix and a generation number.
 */
export const writeVectors = (s: Store, generations: ReadonlyArray<number>, items: ReadonlyArray<VectorItem>) =>
  Effect.forEach(generations, (g) =>
    Effect.forEach(Arr.chunksOf(items, INSERT_CHUNK), (chunk) => {
      const vectors: Array<unknown> = []
      const codes: Array<unknown> = []
      for (const [pk, v, c] of chunk) {
        vectors.push(pk, bytes(v))
        codes.push(pk, pk % PARTS, c)
      }
      return Effect.zipRight(
        s.sql.unsafe(`INSERT INTO "${s.t.vectors(g)}" (pk, vector) VALUES ${placeholders("(?, ?)", chunk.length)}`, vectors),
        // vec0 takes codes through vec_bit() and integer rowids only (hence BigInt pks).
        s.sql.unsafe(`INSERT INTO "${s.t.codes(g)}" (rowid, part, code) VALUES ${placeholders("(?, ?, vec_bit(?))", chunk.length)}`, codes)
      )
    }, { discard: true }), { discard: true })

/** Removes the vectors of `pks` from the live generation and from a reindex target. */
export const deleteVectors = (s: Store, state: State, pks: ReadonlyArray<bigint>) =>
  Effect.forEach(
    [state.generation, ...Option.toArray(state.target).map((t) => t.generation)],
    (g) =>
      // One statement per pk: vec0 finds a row by `rowid = ?`, but would scan the whole index for `rowid IN (...)`.
      Effect.forEach(pks, (pk) =>
        Effect.zipRight(
          s.sql`DELETE FROM ${s.sql(s.t.vectors(g))} WHERE pk = ${pk}`,
          s.sql`DELETE FROM ${s.sql(s.t.codes(g))} WHERE rowid = ${pk}`
        ), { discard: true }),
    { discard: true }
  )

const decodeAutoVacuum = decodeRows(Schema.Struct({ auto_vacuum: Schema.Number }))
const decodeFreelist = decodeRows(Schema.Struct({ freelist_count: Schema.Number }))

/** Free pages returned to the file system per write transaction. */
const RECLAIM_PAGES = 1000

/**
 * Gives the file's free pages back to the file system when the database uses incremental auto_vacuum (2), a
 * thousand pages per write transaction; a file without it keeps them for its next writes (only a full VACUUM, which
 * rewrites the whole file, would shrink it). better-sqlite3 steps a statement that returns no rows once, and one
 * step of `incremental_vacuum` frees one page: hence one statement per page.
 */
export const reclaim = (s: Store): Effect.Effect<void, SqlError | ParseResult.ParseError> =>
  Effect.gen(function*() {
    if ((yield* all(decodeAutoVacuum, s.sql`PRAGMA auto_vacuum`))[0]?.auto_vacuum !== 2) return
    const free = all(decodeFreelist, s.sql`PRAGMA freelist_count`)
    for (let left = (yield* free)[0]?.freelist_count ?? 0; left > 0;) {
      const step = Math.min(left, RECLAIM_PAGES)
      yield* transaction(s.sql, "BEGIN IMMEDIATE")(
        Effect.forEach(Array.from({ length: step }), () => s.sql`PRAGMA incremental_vacuum(1)`, { discard: true })
      )
      const now = (yield* free)[0]?.freelist_count ?? 0
      // Pages another writer freed meanwhile are its own to reclaim; a file that stops shrinking is left as it is.
      if (now >= left) return
      left = now
    }
  })
