/**
 * The PostgreSQL workstream store's tables, migrations and row codecs. Every name lives in one schema and hangs off
 * a prefix; timestamps are epoch milliseconds in `double precision` (exact for whole milliseconds) so that Effect's
 * Clock, never the server's, decides them. Workstream ids use the "C" collation: list order and keyset pages compare
 * them code unit by code unit, as the kernel does.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { DateTime, Effect, Schema } from "effect"
import { isStorableText } from "../../Json.js"
import { MessageId, SessionId, WorkstreamId } from "../../Ids.js"
import { Message, MessageMetadata, MessageRole, Workstream, WorkstreamState } from "../../Workstream.js"
import { metadataColumns, workstreamOfRow } from "../workstreamRow.js"
export { metadataColumns } from "../workstreamRow.js"

/** The store's qualified table names for one schema and prefix (each part validated as an identifier). */
export const tableNames = (schema: string, prefix: string) => {
  const q = (name: string) => `${schema}.${prefix}_${name}`
  return {
    schema,
    workstreams: q("workstreams"),
    tags: q("workstream_tags"),
    messages: q("workstream_messages"),
    migrations: q("workstream_migrations"),
    summaries: q("workstream_summaries"),
    /** Index names are unqualified: PostgreSQL puts an index in its table's schema. */
    index: (name: string) => `${prefix}_${name}`
  }
}
export type TableNames = ReturnType<typeof tableNames>

/** What the store's modules share: the pool and the table names. */
export interface Store {
  readonly sql: SqlClient.SqlClient
  readonly t: TableNames
}

export const migrations = (sql: SqlClient.SqlClient, t: TableNames) => ({
  "0001_create_workstreams": Effect.all([
    sql`CREATE TABLE ${sql(t.workstreams)} (
      id text COLLATE "C" PRIMARY KEY,
      title text NOT NULL,
      summary text,
      state text NOT NULL,
      is_scratch boolean NOT NULL,
      default_model text,
      created_at double precision NOT NULL,
      updated_at double precision NOT NULL,
      message_count integer NOT NULL,
      last_message_at double precision,
      version integer NOT NULL
    )`,
    sql`CREATE INDEX ${sql(t.index("workstreams_recency"))} ON ${sql(t.workstreams)} (updated_at DESC, id)`,
    sql`CREATE TABLE ${sql(t.tags)} (
      workstream text COLLATE "C" NOT NULL REFERENCES ${sql(t.workstreams)} (id) ON DELETE CASCADE,
      tag text NOT NULL,
      PRIMARY KEY (workstream, tag)
    )`,
    sql`CREATE INDEX ${sql(t.index("workstream_tags_tag"))} ON ${sql(t.tags)} (tag, workstream)`,
    // `content` is the text itself whenever PostgreSQL can hold it; otherwise (NUL, lone surrogates) it is a
    // searchable approximation and `content_utf16` the exact UTF-16 code units (see `contentColumns`).
    sql`CREATE TABLE ${sql(t.messages)} (
      workstream text COLLATE "C" NOT NULL REFERENCES ${sql(t.workstreams)} (id) ON DELETE CASCADE,
      seq integer NOT NULL,
      id text NOT NULL,
      session_id text,
      role text NOT NULL,
      content text NOT NULL,
      content_utf16 bytea,
      timestamp double precision NOT NULL,
      metadata json,
      PRIMARY KEY (workstream, seq),
      UNIQUE (workstream, id)
    )`,
    sql`CREATE INDEX ${sql(t.index("workstream_messages_session"))} ON ${sql(t.messages)} (workstream, session_id, seq)
      WHERE session_id IS NOT NULL`
  ], { discard: true }),
  // Lineage for `fork` and `list({ forkedFrom })`; the text index for `searchMessages`. The tsvector reads the first
  // TEXT_INDEXED characters of `content` only: a tsvector holds at most 1 MiB, which a 16 MiB message of distinct
  // words would exceed, failing its insert; that prefix stays below it whatever the text (at most ~6 bytes a
  // character). `content` is the searchable copy for text PostgreSQL cannot hold exactly (see `contentColumns`).
  "0002_fork_and_search": Effect.all([
    sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN forked_from_id text COLLATE "C", ADD COLUMN forked_from_seq integer`,
    sql`CREATE INDEX ${sql(t.index("workstreams_forked_from"))} ON ${sql(t.workstreams)} (forked_from_id, updated_at DESC, id)
      WHERE forked_from_id IS NOT NULL`,
    sql`ALTER TABLE ${sql(t.messages)} ADD COLUMN tsv tsvector
      GENERATED ALWAYS AS (to_tsvector('english', left(content, ${sql.literal(String(TEXT_INDEXED))}))) STORED`,
    sql`CREATE INDEX ${sql(t.index("workstream_messages_text"))} ON ${sql(t.messages)} USING gin (tsv)`
  ], { discard: true }),
  // Branches: a fork that shares its source's messages 1..forked_from_seq instead of holding copies. Forks made
  // before are copies.
  "0003_tree_lineage": sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN forked_shared boolean NOT NULL DEFAULT false`,
  // Compaction overlays: a summary over seqs from_seq..to_seq of its workstream's path; ids are unique per workstream.
  "0004_summaries": sql`CREATE TABLE ${sql(t.summaries)} (
    workstream text COLLATE "C" NOT NULL REFERENCES ${sql(t.workstreams)} (id) ON DELETE CASCADE,
    id text NOT NULL,
    from_seq integer NOT NULL,
    to_seq integer NOT NULL,
    content text NOT NULL,
    metadata json,
    created_at double precision NOT NULL,
    PRIMARY KEY (workstream, id)
  )`
})

/** How many leading characters of a message the text index reads (see migration 0002). */
export const TEXT_INDEXED = 100_000

// --- workstreams ------------------------------------------------------------------------------------------------

/** The columns of `WorkstreamRow` over alias `w`, its tags included. */
export const workstreamSelect = (sql: SqlClient.SqlClient, t: TableNames) =>
  sql`w.id, w.title, w.summary, w.state, w.is_scratch, w.default_model, w.created_at, w.updated_at, w.message_count,
    w.last_message_at, w.version, w.forked_from_id, w.forked_from_seq, w.forked_shared, ARRAY(SELECT g.tag FROM ${sql(t.tags)} g WHERE g.workstream = w.id) AS tags`

export const WorkstreamRow = Schema.Struct({
  id: WorkstreamId,
  title: Schema.String,
  summary: Schema.NullOr(Schema.String),
  state: WorkstreamState,
  is_scratch: Schema.Boolean,
  default_model: Schema.NullOr(Schema.String),
  created_at: Schema.Number,
  updated_at: Schema.Number,
  message_count: Schema.NonNegativeInt,
  last_message_at: Schema.NullOr(Schema.Number),
  version: Schema.NonNegativeInt,
  forked_from_id: Schema.NullOr(WorkstreamId),
  forked_from_seq: Schema.NullOr(Schema.NonNegativeInt),
  forked_shared: Schema.Boolean,
  tags: Schema.Array(Schema.String)
})

export const rowToWorkstream = (row: typeof WorkstreamRow.Type): Workstream => workstreamOfRow(row)

/** Every column of a record (tags aside). */
export const workstreamColumns = (ws: Workstream) => ({
  id: ws.id,
  is_scratch: ws.isScratch,
  created_at: ws.createdAt.epochMillis,
  message_count: ws.messageCount,
  last_message_at: ws.lastMessageAt?.epochMillis ?? null,
  forked_from_id: ws.forkedFrom?.workstreamId ?? null,
  forked_from_seq: ws.forkedFrom?.seq ?? null,
  forked_shared: ws.forkedFrom?.shared === true,
  ...metadataColumns(ws)
})

export const CounterRow = Schema.Struct({ message_count: Schema.NonNegativeInt, last_message_at: Schema.NullOr(Schema.Number) })
export const IdRow = Schema.Struct({ id: Schema.String })

// --- messages ---------------------------------------------------------------------------------------------------

/** NUL and lone surrogates: what a PostgreSQL text value cannot hold exactly. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/**
 * A content's two columns. Text PostgreSQL can hold (nearly every message) is stored as itself, readable and
 * searchable by SQL; other text keeps its exact UTF-16 code units in `content_utf16`, which Node encodes and decodes
 * without loss, beside a searchable copy with U+FFFD in place of what text cannot hold.
 */
export const contentColumns = (content: string) =>
  isStorableText(content)
    ? { content, content_utf16: null }
    : { content: content.replace(UNSTORABLE, "\uFFFD"), content_utf16: Buffer.from(content, "utf16le") }

const contentOf = (content: string, utf16: Uint8Array | null): string =>
  utf16 === null ? content : Buffer.from(utf16.buffer, utf16.byteOffset, utf16.byteLength).toString("utf16le")

/** A batch as the column arrays an `unnest` reads (`ord` is 1-based): one statement whatever the batch's size. */
export const appendColumns = (messages: ReadonlyArray<Message>) => {
  const ord: Array<number> = []
  const id: Array<string> = []
  const session_id: Array<string | null> = []
  const role: Array<string> = []
  const content: Array<string> = []
  const content_utf16: Array<Buffer | null> = []
  const timestamp: Array<number> = []
  const metadata: Array<string | null> = []
  for (const [i, m] of messages.entries()) {
    const columns = contentColumns(m.content)
    ord.push(i + 1)
    id.push(m.id)
    session_id.push(m.sessionId ?? null)
    role.push(m.role)
    content.push(columns.content)
    content_utf16.push(columns.content_utf16)
    timestamp.push(m.timestamp.epochMillis)
    metadata.push(m.metadata === undefined ? null : JSON.stringify(m.metadata))
  }
  return { ord, id, session_id, role, content, content_utf16, timestamp, metadata }
}

/** The message columns over alias `m`. */
export const MESSAGE_SELECT = "m.seq, m.id, m.session_id, m.role, m.content, m.content_utf16, m.timestamp, m.metadata"

/**
 * One row of a load: the workstream's id, and one of its messages or (a workstream with no match) nulls, as a LEFT
 * JOIN returns them.
 */
export const LoadRow = Schema.Struct({
  found: WorkstreamId,
  seq: Schema.NullOr(Schema.Int),
  id: Schema.NullOr(MessageId),
  session_id: Schema.NullOr(SessionId),
  role: Schema.NullOr(MessageRole),
  content: Schema.NullOr(Schema.String),
  content_utf16: Schema.NullOr(Schema.Uint8ArrayFromSelf),
  timestamp: Schema.NullOr(Schema.Number),
  metadata: Schema.NullOr(MessageMetadata)
})

/** A load row with the workstream's fork point, so a branch's read knows where its earlier messages live. */
export const PathLoadRow = Schema.Struct({
  ...LoadRow.fields,
  forked_from_id: Schema.NullOr(WorkstreamId),
  forked_from_seq: Schema.NullOr(Schema.NonNegativeInt),
  forked_shared: Schema.Boolean
})

/** One hit of a search: its message (never null: an inner join) as a load row, and its BM25 score. */
export const SearchRow = Schema.Struct({ ...LoadRow.fields, score: Schema.Number })

/** The message of a load row, or undefined for the row of a workstream without a match. */
export const rowToMessage = (wsId: WorkstreamId, r: typeof LoadRow.Type): Message | undefined =>
  r.seq === null || r.id === null || r.role === null || r.content === null || r.timestamp === null
    ? undefined
    // Decoded by LoadRow already.
    : new Message(
      {
        id: r.id,
        workstreamId: wsId,
        seq: r.seq,
        role: r.role,
        content: contentOf(r.content, r.content_utf16),
        timestamp: DateTime.unsafeMake(r.timestamp),
        ...(r.session_id !== null ? { sessionId: r.session_id } : {}),
        ...(r.metadata !== null ? { metadata: r.metadata } : {})
      },
      true
    )
