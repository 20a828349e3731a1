/**
 * The SQLite memory store's tables, migrations and row codecs. Table names hang off a configurable prefix; every
 * row read is decoded by a schema here, and every row written is made by the matching `*Columns` function.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { MemoryId } from "../../Ids.js"
import { Citation, ConfidenceSource, MemoryMetadata } from "../../Memory.js"
import type { Memory } from "../../Memory.js"
import { memoryColumns as columnsOf, memoryOfRow, sharedMemoryFields } from "../memoryRow.js"
import { bitemporalDdl } from "../memoryTimeRow.js"
import type { CandidateHead } from "../ranking.js"
import { CODE_BITS } from "../simhash.js"

/** The store's table names for one prefix. */
export const tableNames = (prefix: string) => ({
  memories: `${prefix}_memories`,
  tags: `${prefix}_memory_tags`,
  fts: `${prefix}_memory_fts`,
  meta: `${prefix}_memory_meta`,
  vocabulary: `${prefix}_memory_vocabulary`,
  events: `${prefix}_memory_events`,
  migrations: `${prefix}_memory_migrations`,
  vectors: (generation: number) => `${prefix}_memory_vectors_${generation}`,
  codes: (generation: number) => `${prefix}_memory_codes_${generation}`
})
export type TableNames = ReturnType<typeof tableNames>

/** A prefix is spliced into identifiers: only SQL identifier characters may reach them. */
export const isPrefix = (prefix: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)

/**
 * Partitions of the bit index (by pk). vec0's top-k selection costs O(k x n), so asking each of 64 partitions for its
 * top 8 gathers 512 candidates for a quarter of the cost of one top-512 (or of 16 partitions x 32), at equal recall.
 * Stored data depends on it: changing it needs a reindex.
 */
export const PARTITIONS = 64

/** The migrations, in order; DDL shapes are generated from the prefix, so they are the only unsafe statements here. */
export const migrations = (sql: SqlClient.SqlClient, t: TableNames) => {
  // DDL cannot bind identifiers as parameters; the names come from a validated prefix.
  const ddl = (statements: ReadonlyArray<string>) => Effect.forEach(statements, (s) => sql.unsafe(s), { discard: true })
  const q = (name: string) => `"${name}"`
  return {
    "0001_create_memories": ddl([
      `CREATE TABLE ${q(t.memories)} (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        content_type TEXT NOT NULL,
        content TEXT NOT NULL,
        session_id TEXT,
        workstream_id TEXT,
        metadata TEXT NOT NULL,
        subject TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.subject')) VIRTUAL,
        predicate TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.predicate')) VIRTUAL,
        source TEXT NOT NULL,
        reinforcement_count INTEGER NOT NULL,
        superseded INTEGER NOT NULL,
        superseded_by TEXT,
        last_accessed INTEGER NOT NULL,
        citation TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        accessed_at INTEGER NOT NULL,
        access_count INTEGER NOT NULL
      )`,
      `CREATE INDEX ${q(`${t.memories}_created`)} ON ${q(t.memories)} (created_at, id)`,
      `CREATE INDEX ${q(`${t.memories}_session`)} ON ${q(t.memories)} (session_id, created_at)`,
      `CREATE INDEX ${q(`${t.memories}_workstream`)} ON ${q(t.memories)} (workstream_id, created_at)`,
      `CREATE INDEX ${q(`${t.memories}_type`)} ON ${q(t.memories)} (content_type, created_at)`,
      // Partial: only superseded rows are indexed, so the common write pays nothing for it.
      `CREATE INDEX ${q(`${t.memories}_superseded`)} ON ${q(t.memories)} (created_at) WHERE superseded = 1`,
      `CREATE INDEX ${q(`${t.memories}_fact`)} ON ${q(t.memories)} (subject, predicate) WHERE subject IS NOT NULL`,
      `CREATE TABLE ${q(t.tags)} (tag TEXT NOT NULL, memory_pk INTEGER NOT NULL, PRIMARY KEY (tag, memory_pk)) WITHOUT ROWID`,
      `CREATE INDEX ${q(`${t.tags}_memory`)} ON ${q(t.tags)} (memory_pk)`,
      `CREATE VIRTUAL TABLE ${q(t.fts)} USING fts5(content, content='', contentless_delete=1, tokenize='porter unicode61')`,
      `CREATE TABLE ${q(t.meta)} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
    ]),
    "0002_create_vocabulary": ddl([`CREATE VIRTUAL TABLE ${q(t.vocabulary)} USING fts5vocab(${q(t.fts)}, 'row')`]),
    "0003_namespaces_expiry_history": ddl([
      `ALTER TABLE ${q(t.memories)} ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default'`,
      `ALTER TABLE ${q(t.memories)} ADD COLUMN expires_at INTEGER`,
      `ALTER TABLE ${q(t.memories)} ADD COLUMN ttl_millis INTEGER`,
      `CREATE INDEX ${q(`${t.memories}_namespace`)} ON ${q(t.memories)} (namespace, created_at)`,
      // Facts are looked up within a namespace.
      `DROP INDEX ${q(`${t.memories}_fact`)}`,
      `CREATE INDEX ${q(`${t.memories}_fact`)} ON ${q(t.memories)} (namespace, subject, predicate) WHERE subject IS NOT NULL`,
      // Partial: only expiring memories are indexed, for sweep.
      `CREATE INDEX ${q(`${t.memories}_expires`)} ON ${q(t.memories)} (expires_at) WHERE expires_at IS NOT NULL`,
      `CREATE TABLE ${q(t.events)} (memory_pk INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
        PRIMARY KEY (memory_pk, seq)) WITHOUT ROWID`
    ]),
    // Numbered apart from the other migrations so that stores migrated on either line meet without a clash.
    "0009_langgraph_keys_embed": ddl([
      // The caller's key of a memory written by `put` (its id is derived from namespace and key, so it is unique).
      `ALTER TABLE ${q(t.memories)} ADD COLUMN item_key TEXT`,
      // 0: stored with `embed: false`, never given a vector (reindex skips it).
      `ALTER TABLE ${q(t.memories)} ADD COLUMN embed INTEGER NOT NULL DEFAULT 1`
    ]),
    "0010_bitemporal_times": ddl(bitemporalDdl(q(t.memories), "INTEGER", "superseded = 1"))
  }
}

/** DDL of one vector generation: exact float32 blobs, and the vec0 bit index of their SimHash codes. */
export const generationDdl = (t: TableNames, generation: number): ReadonlyArray<string> => [
  `CREATE TABLE IF NOT EXISTS "${t.vectors(generation)}" (pk INTEGER PRIMARY KEY, vector BLOB NOT NULL)`,
  `CREATE VIRTUAL TABLE IF NOT EXISTS "${t.codes(generation)}" USING vec0(part INTEGER PARTITION KEY, code bit[${CODE_BITS}])`
]

// --- the memories table ------------------------------------------------------------------------------------------

const memoryFields = {
  pk: Schema.Number,
  ...sharedMemoryFields,
  metadata: Schema.parseJson(MemoryMetadata),
  superseded: Schema.Literal(0, 1),
  citation: Schema.NullOr(Schema.parseJson(Citation))
}

/** A row of the memories table as read. */
export const MemoryRow = Schema.Struct(memoryFields)
export type MemoryRow = typeof MemoryRow.Type

/** The row's Memory (the shared mapping reads SQLite's 0/1 boolean as it is). */
export const rowToMemory = (r: MemoryRow): Memory => memoryOfRow(r)

/** A memory's written columns under its key (SQLite keeps booleans as 0/1). */
export const memoryColumns = (pk: bigint, m: Memory) => ({ pk, ...columnsOf(m, (b) => (b ? 1 : 0)) })

// --- candidate heads -----------------------------------------------------------------------------------------------

/** The columns a candidate carries, selected over alias `m`. */
export const HEAD_SELECT = "m.id, m.created_at, m.source, m.reinforcement_count, m.superseded, m.last_accessed"

const headFields = {
  id: MemoryId,
  created_at: Schema.Number,
  source: ConfidenceSource,
  reinforcement_count: Schema.NonNegativeInt,
  superseded: Schema.Literal(0, 1),
  last_accessed: Schema.Number
}
export const VectorHeadRow = Schema.Struct({ ...headFields, distance: Schema.Number })
/** A memory of a filtered set ranked whole: its places in the rankings (NULL: not in it), and the set's best BM25. */
export const RankedRow = Schema.Struct({
  ...headFields,
  vector_distance: Schema.NullOr(Schema.Number),
  vector_place: Schema.NullOr(Schema.Number),
  text_score: Schema.NullOr(Schema.Number),
  text_place: Schema.NullOr(Schema.Number),
  best_text: Schema.Number
})
export const TextHeadRow = Schema.Struct({ ...headFields, text_rank: Schema.Number })

export const headOfRow = (r: Schema.Schema.Type<Schema.Struct<typeof headFields>>): CandidateHead => ({
  id: r.id,
  createdAtMillis: r.created_at,
  source: r.source,
  reinforcementCount: r.reinforcement_count,
  superseded: r.superseded === 1,
  lastAccessedMillis: r.last_accessed
})

// --- small rows ---------------------------------------------------------------------------------------------------

export const CountRow = Schema.Struct({ n: Schema.Number })
