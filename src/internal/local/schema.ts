/**
 * The local store's tables behind a configurable prefix, their migrations, and one row codec per table. Table
 * names with the default prefix (`arawn_store`) are those of every store made before the prefix existed.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { WorkstreamId } from "../../Ids.js"
import { Workstream, WorkstreamState } from "../../Workstream.js"
import { workstreamOfRow } from "../workstreamRow.js"
export { metadataColumns } from "../workstreamRow.js"

export interface Tables {
  readonly workstreams: string
  readonly tags: string
  readonly messages: string
  readonly promotions: string
  readonly deletions: string
  readonly migrations: string
  readonly recencyIndex: string
  readonly tagIndex: string
  readonly sessionIndex: string
  readonly ids: string
  readonly appendTrigger: string
  readonly text: string
  readonly forkIndex: string
  readonly retention: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Whether `prefix` can start a table name unquoted (letters, digits, underscores; no leading digit). */
export const isValidPrefix = (prefix: string): boolean => IDENTIFIER.test(prefix) && prefix.length <= 64

export const tables = (prefix: string): Tables => ({
  workstreams: `${prefix}_workstreams`,
  tags: `${prefix}_workstream_tags`,
  messages: `${prefix}_workstream_messages`,
  promotions: `${prefix}_workstream_promotions`,
  deletions: `${prefix}_workstream_deletions`,
  migrations: `${prefix}_workstream_migrations`,
  recencyIndex: `${prefix}_workstreams_recency`,
  tagIndex: `${prefix}_workstream_tags_tag`,
  sessionIndex: `${prefix}_workstream_messages_session`,
  ids: `${prefix}_workstream_message_ids`,
  appendTrigger: `${prefix}_workstream_messages_appended`,
  text: `${prefix}_workstream_message_text`,
  forkIndex: `${prefix}_workstreams_forked_from`,
  retention: `${prefix}_workstream_retention`
})

/** The migrations, in order; their keys are recorded in `<prefix>_workstream_migrations`. */
export const migrations = <E>(sql: SqlClient.SqlClient, t: Tables, writeRecordFiles: Effect.Effect<void, E>) => {
  // 0007 reads records through today's statements, which name the branch column of 0008: a store made since
  // gets the column before it, and 0008 adds it only to stores that ran 0007 before it existed.
  const sharedColumn = Effect.flatMap(
    sql`SELECT count(*) AS n FROM pragma_table_info(${t.workstreams}) WHERE name = 'forked_shared'`,
    (rows) => rows[0]?.["n"] === 0 ? Effect.asVoid(sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN forked_shared INTEGER NOT NULL DEFAULT 0`) : Effect.void
  )
  // The same for the retention column of 0010: today's statements read it too.
  const prunedColumn = Effect.flatMap(
    sql`SELECT count(*) AS n FROM pragma_table_info(${t.workstreams}) WHERE name = 'pruned_through'`,
    (rows) => rows[0]?.["n"] === 0 ? Effect.asVoid(sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN pruned_through INTEGER NOT NULL DEFAULT 0`) : Effect.void
  )
  return {
  "0001_create_workstreams": Effect.all([
    sql`CREATE TABLE ${sql(t.workstreams)} (
      key INTEGER PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      title TEXT NOT NULL,
      summary TEXT,
      is_scratch INTEGER NOT NULL DEFAULT 0,
      state TEXT NOT NULL,
      default_model TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      message_count INTEGER NOT NULL DEFAULT 0,
      last_message_at INTEGER,
      log_bytes INTEGER NOT NULL DEFAULT 0,
      log_lines INTEGER NOT NULL DEFAULT 0
    )`,
    sql`CREATE INDEX ${sql(t.recencyIndex)} ON ${sql(t.workstreams)} (updated_at DESC, id)`,
    sql`CREATE TABLE ${sql(t.tags)} (
      ws_key INTEGER NOT NULL REFERENCES ${sql(t.workstreams)}(key) ON DELETE CASCADE,
      tag TEXT NOT NULL,
      PRIMARY KEY (ws_key, tag)
    ) WITHOUT ROWID`,
    sql`CREATE INDEX ${sql(t.tagIndex)} ON ${sql(t.tags)} (tag, ws_key)`,
    sql`CREATE TABLE ${sql(t.messages)} (
      ws_key INTEGER NOT NULL,
      seq INTEGER NOT NULL,
      byte_offset INTEGER NOT NULL,
      byte_length INTEGER NOT NULL,
      timestamp_ms INTEGER NOT NULL,
      session_id TEXT,
      PRIMARY KEY (ws_key, seq)
    ) WITHOUT ROWID`,
    sql`CREATE INDEX ${sql(t.sessionIndex)} ON ${sql(t.messages)} (ws_key, session_id, seq)`,
    sql`CREATE TABLE ${sql(t.promotions)} (
      target_id TEXT PRIMARY KEY,
      source_id TEXT NOT NULL,
      state TEXT NOT NULL
    )`,
    sql`CREATE TABLE ${sql(t.deletions)} (workstream_id TEXT PRIMARY KEY)`
  ], { discard: true }),
  // An append indexes its batch in ONE statement: the batch's last row carries `appended_at`, and this trigger
  // moves the workstream's counters with it. Rows written by index rebuilds leave it NULL and set the counters
  // themselves.
  "0002_append_trigger": Effect.all([
    sql`ALTER TABLE ${sql(t.messages)} ADD COLUMN appended_at INTEGER`,
    sql`CREATE TRIGGER ${sql(t.appendTrigger)}
      AFTER INSERT ON ${sql(t.messages)}
      WHEN NEW.appended_at IS NOT NULL
      BEGIN
        UPDATE ${sql(t.workstreams)} SET
          log_lines = log_lines + NEW.seq - message_count,
          message_count = NEW.seq,
          log_bytes = NEW.byte_offset + NEW.byte_length + 1,
          last_message_at = NEW.timestamp_ms,
          updated_at = NEW.appended_at
        WHERE key = NEW.ws_key;
      END`
  ], { discard: true }),
  // Message ids enter the index, so a read can check that the line at an offset is still the message indexed
  // there, and `<prefix>_workstream_message_ids` finds a taken id. That table is filled lazily, up to
  // `ids_indexed` (a seq), by the first append that gives ids of its own: ids the store minted are fresh, so an
  // append of those alone pays for no random-order index insert. Not unique: logs written before may hold
  // duplicates and must still load. The index is cleared so every workstream is rebuilt from its log on open.
  "0003_message_ids": Effect.all([
    sql`ALTER TABLE ${sql(t.messages)} ADD COLUMN message_id TEXT`,
    sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN ids_indexed INTEGER NOT NULL DEFAULT 0`,
    sql`CREATE TABLE ${sql(t.ids)} (
      ws_key INTEGER NOT NULL,
      message_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      PRIMARY KEY (ws_key, message_id, seq)
    ) WITHOUT ROWID`,
    sql`DELETE FROM ${sql(t.messages)}`
  ], { discard: true }),
  // The compare-and-set token of `update`; records made before it start at 0.
  "0004_version": sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN version INTEGER NOT NULL DEFAULT 0`,
  // Message search: an FTS5 index keyed by workstream key and seq (see `insertIndex`), and each message's role in
  // the message index for the role filter. The FTS5 table keeps its own copy of each text: deleting from a
  // contentless one leaves the deleted rows in its document count, so bm25 would drift with every delete and an
  // index rebuilt from the logs would not rank as the one it replaced. Fork lineage is metadata beside the title,
  // untouched by index rebuilds. The index is cleared so every log is indexed again on open.
  "0005_search_and_forks": Effect.all([
    sql`ALTER TABLE ${sql(t.messages)} ADD COLUMN role TEXT`,
    sql`CREATE VIRTUAL TABLE ${sql(t.text)} USING fts5(content, tokenize='porter unicode61')`,
    sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN forked_from_id TEXT`,
    sql`ALTER TABLE ${sql(t.workstreams)} ADD COLUMN forked_from_seq INTEGER`,
    sql`CREATE INDEX ${sql(t.forkIndex)} ON ${sql(t.workstreams)} (forked_from_id) WHERE forked_from_id IS NOT NULL`,
    sql`DELETE FROM ${sql(t.messages)}`
  ], { discard: true }),
  // An append moves updatedAt forward, never back: an imported batch is dated by its messages, which may be older
  // than the workstream's own updatedAt (a copy of a store keeps the one it had).
  "0006_updated_at_forward": Effect.all([
    sql`DROP TRIGGER ${sql(t.appendTrigger)}`,
    sql`CREATE TRIGGER ${sql(t.appendTrigger)}
      AFTER INSERT ON ${sql(t.messages)}
      WHEN NEW.appended_at IS NOT NULL
      BEGIN
        UPDATE ${sql(t.workstreams)} SET
          log_lines = log_lines + NEW.seq - message_count,
          message_count = NEW.seq,
          log_bytes = NEW.byte_offset + NEW.byte_length + 1,
          last_message_at = NEW.timestamp_ms,
          updated_at = max(updated_at, NEW.appended_at)
        WHERE key = NEW.ws_key;
      END`
  ], { discard: true }),
  // Each workstream's record beside its log (`record.ts`): a store made before them gets every one, once.
  "0007_record_files": Effect.zipRight(Effect.zipRight(sharedColumn, prunedColumn), writeRecordFiles),
  // Branches: a fork that shares its source's messages 1..forked_from_seq instead of holding copies; its log holds
  // its own lines only, at seqs from forked_from_seq + 1. Forks made before are copies.
  "0008_tree_lineage": sharedColumn,
  // Retention: policies per workstream (`kind` 'workstream') or tag (`kind` 'tag'), and how many leading messages
  // prune removed from each log (its first line is then message pruned_through + 1, or a branch's base + 1).
  "0010_retention": Effect.all([
    prunedColumn,
    sql`CREATE TABLE IF NOT EXISTS ${sql(t.retention)} (
      kind TEXT NOT NULL,
      target TEXT NOT NULL,
      max_age_ms INTEGER,
      max_messages INTEGER,
      PRIMARY KEY (kind, target)
    ) WITHOUT ROWID`
  ], { discard: true })
  }
}

// --- row codecs ------------------------------------------------------------------------------------------------

/** `<prefix>_workstreams` joined with its tags (as a JSON array). */
export const WorkstreamRow = Schema.Struct({
  key: Schema.Number,
  id: WorkstreamId,
  title: Schema.String,
  summary: Schema.NullOr(Schema.String),
  state: WorkstreamState,
  is_scratch: Schema.Number,
  default_model: Schema.NullOr(Schema.String),
  tags: Schema.parseJson(Schema.Array(Schema.String)),
  created_at: Schema.Number,
  updated_at: Schema.Number,
  message_count: Schema.Number,
  last_message_at: Schema.NullOr(Schema.Number),
  version: Schema.Number,
  forked_from_id: Schema.NullOr(WorkstreamId),
  forked_from_seq: Schema.NullOr(Schema.NonNegativeInt),
  forked_shared: Schema.Number,
  pruned_through: Schema.NonNegativeInt
})

export const toWorkstream = (row: typeof WorkstreamRow.Type): Workstream =>
  workstreamOfRow({ ...row, is_scratch: row.is_scratch !== 0, forked_shared: row.forked_shared !== 0 })

/** The log counters of one workstream (`<prefix>_workstreams`), and the messages it shares when it is a branch. */
export const LogStateRow = Schema.Struct({
  key: Schema.Number,
  message_count: Schema.Number,
  log_bytes: Schema.Number,
  log_lines: Schema.Number,
  last_message_at: Schema.NullOr(Schema.Number),
  /** A branch's source (NULL otherwise): its messages 1..`base` are the source's path. */
  inherits_from: Schema.NullOr(WorkstreamId),
  /** A branch's fork point (0 otherwise). */
  fork_seq: Schema.NonNegativeInt,
  /** How many leading messages prune removed (0: none). */
  pruned_through: Schema.NonNegativeInt,
  /** How many messages of the path come before the log's first line: the larger of the two above. */
  base: Schema.NonNegativeInt
})
export type LogState = typeof LogStateRow.Type
export type LogCounters = Pick<LogState, "message_count" | "log_bytes" | "log_lines" | "last_message_at">

export const EMPTY_LOG: LogCounters = { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null }

/** One row of `<prefix>_workstream_messages` as reads need it. */
export const IndexRow = Schema.Struct({
  seq: Schema.Number,
  byte_offset: Schema.Number,
  byte_length: Schema.Number,
  message_id: Schema.NullOr(Schema.String)
})
export type IndexRow = typeof IndexRow.Type

/** One row of `<prefix>_workstream_messages` as a fork copies it. */
export const PrefixRow = Schema.Struct({
  ...IndexRow.fields,
  timestamp_ms: Schema.Number,
  session_id: Schema.NullOr(Schema.String),
  role: Schema.NullOr(Schema.String)
})
export type PrefixRow = typeof PrefixRow.Type

/** One message's index entry, as appends and rebuilds write it. */
export interface IndexEntry {
  readonly id: string
  readonly seq: number
  readonly offset: number
  readonly length: number
  readonly timestampMs: number
  readonly sessionId: string | null
  readonly role: string
  /** The text the search index holds. */
  readonly content: string
}

/**
 * `<prefix>_workstream_promotions`: a committed promotion whose target log may still be in its staging directory
 * and whose source log may not be emptied yet (`writing` rows are from stores before staging; rolled back), or a
 * committed fork (`forked`) whose log may still be in its staging directory (its source is never changed).
 */
export const PromotionRow = Schema.Struct({
  target_id: WorkstreamId,
  source_id: WorkstreamId,
  state: Schema.Literal("writing", "committed", "forked")
})

/** `<prefix>_workstream_deletions`: a delete whose log directory may still exist. */
export const DeletionRow = Schema.Struct({ workstream_id: WorkstreamId })

/** What recovery on open checks per workstream. */
export const OpenCheckRow = Schema.Struct({
  id: WorkstreamId,
  /** A branch's base when its log holds nothing: the seq its index would end at. */
  log_bytes: Schema.Number,
  message_count: Schema.Number,
  max_seq: Schema.NullOr(Schema.Number)
})

export { RetentionRow } from "../retentionRow.js"

/** A workstream id, as the lineage queries return them. */
export const BranchRow = Schema.Struct({ id: WorkstreamId })

/** One message's timestamp. */
export const TimestampRow = Schema.Struct({ timestamp_ms: Schema.Number })

/** An already-typed request value: the kernel decoded it, so encoding it again would only cost time. */
export const Typed = <A>() => Schema.declare((_: unknown): _ is A => true)
