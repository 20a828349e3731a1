/**
 * The PostgreSQL memory store's tables, migrations and row codecs. Every name lives in one schema and hangs off a
 * prefix; timestamps are epoch milliseconds in `double precision` (exact for whole milliseconds) so that Effect's
 * Clock, never the server's, decides them.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { MemoryId } from "../../Ids.js"
import { Citation, ConfidenceSource, MemoryMetadata } from "../../Memory.js"
import type { Memory } from "../../Memory.js"
import { memoryColumns as columnsOf, memoryOfRow, sharedMemoryFields } from "../memoryRow.js"
import { bitemporalDdl } from "../memoryTimeRow.js"
import type { CandidateHead } from "../ranking.js"

/** The store's qualified table names for one schema and prefix (each part validated as an identifier). */
export const tableNames = (schema: string, prefix: string) => {
  const q = (name: string) => `${schema}.${prefix}_${name}`
  return {
    schema,
    memories: q("memories"),
    tags: q("memory_tags"),
    meta: q("memory_meta"),
    events: q("memory_events"),
    migrations: q("memory_migrations"),
    vectors: (generation: number) => q(`memory_vectors_${generation}`),
    /** Index names are unqualified: PostgreSQL puts an index in its table's schema. */
    index: (name: string) => `${prefix}_${name}`,
    /** The advisory lock that generation changes take exclusively and vector writes share. */
    generationLock: `${schema}.${prefix}:generations`
  }
}
export type TableNames = ReturnType<typeof tableNames>

export { isIdentifier } from "../sql.js"

export const migrations = (sql: SqlClient.SqlClient, t: TableNames) => ({
  "0001_create_memories": Effect.all([
    sql`CREATE TABLE ${sql(t.memories)} (
      id text PRIMARY KEY,
      namespace text NOT NULL,
      content_type text NOT NULL,
      content text NOT NULL,
      session_id text,
      workstream_id text,
      metadata jsonb NOT NULL,
      subject text GENERATED ALWAYS AS (metadata ->> 'subject') STORED,
      predicate text GENERATED ALWAYS AS (metadata ->> 'predicate') STORED,
      source text NOT NULL,
      reinforcement_count integer NOT NULL,
      superseded boolean NOT NULL,
      superseded_by text,
      last_accessed double precision NOT NULL,
      citation jsonb,
      created_at double precision NOT NULL,
      updated_at double precision NOT NULL,
      accessed_at double precision NOT NULL,
      access_count integer NOT NULL,
      expires_at double precision,
      ttl_millis double precision,
      tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
    )`,
    sql`CREATE INDEX ${sql(t.index("memories_namespace"))} ON ${sql(t.memories)} (namespace, created_at, id)`,
    sql`CREATE INDEX ${sql(t.index("memories_created"))} ON ${sql(t.memories)} (created_at, id)`,
    sql`CREATE INDEX ${sql(t.index("memories_session"))} ON ${sql(t.memories)} (session_id, created_at)`,
    sql`CREATE INDEX ${sql(t.index("memories_workstream"))} ON ${sql(t.memories)} (workstream_id, created_at)`,
    sql`CREATE INDEX ${sql(t.index("memories_fact"))} ON ${sql(t.memories)} (namespace, subject, predicate)
      WHERE subject IS NOT NULL`,
    sql`CREATE INDEX ${sql(t.index("memories_expires"))} ON ${sql(t.memories)} (expires_at) WHERE expires_at IS NOT NULL`,
    sql`CREATE INDEX ${sql(t.index("memories_text"))} ON ${sql(t.memories)} USING gin (tsv)`,
    sql`CREATE TABLE ${sql(t.tags)} (tag text NOT NULL, memory_id text NOT NULL, PRIMARY KEY (tag, memory_id))`,
    sql`CREATE INDEX ${sql(t.index("memory_tags_memory"))} ON ${sql(t.tags)} (memory_id)`,
    sql`CREATE TABLE ${sql(t.events)} (memory_id text NOT NULL, seq integer NOT NULL, event jsonb NOT NULL,
      PRIMARY KEY (memory_id, seq))`,
    sql`CREATE TABLE ${sql(t.meta)} (key text PRIMARY KEY, value text NOT NULL)`
  ], { discard: true }),
  // The caller's key of a memory written by `put`, and 0 for one stored with `embed: false` (no vector).
  "0009_langgraph_keys_embed": Effect.all([
    sql`ALTER TABLE ${sql(t.memories)} ADD COLUMN item_key text, ADD COLUMN embed integer NOT NULL DEFAULT 1`,
    // Subtree reads compare namespaces byte by byte (see sqlMemory/filter.ts), which this index answers.
    sql`CREATE INDEX ${sql(t.index("memories_namespace_bytes"))} ON ${sql(t.memories)} (namespace COLLATE "C", created_at, id)`
  ], { discard: true }),
  // The table name is built from validated identifiers; DDL cannot bind it.
  "0010_bitemporal_times": Effect.forEach(
    bitemporalDdl(t.memories.split(".").map((p) => `"${p}"`).join("."), "double precision", "superseded"),
    (s) => sql.unsafe(s),
    { discard: true }
  )
})

/** DDL of one vector generation: pgvector's `vector(dims)` with an HNSW index for cosine distance. */
export const createGeneration = (sql: SqlClient.SqlClient, t: TableNames, generation: number, dimensions: number) =>
  Effect.zipRight(
    // The column's dimension is part of its type; it is an integer this module computed, never input.
    sql`CREATE TABLE IF NOT EXISTS ${sql(t.vectors(generation))} (
      memory_id text PRIMARY KEY,
      vector vector(${sql.literal(String(Math.trunc(dimensions)))}) NOT NULL
    )`,
    sql`CREATE INDEX IF NOT EXISTS ${sql(t.index(`memory_vectors_${generation}_hnsw`))} ON ${sql(t.vectors(generation))}
      USING hnsw (vector vector_cosine_ops)`
  )

export const dropGeneration = (sql: SqlClient.SqlClient, t: TableNames, generation: number) =>
  sql`DROP TABLE IF EXISTS ${sql(t.vectors(generation))}`

const Millis = Schema.Number

const memoryFields = {
  ...sharedMemoryFields,
  metadata: MemoryMetadata,
  superseded: Schema.Boolean,
  citation: Schema.NullOr(Citation)
}

/** A memories row as read (`MEMORY_SELECT` lists its columns). */
export const MemoryRow = Schema.Struct(memoryFields)
export type MemoryRow = typeof MemoryRow.Type

/** The columns of `MemoryRow` over alias `m` (everything but the generated ones). */
export const MEMORY_SELECT = Object.keys(memoryFields).map((c) => `m.${c}`).join(", ")

export const rowToMemory = (r: MemoryRow): Memory => memoryOfRow(r)

/** A memory's written columns. */
export const memoryColumns = (m: Memory) => columnsOf(m, (b) => b)

/** What a candidate carries, over alias `m`. */
export const HEAD_COLUMNS = ["id", "created_at", "source", "reinforcement_count", "superseded", "last_accessed"]
export const HEAD_SELECT = HEAD_COLUMNS.map((c) => `m.${c}`).join(", ")

const headFields = {
  id: MemoryId,
  created_at: Millis,
  source: ConfidenceSource,
  reinforcement_count: Schema.NonNegativeInt,
  superseded: Schema.Boolean,
  last_accessed: Millis
}
export const VectorHeadRow = Schema.Struct({ ...headFields, distance: Schema.Number })
export const TextHeadRow = Schema.Struct({ ...headFields, score: Schema.Number })

export const headOfRow = (r: Schema.Schema.Type<Schema.Struct<typeof headFields>>): CandidateHead => ({
  id: r.id,
  createdAtMillis: r.created_at,
  source: r.source,
  reinforcementCount: r.reinforcement_count,
  superseded: r.superseded,
  lastAccessedMillis: r.last_accessed
})
