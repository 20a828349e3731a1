/**
 * Every statement of the local store, as `sql` templates over the prefixed tables; every read goes through
 * `SqlSchema` with the row codecs of `schema.ts`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Effect, Option, Schema } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import type { Workstream } from "../../Workstream.js"
import type { ListQuery, LoadQuery } from "../../WorkstreamStore.js"
import { normaliseTags } from "../memoryRules.js"
import { decodeRows, rowCount } from "../sql.js"
import type { Reads } from "../sqliteMemory/read.js"
import type { IndexEntry, LogCounters, Tables } from "./schema.js"
import { makeSearchQueries } from "./searchQueries.js"
import {
  BranchRow,
  DeletionRow,
  RetentionRow,
  TimestampRow,
  IndexRow,
  LogStateRow,
  metadataColumns,
  OpenCheckRow,
  PrefixRow,
  PromotionRow,
  toWorkstream,
  Typed,
  WorkstreamRow
} from "./schema.js"

/** Rows per index insert: the batch travels as one JSON array, so one constant statement serves every size. */
export const INSERT_CHUNK = 20_000

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const decodeWorkstreams = decodeRows(WorkstreamRow)
const decodeLogStates = decodeRows(LogStateRow)
const decodeIndexRows = decodeRows(IndexRow)

/**
 * Every read, each through its row codec. The reads of every call (`get`, a log's state, its index rows) go through
 * `reads`: on the read side, a read-only connection with its statements prepared once (see `sqliteMemory/read.ts`);
 * the rest through `SqlSchema`.
 */
const readQueries = (sql: SqlClient.SqlClient, t: Tables, reads: Reads) => {
  const w = sql(t.workstreams)
  const tagsTable = sql(t.tags)
  const messages = sql(t.messages)

  const workstreamColumns = sql`w.key, w.id, w.title, w.summary, w.state, w.is_scratch, w.default_model,
    w.created_at, w.updated_at, w.message_count, w.last_message_at, w.version, w.forked_from_id, w.forked_from_seq,
    w.forked_shared, w.pruned_through,
    (SELECT json_group_array(tag) FROM ${tagsTable} t WHERE t.ws_key = w.key) AS tags`

  const workstream = (id: WorkstreamId) =>
    Effect.map(reads.all(decodeWorkstreams, sql`SELECT ${workstreamColumns} FROM ${w} w WHERE w.id = ${id}`), first)

  const list = SqlSchema.findAll({
    Request: Typed<ListQuery>(),
    Result: WorkstreamRow,
    execute: (q) => {
      const conditions = [sql`1 = 1`]
      if (q.state !== undefined) conditions.push(sql`w.state = ${q.state}`)
      if (q.archived !== undefined) conditions.push(q.archived ? sql`w.state = 'archived'` : sql`w.state <> 'archived'`)
      if (q.tag !== undefined) {
        conditions.push(sql`EXISTS (SELECT 1 FROM ${tagsTable} t WHERE t.ws_key = w.key AND t.tag = ${q.tag})`)
      }
      if (q.forkedFrom !== undefined) conditions.push(sql`w.forked_from_id = ${q.forkedFrom}`)
      if (q.after !== undefined) {
        const { id, updatedAtMillis: at } = q.after
        conditions.push(sql`(w.updated_at < ${at} OR (w.updated_at = ${at} AND w.id > ${id}))`)
      }
      return sql`SELECT ${workstreamColumns} FROM ${w} w WHERE ${sql.and(conditions)}
        ORDER BY w.updated_at DESC, w.id ASC LIMIT ${rowCount(sql, q.limit)}`
    }
  })

  const logStateOf = (id: string) =>
    sql`SELECT key, message_count, log_bytes, log_lines, last_message_at,
        CASE WHEN forked_shared <> 0 THEN forked_from_id END AS inherits_from,
        CASE WHEN forked_shared <> 0 THEN forked_from_seq ELSE 0 END AS fork_seq,
        pruned_through,
        max(CASE WHEN forked_shared <> 0 THEN forked_from_seq ELSE 0 END, pruned_through) AS base
      FROM ${w} WHERE id = ${id}`
  const logState = (id: WorkstreamId) => Effect.map(reads.all(decodeLogStates, logStateOf(id)), first)

  const lastIndexed = SqlSchema.findOne({
    Request: Schema.Number,
    Result: IndexRow,
    execute: (key) =>
      sql`SELECT seq, byte_offset, byte_length, message_id FROM ${messages} WHERE ws_key = ${key} ORDER BY seq DESC LIMIT 1`
  })

  const indexRows = ({ key, query: o }: { readonly key: number; readonly query: LoadQuery }) =>
    reads.all(decodeIndexRows, (() => {
      const conditions = [sql`ws_key = ${key}`]
      if (o.beforeSeq !== undefined) conditions.push(sql`seq < ${o.beforeSeq}`)
      if (o.afterSeq !== undefined) conditions.push(sql`seq > ${o.afterSeq}`)
      if (o.since !== undefined) conditions.push(sql`timestamp_ms >= ${o.since.epochMillis}`)
      if (o.sessionId !== undefined) conditions.push(sql`session_id = ${o.sessionId}`)
      // Without statistics SQLite prefers walking the primary key and filtering, which scans the whole log for a
      // rare session; the session index finds its last `limit` lines directly.
      const source = o.sessionId === undefined ? messages : sql`${messages} INDEXED BY ${sql(t.sessionIndex)}`
      return o.limit === undefined
        ? sql`SELECT seq, byte_offset, byte_length, message_id FROM ${source} WHERE ${sql.and(conditions)} ORDER BY seq ASC`
        : sql`SELECT seq, byte_offset, byte_length, message_id FROM ${source} WHERE ${sql.and(conditions)}
            ORDER BY seq DESC LIMIT ${rowCount(sql, o.limit)}`
    })())

  const prefixRows = SqlSchema.findAll({
    Request: Typed<{ readonly key: number; readonly atSeq: number }>(),
    Result: PrefixRow,
    execute: ({ atSeq, key }) =>
      sql`SELECT seq, byte_offset, byte_length, message_id, timestamp_ms, session_id, role FROM ${messages}
        WHERE ws_key = ${key} AND seq <= ${atSeq} ORDER BY seq ASC`
  })

  const promotions = SqlSchema.findAll({
    Request: Schema.Void,
    Result: PromotionRow,
    execute: () => sql`SELECT target_id, source_id, state FROM ${sql(t.promotions)}`
  })

  const deletions = SqlSchema.findAll({
    Request: Schema.Void,
    Result: DeletionRow,
    execute: () => sql`SELECT workstream_id FROM ${sql(t.deletions)}`
  })

  const deleting = SqlSchema.findOne({
    Request: Typed<WorkstreamId>(),
    Result: DeletionRow,
    execute: (id) => sql`SELECT workstream_id FROM ${sql(t.deletions)} WHERE workstream_id = ${id}`
  })

  // The ids travel as one JSON array, so one constant statement serves every batch size.
  const taken = SqlSchema.findAll({
    Request: Typed<{ readonly key: number; readonly ids: ReadonlyArray<string> }>(),
    Result: IndexRow,
    execute: ({ ids, key }) =>
      sql`SELECT m.seq, m.byte_offset, m.byte_length, m.message_id FROM ${sql(t.ids)} i
        JOIN ${messages} m ON m.ws_key = i.ws_key AND m.seq = i.seq
        WHERE i.ws_key = ${key} AND i.message_id IN (SELECT value FROM json_each(${JSON.stringify(ids)})) ORDER BY m.seq`
  })

  const openChecks = SqlSchema.findAll({
    Request: Schema.Void,
    Result: OpenCheckRow,
    execute: () =>
      sql`SELECT w.id, w.log_bytes, w.message_count,
          coalesce((SELECT MAX(seq) FROM ${messages} m WHERE m.ws_key = w.key),
            nullif(max(CASE WHEN w.forked_shared <> 0 THEN w.forked_from_seq ELSE 0 END, w.pruned_through), 0)) AS max_seq
        FROM ${w} w`
  })

  const branches = SqlSchema.findAll({
    Request: Typed<WorkstreamId>(),
    Result: BranchRow,
    execute: (id) => sql`SELECT id FROM ${w} WHERE forked_from_id = ${id} AND forked_shared <> 0 ORDER BY id`
  })

  const subtree = SqlSchema.findAll({
    Request: Typed<WorkstreamId>(),
    Result: BranchRow,
    execute: (id) =>
      sql`WITH RECURSIVE below(id) AS (
          SELECT ${id}
          UNION
          SELECT w.id FROM ${w} w JOIN below b ON w.forked_from_id = b.id WHERE w.forked_shared <> 0
        )
        SELECT id FROM below`
  })

  const firstAfter = SqlSchema.findOne({
    Request: Typed<{ readonly key: number; readonly seq: number }>(),
    Result: IndexRow,
    execute: ({ key, seq }) =>
      sql`SELECT seq, byte_offset, byte_length, message_id FROM ${messages} WHERE ws_key = ${key} AND seq > ${seq} ORDER BY seq LIMIT 1`
  })

  const agedThrough = SqlSchema.findOne({
    Request: Typed<{ readonly key: number; readonly cutoff: number }>(),
    Result: Schema.Struct({ seq: Schema.NullOr(Schema.Number) }),
    execute: ({ cutoff, key }) => sql`SELECT min(seq) AS seq FROM ${messages} WHERE ws_key = ${key} AND timestamp_ms >= ${cutoff}`
  })

  const retention = SqlSchema.findAll({
    Request: Typed<{ readonly kind?: string; readonly target?: string }>(),
    Result: RetentionRow,
    execute: ({ kind, target }) =>
      kind === undefined || target === undefined
        ? sql`SELECT kind, target, max_age_ms, max_messages FROM ${sql(t.retention)}`
        : sql`SELECT kind, target, max_age_ms, max_messages FROM ${sql(t.retention)} WHERE kind = ${kind} AND target = ${target}`
  })

  const timestampAt = SqlSchema.findOne({
    Request: Typed<{ readonly key: number; readonly seq: number }>(),
    Result: TimestampRow,
    execute: ({ key, seq }) => sql`SELECT timestamp_ms FROM ${messages} WHERE ws_key = ${key} AND seq = ${seq}`
  })

  return {
    workstream: (id: WorkstreamId) => Effect.map(workstream(id), Option.map(toWorkstream)),
    /** The branches sharing the messages of `id`. */
    branches: (id: WorkstreamId) => Effect.map(branches(id), (rows) => rows.map((r) => r.id)),
    /** `id` (when it exists) and every branch below it, recursively. */
    subtree: (id: WorkstreamId) => Effect.map(subtree(id), (rows) => rows.map((r) => r.id)),
    /** The timestamp of the indexed message at `seq` of one log. */
    timestampAt: (key: number, seq: number) => Effect.map(timestampAt({ key, seq }), Option.map((r) => r.timestamp_ms)),
    /** The record with its row key. */
    row: (id: WorkstreamId) => Effect.map(workstream(id), Option.map((row) => ({ key: row.key, workstream: toWorkstream(row) }))),
    list: (q: ListQuery) => Effect.map(list(q), (rows) => rows.map(toWorkstream)),
    logState,
    /** `logState`'s statement, one parameter (the id), for a caller running it on a connection of its own. */
    logStateStatement: logStateOf("").compile()[0],
    /** The first index row after `seq`: where a prune through `seq` cuts the log. */
    firstAfter: (key: number, seq: number) => firstAfter({ key, seq }),
    /** The first seq of one log whose message is not older than `cutoff`, if any. */
    agedThrough: (key: number, cutoff: number) => Effect.map(agedThrough({ key, cutoff }), Option.flatMap((r) => Option.fromNullable(r.seq))),
    retention,
    lastIndexed,
    indexRows,
    /** Index rows 1..atSeq with what a copy of them needs, in seq order. */
    prefixRows,
    promotions: promotions(undefined),
    deletions: deletions(undefined),
    isDeleting: (id: WorkstreamId) => Effect.map(deleting(id), Option.isSome),
    /** The index rows of the messages holding any of `ids`, in seq order (read after `indexIds`). */
    taken: (key: number, ids: ReadonlyArray<string>) => taken({ key, ids }),
    openChecks: openChecks(undefined)
  }
}

/** Every write. */
const writeQueries = (sql: SqlClient.SqlClient, t: Tables) => {
  const w = sql(t.workstreams)
  const tagsTable = sql(t.tags)
  const messages = sql(t.messages)
  // A message's rowid in the text index: its workstream's key in the high 32 bits and its seq in the low 32, so
  // one workstream's entries are one rowid range. Computed in SQL only: keys past 2^21 would not fit a JS number.
  const text = sql(t.text)

  const insertKey = SqlSchema.single({
    Request: Typed<Workstream>(),
    Result: Schema.Struct({ key: Schema.Number }),
    execute: (ws) =>
      sql`INSERT INTO ${w} ${
        sql.insert({
          id: ws.id,
          is_scratch: ws.isScratch ? 1 : 0,
          created_at: ws.createdAt.epochMillis,
          forked_from_id: ws.forkedFrom?.workstreamId ?? null,
          forked_from_seq: ws.forkedFrom?.seq ?? null,
          forked_shared: ws.forkedFrom?.shared === true ? 1 : 0,
          pruned_through: ws.prunedThrough ?? 0,
          ...metadataColumns(ws),
          // A pruned copy of a store's workstream starts past its pruned prefix.
          ...EMPTY_COUNTERS,
          message_count: ws.messageCount
        })
      } RETURNING key`
  })

  const replaceTags = (key: number, tags: ReadonlyArray<string>) =>
    Effect.zipRight(
      sql`DELETE FROM ${tagsTable} WHERE ws_key = ${key}`,
      tags.length === 0
        ? Effect.void
        : Effect.asVoid(sql`INSERT INTO ${tagsTable} ${sql.insert(normaliseTags(tags).map((tag) => ({ ws_key: key, tag })))}`)
    )

  /** Inserts the record (empty log) with its tags; returns its key. */
  const insertWorkstream = (ws: Workstream) =>
    Effect.tap(insertKey(ws), ({ key }) => replaceTags(key, ws.tags)).pipe(Effect.map(({ key }) => key))

  // Only the four counters: a caller may hand a whole log state, whose other fields are no columns to write.
  const setCounters = (key: number, s: LogCounters, updatedAt?: number) =>
    sql`UPDATE ${w} SET ${
      sql.update({
        message_count: s.message_count,
        log_bytes: s.log_bytes,
        log_lines: s.log_lines,
        last_message_at: s.last_message_at,
        ...(updatedAt !== undefined ? { updated_at: updatedAt } : {})
      })
    } WHERE key = ${key}`

  // One constant statement whatever the batch size: the rows travel as one JSON array that SQLite unpacks, which
  // costs far less than binding six parameters a row through a statement compiled per batch size. `appendedAt`
  // marks the last row of an append, whose trigger updates the workstream's counters in the same statement.
  // The text index is written beside, in the same transaction, from the same JSON array.
  const [insertText] = sql`INSERT INTO ${text} (rowid, content)
    SELECT (${0} << 32) | (j.value ->> 0), j.value ->> 7 FROM json_each(${""}) AS j`.compile()
  const [insertRows] = sql`INSERT INTO ${messages}
      (ws_key, seq, byte_offset, byte_length, timestamp_ms, session_id, message_id, role, appended_at)
    SELECT ${0}, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, j.value ->> 6,
      CASE WHEN j.key = ${0} THEN ${0} END
    FROM json_each(${""}) AS j`.compile()
  // Compiled once and run on the write lock's connection itself: a template statement pays its compilation, a
  // span and the client's connection lock on every run, more than a small append's own SQL.
  const indexStatements = (key: number, entries: ReadonlyArray<IndexEntry>, appendedAt: number | null) => {
    const all = chunks(entries, INSERT_CHUNK)
    return all.flatMap((chunk, i) => {
      const rows = JSON.stringify(chunk.map((e) => [e.seq, e.offset, e.length, e.timestampMs, e.sessionId, e.id, e.role, e.content]))
      return [
        [insertText, [key, rows]],
        [insertRows, [key, chunk.length - 1, i === all.length - 1 ? appendedAt : null, rows]]
      ] as const
    })
  }
  const insertIndex = (key: number, entries: ReadonlyArray<IndexEntry>, appendedAt: number | null = null) =>
    Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (tx) =>
      Effect.forEach(
        indexStatements(key, entries, appendedAt),
        ([statement, params]) => Option.isSome(tx) ? tx.value[0].execute(statement, params, undefined) : sql.unsafe(statement, params),
        { discard: true }
      ))

  return {
    /** The statements of `insertIndex`, with their parameters, for a caller running them on a connection of its own. */
    indexStatements,
    insertWorkstream,
    replaceTags,
    setCounters,
    insertIndex,
    updateMetadata: (key: number, ws: Workstream) => sql`UPDATE ${w} SET ${sql.update(metadataColumns(ws))} WHERE key = ${key}`,
    clearIndex: (key: number) =>
      Effect.all([
        sql`DELETE FROM ${messages} WHERE ws_key = ${key}`,
        sql`DELETE FROM ${text} WHERE rowid >= (${key} << 32) AND rowid < ((${key} + 1) << 32)`,
        sql`DELETE FROM ${sql(t.ids)} WHERE ws_key = ${key}`,
        sql`UPDATE ${w} SET ids_indexed = 0 WHERE key = ${key}`
      ], { discard: true }),
    /** Brings `<prefix>_workstream_message_ids` of one workstream level with its index (see migration 0003). */
    indexIds: (key: number) =>
      Effect.zipRight(
        sql`INSERT INTO ${sql(t.ids)} (ws_key, message_id, seq)
          SELECT m.ws_key, m.message_id, m.seq FROM ${messages} m
          WHERE m.ws_key = ${key} AND m.message_id IS NOT NULL
            AND m.seq > (SELECT ids_indexed FROM ${w} WHERE key = ${key})`,
        sql`UPDATE ${w} SET ids_indexed = message_count WHERE key = ${key}`
      ),
    deleteWorkstream: (key: number) => sql`DELETE FROM ${w} WHERE key = ${key}`,
    /**
     * Forgets messages up to `through` of one log, whose first `cut` bytes and `lines` lines were cut off the file:
     * their index, text and id rows go, the rest move `cut` bytes back.
     */
    dropPrefix: (key: number, through: number, cut: number, lines: number) =>
      Effect.all([
        sql`DELETE FROM ${messages} WHERE ws_key = ${key} AND seq <= ${through}`,
        sql`DELETE FROM ${text} WHERE rowid >= (${key} << 32) AND rowid <= ((${key} << 32) | ${through})`,
        sql`DELETE FROM ${sql(t.ids)} WHERE ws_key = ${key} AND seq <= ${through}`,
        sql`UPDATE ${messages} SET byte_offset = byte_offset - ${cut} WHERE ws_key = ${key}`,
        sql`UPDATE ${w} SET pruned_through = ${through}, log_bytes = log_bytes - ${cut}, log_lines = log_lines - ${lines}
          WHERE key = ${key}`
      ], { discard: true }),
    setPrunedThrough: (key: number, through: number) => sql`UPDATE ${w} SET pruned_through = ${through} WHERE key = ${key}`,
    setRetention: (kind: string, target: string, maxAgeMs: number | null, maxMessages: number | null) =>
      sql`INSERT OR REPLACE INTO ${sql(t.retention)} ${sql.insert({ kind, target, max_age_ms: maxAgeMs, max_messages: maxMessages })}`,
    clearRetention: (kind: string, target: string) => sql`DELETE FROM ${sql(t.retention)} WHERE kind = ${kind} AND target = ${target}`,
    markDeleting: (id: WorkstreamId) => sql`INSERT OR REPLACE INTO ${sql(t.deletions)} (workstream_id) VALUES (${id})`,
    unmarkDeleting: (id: WorkstreamId) => sql`DELETE FROM ${sql(t.deletions)} WHERE workstream_id = ${id}`,
    recordPromotion: (target: WorkstreamId, source: WorkstreamId, state: "committed" | "forked" = "committed") =>
      sql`INSERT INTO ${sql(t.promotions)} ${sql.insert({ target_id: target, source_id: source, state })}`,
    forgetPromotion: (target: WorkstreamId) => sql`DELETE FROM ${sql(t.promotions)} WHERE target_id = ${target}`
  }
}

/** The statements on `sql`; reads run through `reads` (on the write connection: `clientReads`, its own client). */
export const makeQueries = (sql: SqlClient.SqlClient, t: Tables, reads: Reads) => ({
  ...readQueries(sql, t, reads),
  ...writeQueries(sql, t),
  search: makeSearchQueries(sql, t, reads)
})

const first = <A>(rows: ReadonlyArray<A>): Option.Option<A> => Option.fromNullable(rows[0])

const EMPTY_COUNTERS = { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null }

export type Queries = ReturnType<typeof makeQueries>
