/**
 * The PostgreSQL workstream store as a WorkstreamStore driver: writes (see `writes.ts`) each one transaction under
 * the workstream's row lock (a fork under its source's), reads (search: `search.ts`) one statement each and lock-free, every PostgreSQL or row decoding failure a
 * StorageError.
 */
import { Effect, Option } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import type { Driver, ListQuery, LoadQuery } from "../../WorkstreamStore.js"
import { all, decodeRows, storage, transaction } from "../sql.js"
import { MESSAGE_SELECT, PathLoadRow, rowToMessage, rowToWorkstream, WorkstreamRow, workstreamSelect } from "./schema.js"
import type { Store } from "./schema.js"
import { search } from "./search.js"
import { summariesOf, writeSummary } from "./summaries.js"
import { branch, remove } from "./tree.js"
import { append, fork, insertRecord, modify, promote, read } from "./writes.js"

const decodeLoadRows = decodeRows(PathLoadRow)
const decodeWorkstreamRows = decodeRows(WorkstreamRow)

const method = (name: string) => `WorkstreamStore.${name}`

export const makeDriver = (s: Store): Driver => {
  const write = (name: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method(name))(transaction(s.sql, "BEGIN")(effect))
  return {
    backend: "postgres",
    insert: (ws) =>
      write(ws.isScratch ? "ensureScratch" : "create")(Effect.map(insertRecord(s, ws), (ok) => (ok ? Option.some(ws) : Option.none()))),
    get: (id) => storage(method("get"))(read(s, id)),
    list: (query) => storage(method("list"))(list(s, query)),
    update: (id, f) => write("update")(modify(s, id, f)),
    delete: (id, subtree) => write("delete")(remove(s, id, subtree)),
    append: (id, request) => storage(method("storeMessages"))(append(s, id, request)),
    load: (id, query) => storage(method("loadMessages"))(load(s, id, query)),
    promote: (request) => write("promoteScratch")(promote(s, request)),
    fork: (request) => write("fork")(fork(s, request)),
    branch: (request) => write("fork")(branch(s, request)),
    search: (query) => storage(method("searchMessages"))(search(s, query)),
    writeSummary: (summary) => write("summarize")(writeSummary(s, summary)),
    summaries: (ids) => storage(method("listSummaries"))(summariesOf(s, ids))
  }
}

const list = (s: Store, q: ListQuery) => {
  const { sql, t } = s
  const conditions = [
    ...(q.state !== undefined ? [sql`w.state = ${q.state}`] : []),
    ...(q.archived !== undefined ? [q.archived ? sql`w.state = 'archived'` : sql`w.state <> 'archived'`] : []),
    ...(q.forkedFrom !== undefined ? [sql`w.forked_from_id = ${q.forkedFrom}`] : []),
    ...(q.tag !== undefined ? [sql`EXISTS (SELECT 1 FROM ${sql(t.tags)} g WHERE g.workstream = w.id AND g.tag = ${q.tag})`] : []),
    ...(q.after !== undefined
      ? [sql`(w.updated_at < ${q.after.updatedAtMillis} OR (w.updated_at = ${q.after.updatedAtMillis} AND w.id > ${q.after.id}))`]
      : [])
  ]
  return Effect.map(
    all(decodeWorkstreamRows, sql`SELECT ${workstreamSelect(sql, t)} FROM ${sql(t.workstreams)} w WHERE ${sql.and(conditions)}
      ORDER BY w.updated_at DESC, w.id ASC LIMIT ${q.limit}`),
    (rows) => rows.map(rowToWorkstream)
  )
}

/**
 * One statement: the workstream's row (none when it is absent) joined with the last `limit` matching messages,
 * read newest first down the `(workstream, seq)` key, so a tail read costs O(limit) whatever the log's length.
 */
const load = (s: Store, id: WorkstreamId, q: LoadQuery) => {
  const { sql, t } = s
  const conditions = [
    sql`m.workstream = w.id`,
    ...(q.beforeSeq !== undefined ? [sql`m.seq < ${q.beforeSeq}`] : []),
    ...(q.afterSeq !== undefined ? [sql`m.seq > ${q.afterSeq}`] : []),
    ...(q.since !== undefined ? [sql`m.timestamp >= ${q.since.epochMillis}`] : []),
    ...(q.sessionId !== undefined ? [sql`m.session_id = ${q.sessionId}`] : [])
  ]
  return Effect.map(
    all(decodeLoadRows, sql`SELECT w.id AS found, w.forked_from_id, w.forked_from_seq, w.forked_shared, ${sql.literal(MESSAGE_SELECT)}
      FROM ${sql(t.workstreams)} w
      LEFT JOIN LATERAL (SELECT * FROM ${sql(t.messages)} m WHERE ${sql.and(conditions)} ORDER BY m.seq DESC LIMIT ${q.limit ?? null}) m
      ON true WHERE w.id = ${id}`),
    (rows) => {
      const head = rows[0]
      if (head === undefined) return Option.none()
      const inherits = head.forked_shared && head.forked_from_id !== null
        ? { workstreamId: head.forked_from_id, seq: head.forked_from_seq ?? 0 }
        : undefined
      return Option.some({ messages: rows.flatMap((r) => rowToMessage(id, r) ?? []).reverse(), inherits })
    }
  )
}
