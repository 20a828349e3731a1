/**
 * PostgreSQL's part of the SQL memory driver: the memory id is the key every table points at, booleans and jsonb
 * are native, concurrent writers are ordered by row locks (`FOR UPDATE`), an advisory lock per fact key and a
 * shared/exclusive advisory lock on the vector generations; text is a generated tsvector (nothing to write) and
 * vectors are pgvector columns.
 */
import { Effect, Schema } from "effect"
import type { Dialect } from "../sqlMemory/dialect.js"
import { keyColumns } from "../sqlMemory/dialect.js"
import { all, decodeRows, transaction } from "../sql.js"
import { whereOf } from "./filter.js"
import { createGeneration, dropGeneration, MEMORY_SELECT, memoryColumns, MemoryRow, rowToMemory } from "./schema.js"
import { textCandidates, vectorCandidates } from "./search.js"
import type { Store } from "./state.js"
import { deleteVectors, lockGenerations, shareGenerations, writeVectors } from "./state.js"

const decodeMemoryRows = decodeRows(MemoryRow)

/** Rows per multi-row INSERT: far below PostgreSQL's 65535 bound parameters. */
const CHUNK = 500

const isUniqueViolation = (e: { readonly cause?: unknown }) =>
  typeof e.cause === "object" && e.cause !== null && "code" in e.cause && e.cause.code === "23505"

export const pgDialect = (s: Store, exactScanLimit: number): Dialect<string> => {
  const { sql } = s
  return {
    backend: "postgres",
    sql,
    t: s.t,
    current: s.current,
    chunk: CHUNK,
    writeBegin: "BEGIN",
    readBegin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    key: keyColumns("id", "memory_id", "memory_id", Schema.String),
    selectRows: (where, tail) =>
      Effect.map(
        all(decodeMemoryRows, sql`SELECT ${sql.literal(MEMORY_SELECT)} FROM ${sql(s.t.memories)} m WHERE ${where} ${tail}`),
        (rows) => rows.map((r) => [r.id, rowToMemory(r)] as const)
      ),
    columns: (_, m) => memoryColumns(m),
    newKeys: (memories) => Effect.succeed(memories.map((m) => m.id)),
    isUniqueViolation,
    notSuperseded: sql`NOT m.superseded`,
    forUpdate: sql`FOR UPDATE`,
    shareGenerations: Effect.asVoid(shareGenerations(s)),
    lockGenerations: Effect.asVoid(lockGenerations(s)),
    lockFact: (key) =>
      Effect.asVoid(sql`SELECT pg_advisory_xact_lock(hashtextextended(${
        JSON.stringify([s.t.memories, key.namespace, key.subject, key.predicate])
      }, 0))`),
    // The tsvector is a generated column: the row is the text entry.
    writeText: () => Effect.void,
    deleteText: () => Effect.void,
    // Deleted rows' space is reused by the table once (auto)vacuum has seen them; PostgreSQL has no cheaper request.
    reclaim: Effect.void,
    createGeneration: (g) => Effect.asVoid(createGeneration(sql, s.t, g, s.current.dimensions)),
    dropGeneration: (g) => Effect.asVoid(dropGeneration(sql, s.t, g)),
    writeVectors: (generations, items) => writeVectors(s, generations, items),
    deleteVectors: (state, ids) => deleteVectors(s, state, ids),
    whereOf: (filter) => whereOf(sql, s.t, filter),
    // One transaction: the state row and the generation it names are read in one snapshot of the swap lock.
    snapshot: (read) => transaction(sql, "BEGIN")(Effect.zipRight(shareGenerations(s), read)),
    // The one read of a known generation is vectorCandidates, whose first statement takes the shared lock.
    readKnown: (read) => transaction(sql, "BEGIN")(read),
    vectorCandidates: (filter, query, depth, generation) => vectorCandidates(s, filter, query, depth, generation, exactScanLimit),
    textCandidates: (filter, terms, depth) => textCandidates(s, filter, terms, depth)
  }
}
