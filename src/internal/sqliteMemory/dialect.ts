/**
 * SQLite's part of the SQL memory driver: integer pks that tags, events, the FTS5 index and the vector tables point
 * at, 0/1 booleans, one `BEGIN IMMEDIATE` write lock instead of row locks, vectors as float blobs plus a vec0 bit
 * index, and search candidates on reader threads when the store has them.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import type { DriverFilter } from "../memoryRules.js"
import type { Dialect } from "../sqlMemory/dialect.js"
import { keyColumns } from "../sqlMemory/dialect.js"
import { transaction } from "../sql.js"
import { whereOf } from "./filter.js"
import { memoryRowsDecoder } from "./rows.js"
import { memoryColumns } from "./schema.js"
import { deleteText, storeSize, textCandidates, writeText } from "./text.js"
import { rankedSearch } from "./rankedSearch.js"
import { vectorCandidates } from "./vectorSearch.js"
import type { Store } from "./vectors.js"
import { createGeneration, deleteVectors, dropGeneration, INSERT_CHUNK, reclaim, writeVectors } from "./vectors.js"

/** Recently read rows whose decoding a store keeps (about a kilobyte each). */
const DECODED_ROWS = 1024

export const sqliteDialect = (s: Store, exactScanLimit: number): Dialect<bigint> => {
  const { sql } = s
  const none = Effect.void
  const memoryRows = memoryRowsDecoder(DECODED_ROWS)
  // The filters (one object per search) whose sets were found too large to scan exactly, so that the search's
  // later reads do not count them again.
  const tooLarge = new WeakSet<DriverFilter>()
  return {
    backend: "sqlite",
    sql,
    t: s.t,
    current: s.current,
    chunk: INSERT_CHUNK,
    // The write lock is taken before the first read, so a writer never holds a stale snapshot SQLite must refuse.
    writeBegin: "BEGIN IMMEDIATE",
    readBegin: "BEGIN",
    key: keyColumns("pk", "memory_pk", "pk", Schema.BigIntFromNumber),
    selectRows: (where, tail) => s.reads.all(memoryRows, sql`SELECT m.* FROM ${sql(s.t.memories)} m WHERE ${where} ${tail}`),
    columns: memoryColumns,
    newKeys: (memories) => Effect.map(storeSize(s), (size) => memories.map((_, i) => BigInt(size + 1 + i))),
    // BEGIN IMMEDIATE serializes writers: no other one can commit an id between the look and the insert.
    isUniqueViolation: () => false,
    notSuperseded: sql`m.superseded = 0`,
    forUpdate: sql``,
    shareGenerations: none,
    lockGenerations: none,
    lockFact: () => none,
    writeText: (items) => writeText(s, items),
    deleteText: (pks) => Effect.forEach(pks, (pk) => deleteText(s, pk), { discard: true }),
    reclaim: reclaim(s),
    createGeneration: (g) => createGeneration(s, g),
    dropGeneration: (g) => dropGeneration(s, g),
    writeVectors: (generations, items) => writeVectors(s, generations, items.map(([pk, v]) => [pk, v, s.code(v)] as const)),
    deleteVectors: (state, pks) => deleteVectors(s, state, pks),
    whereOf: (filter) => whereOf(sql, s.t, filter),
    // On one connection a snapshot sees the state row and the generation tables it names at one instant. Reads
    // elsewhere see them separately: a reindex that swapped generations in between fails the query, which then
    // reads the new state and runs again.
    snapshot: (read) =>
      !s.reads.separate
        ? transaction(sql, "BEGIN")(read)
        : Effect.catchIf(read, (e) => e instanceof SqlError, () => read),
    // A single statement reads one snapshot; a swap between two statements drops the tables the second one reads.
    readKnown: (read) => read,
    rankedSearch: (filter, vector, terms, options) => rankedSearch(s, filter, vector, terms, options, exactScanLimit, memoryRows, tooLarge),
    vectorCandidates: (filter, query, depth, generation) => vectorCandidates(s, filter, query, depth, generation, exactScanLimit, tooLarge),
    textCandidates: (filter, terms, depth) => textCandidates(s, filter, terms, depth)
  }
}
