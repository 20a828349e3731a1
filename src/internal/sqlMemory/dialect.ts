/**
 * What one SQL engine contributes to the SQL memory driver, chosen once when a store opens: how keys, rows, booleans
 * and locks are spelled, where text and vectors live, and how search candidates are found. Everything else (the
 * write steps, the embedding-space state machine, the resumable reindex) exists once, in this folder.
 */
import type { SqlError } from "@effect/sql/SqlError"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Effect, Option, ParseResult } from "effect"
import { Schema } from "effect"
import type { EmbeddingSpace } from "../../Errors.js"
import { MemoryId } from "../../Ids.js"
import type { Memory } from "../../Memory.js"
import type { FactKey } from "../../MemoryBackend/Driver.js"
import type { DriverFilter } from "../memoryRules.js"
import type { TextCandidate, VectorCandidate } from "../ranking.js"
import type { RankedPage, ScoreOptions } from "../rankingTopK.js"
import { decodeRows } from "../sql.js"
import type { RowsDecoder } from "../sql.js"
import type { State } from "./state.js"

/** A failure of the connection or of decoding a row. */
export type SqlFailure = SqlError | ParseResult.ParseError

/** How the memories table's key reads back: an integer pk (SQLite) or the id itself (PostgreSQL). */
export type KeySchema<K> = Schema.Schema<K, number> | Schema.Schema<K, string>

/** How a dialect's memories are keyed, with the decoders of the rows that carry keys (built once per store). */
export interface KeyColumns<K> {
  /** The memories table's key column. */
  readonly column: string
  /** The column of tags and events that holds a memory's key. */
  readonly ref: string
  /** The column of a vector generation that holds a memory's key. */
  readonly vector: string
  readonly Key: KeySchema<K>
  readonly decodeKeys: RowsDecoder<{ readonly key: K }>
  readonly decodePending: RowsDecoder<{ readonly key: K; readonly id: MemoryId; readonly content: string }>
  readonly decodeLastSeqs: RowsDecoder<{ readonly owner: K; readonly seq: number }>
}

export const keyColumns = <K>(column: string, ref: string, vector: string, Key: KeySchema<K>): KeyColumns<K> => ({
  column,
  ref,
  vector,
  Key,
  decodeKeys: decodeRows(Schema.Struct({ key: Key })),
  decodePending: decodeRows(Schema.Struct({ key: Key, id: MemoryId, content: Schema.String })),
  decodeLastSeqs: decodeRows(Schema.Struct({ owner: Key, seq: Schema.Number }))
})

/** The tables every dialect has. */
export interface Tables {
  readonly memories: string
  readonly tags: string
  readonly events: string
  readonly meta: string
  readonly vectors: (generation: number) => string
}

/**
 * One SQL engine's part of the memory driver. `K` is the key other tables use to point at a memory. Every hook runs
 * inside the transaction the shared code opened (the begin statement is `writeBegin`).
 */
export interface Dialect<K> {
  /** Names the backend in spans. */
  readonly backend: string
  readonly sql: SqlClient.SqlClient
  readonly t: Tables
  /** The embedding space of the store's Embedder. */
  readonly current: EmbeddingSpace
  /** Rows per multi-row statement, well under the engine's bound-parameter limit. */
  readonly chunk: number
  /** How a write transaction begins (SQLite takes its write lock up front; PostgreSQL locks rows). */
  readonly writeBegin: string
  /**
   * How a read of several statements begins so that they all see one state: SQLite's deferred transaction reads one
   * snapshot; PostgreSQL's default (read committed) gives each statement its own, so it asks for repeatable read.
   */
  readonly readBegin: string
  readonly key: KeyColumns<K>
  /** The memories over alias `m` that meet `where`, then `tail` (order, limit, locks), with their keys. */
  readonly selectRows: (where: Fragment, tail: Fragment) => Effect.Effect<ReadonlyArray<readonly [K, Memory]>, SqlFailure>
  /** A memory's written columns under key `key`. */
  readonly columns: (key: K, m: Memory) => Record<string, unknown>
  /** Keys for memories about to be inserted, taken before any expired holder of their ids is removed. */
  readonly newKeys: (memories: ReadonlyArray<Memory>) => Effect.Effect<ReadonlyArray<K>, SqlFailure>
  /** Whether an insert failed because another writer committed the same id meanwhile. */
  readonly isUniqueViolation: (e: SqlError) => boolean
  /** `m` is not superseded. */
  readonly notSuperseded: Fragment
  /** Appended to a read whose rows the transaction will write (`FOR UPDATE`), or nothing. */
  readonly forUpdate: Fragment
  /** Taken before vector writes: no generation is swapped or dropped under them. */
  readonly shareGenerations: Effect.Effect<void, SqlError>
  /** Taken before a reindex starts or swaps generations. */
  readonly lockGenerations: Effect.Effect<void, SqlError>
  /** Serializes storeFacts of one key. */
  readonly lockFact: (key: FactKey) => Effect.Effect<void, SqlError>
  /** Text index entries, for an engine whose index is not generated from the row. */
  readonly writeText: (items: ReadonlyArray<readonly [K, string]>) => Effect.Effect<void, SqlFailure>
  readonly deleteText: (keys: ReadonlyArray<K>) => Effect.Effect<void, SqlFailure>
  /** Returns space freed by deletes to the file system where the engine does so only on request; outside a transaction. */
  readonly reclaim: Effect.Effect<void, SqlFailure>
  readonly createGeneration: (generation: number) => Effect.Effect<void, SqlError>
  readonly dropGeneration: (generation: number) => Effect.Effect<void, SqlError>
  /** Writes each item's vector into every generation given. */
  readonly writeVectors: (
    generations: ReadonlyArray<number>,
    items: ReadonlyArray<readonly [K, Float32Array]>
  ) => Effect.Effect<void, SqlError>
  /** Removes the keys' vectors from the live generation and from a reindex target. */
  readonly deleteVectors: (state: State, keys: ReadonlyArray<K>) => Effect.Effect<void, SqlError>
  /** The filter as a condition over alias `m`. */
  readonly whereOf: (filter: DriverFilter) => Fragment
  /** Reads the state and the generation it names at one instant (runs `read` again if a swap came between). */
  readonly snapshot: <A, E>(read: Effect.Effect<A, E>) => Effect.Effect<A, E | SqlError>
  /**
   * Runs a read of a generation known from an earlier state read; no swap may drop it while the read runs (a read
   * of a generation already dropped fails with an SqlError).
   */
  readonly readKnown: <A, E>(read: Effect.Effect<A, E>) => Effect.Effect<A, E | SqlError>
  /** The `depth` nearest memories of generation `generation` that pass the filter, in the ranking's order. */
  readonly vectorCandidates: (
    filter: DriverFilter,
    query: Float32Array,
    depth: number,
    generation: number
  ) => Effect.Effect<ReadonlyArray<VectorCandidate>, SqlFailure>
  /**
   * Optional: the filtered set ranked whole in one statement by `rankingTopK.hitScore` (the vector ranking of the
   * query over its generation's vectors, and the text ranking when `terms` is not empty); `None` when the set is
   * too large or the engine cannot run it here.
   */
  readonly rankedSearch?: (
    filter: DriverFilter,
    vector: { readonly query: Float32Array; readonly generation: number },
    terms: ReadonlyArray<string>,
    options: ScoreOptions
  ) => Effect.Effect<Option.Option<RankedPage>, SqlFailure>
  /** The `depth` best text matches of `terms` that pass the filter, in the ranking's order. */
  readonly textCandidates: (
    filter: DriverFilter,
    terms: ReadonlyArray<string>,
    depth: number
  ) => Effect.Effect<ReadonlyArray<TextCandidate>, SqlFailure>
}
