/**
 * The PostgreSQL workstream store as a WorkstreamStore driver. Every write is one transaction that starts by
 * locking the workstream's row (`SELECT ... FOR UPDATE`): appends to one workstream from any number of processes
 * and machines queue on that lock, each reading the message count the previous one committed, so seqs are
 * assigned gap-free and nothing is lost; updates, promotions and deletes take the same lock. Reads take none.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Array as Arr, DateTime, Effect, Either, Option, Schema } from "effect"
import { MessageId } from "../../Ids.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Workstream } from "../../Workstream.js"
import type { AppendResult, Driver, ListQuery, LoadQuery } from "../../WorkstreamStore.js"
import { all, storage, transaction } from "../sql.js"
import {
  CounterRow,
  appendColumns,
  IdRow,
  LoadRow,
  MESSAGE_SELECT,
  metadataColumns,
  rowToMessage,
  rowToWorkstream,
  workstreamColumns,
  WorkstreamRow,
  workstreamSelect
} from "./schema.js"
import type { TableNames } from "./schema.js"

/** What the driver's modules share: the pool and the table names. */
export interface Store {
  readonly sql: SqlClient.SqlClient
  readonly t: TableNames
}

/** Ids per `IN` list: far below PostgreSQL's 65535 bound parameters. */
const CHUNK = 500

const TakenRow = Schema.Struct({ id: MessageId })
const FirstRow = Schema.Struct({ first: Schema.Int })

const isUniqueViolation = (e: { readonly cause?: unknown }) =>
  typeof e.cause === "object" && e.cause !== null && "code" in e.cause && e.cause.code === "23505"

const method = (name: string) => `WorkstreamStore.${name}`

export const makeDriver = (s: Store): Driver => {
  const { sql, t } = s
  const W = sql(t.workstreams)
  const G = sql(t.tags)
  const M = sql(t.messages)
  const write = (name: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method(name))(transaction(sql, "BEGIN")(effect))

  const read = (id: WorkstreamId) =>
    Effect.map(
      all(WorkstreamRow, sql`SELECT ${workstreamSelect(sql, t)} FROM ${W} w WHERE w.id = ${id}`),
      (rows) => Option.map(Option.fromNullable(rows[0]), rowToWorkstream)
    )

  /** Locks the workstream's row until the transaction ends; its counters as committed by the previous holder. */
  const lock = (id: WorkstreamId) =>
    Effect.map(
      all(CounterRow, sql`SELECT message_count, last_message_at FROM ${W} WHERE id = ${id} FOR UPDATE`),
      (rows) => Option.fromNullable(rows[0])
    )

  const insertTags = (id: WorkstreamId, tags: ReadonlyArray<string>) =>
    tags.length === 0 ? Effect.void : Effect.asVoid(sql`INSERT INTO ${G} ${sql.insert(tags.map((tag) => ({ workstream: id, tag })))}`)

  /** Inserts the record with its tags; false (nothing written) when the id is taken. */
  const insertRecord = (ws: Workstream) =>
    Effect.gen(function*() {
      const inserted = yield* all(IdRow, sql`INSERT INTO ${W} ${sql.insert(workstreamColumns(ws))} ON CONFLICT (id) DO NOTHING RETURNING id`)
      if (inserted.length === 0) return false
      yield* insertTags(ws.id, ws.tags)
      return true
    })

  /** The first of `ids` the workstream already holds. */
  const firstTaken = (id: WorkstreamId, ids: ReadonlyArray<MessageId>) =>
    Effect.map(
      Effect.forEach(Arr.chunksOf(ids, CHUNK), (chunk) =>
        all(TakenRow, sql`SELECT id FROM ${M} WHERE workstream = ${id} AND ${sql.in("id", chunk)}`)),
      (found) => {
        const taken = new Set(found.flat().map((r) => r.id))
        return Option.fromNullable(ids.find((g) => taken.has(g)))
      }
    )

  /**
   * ONE statement, so one round trip while the lock is held: it locks the row, inserts the batch at the seqs after
   * the count it read there (the count the previous holder committed: a locking read waits, then reads the latest
   * version), and moves the counters. A message id the workstream holds fails it on the `(workstream, id)` key,
   * with nothing written; that id is then looked up.
   */
  const append: Driver["append"] = (id, request) => {
    const batch = appendColumns(request.seal(1))
    const last = batch.timestamp[batch.timestamp.length - 1]!
    return all(FirstRow, sql`WITH locked AS (
        SELECT message_count FROM ${W} WHERE id = ${id} FOR UPDATE
      ), inserted AS (
        INSERT INTO ${M} (workstream, seq, id, session_id, role, content, content_utf16, timestamp, metadata)
        SELECT ${id}, locked.message_count + v.ord, v.id, v.session_id, v.role, v.content, v.content_utf16, v.timestamp,
          v.metadata::json
        FROM locked, unnest(${batch.ord}::integer[], ${batch.id}::text[], ${batch.session_id}::text[], ${batch.role}::text[],
          ${batch.content}::text[], ${batch.content_utf16}::bytea[], ${batch.timestamp}::float8[], ${batch.metadata}::text[])
          AS v(ord, id, session_id, role, content, content_utf16, timestamp, metadata)
      ), moved AS (
        UPDATE ${W} w SET message_count = locked.message_count + ${batch.ord.length}, last_message_at = ${last},
          updated_at = ${request.now.epochMillis}
        FROM locked WHERE w.id = ${id}
      )
      SELECT message_count + 1 AS first FROM locked`).pipe(
      Effect.map((rows): AppendResult =>
        rows[0] === undefined ? { _tag: "NotFound" } : { _tag: "Appended", messages: request.seal(rows[0].first) }
      ),
      Effect.catchIf(isUniqueViolation, (e) =>
        Effect.flatMap(firstTaken(id, request.ids), Option.match({
          onNone: () => Effect.fail(e),
          onSome: (taken) => Effect.succeed<AppendResult>({ _tag: "DuplicateId", id: taken })
        }))),
      storage(method("storeMessages"))
    )
  }

  const update: Driver["update"] = (id, modify) =>
    write("update")(Effect.gen(function*() {
      if (Option.isNone(yield* lock(id))) return Option.none()
      // Read after the lock is held: this statement sees everything the previous holder committed, tags included.
      const current = yield* read(id)
      if (Option.isNone(current)) return Option.none()
      const next = modify(current.value)
      if (Either.isLeft(next)) return yield* Effect.fail(next.left)
      yield* sql`UPDATE ${W} SET ${sql.update(metadataColumns(next.right))} WHERE id = ${id}`
      if (next.right.tags.join("\u0000") !== current.value.tags.join("\u0000")) {
        yield* sql`DELETE FROM ${G} WHERE workstream = ${id}`
        yield* insertTags(id, next.right.tags)
      }
      return Option.some(next.right)
    }))

  const promote: Driver["promote"] = (request) =>
    write("promoteScratch")(Effect.gen(function*() {
      const locked = yield* lock(request.source)
      if (Option.isNone(locked) || locked.value.message_count === 0 || locked.value.last_message_at === null) return Option.none()
      const target = request.target({
        count: locked.value.message_count,
        lastMessageAt: DateTime.unsafeMake(locked.value.last_message_at)
      })
      // The target's id is fresh (IdGenerator's): a plain INSERT, which would fail rather than skip if it were not.
      yield* sql`INSERT INTO ${W} ${sql.insert(workstreamColumns(target))}`
      yield* insertTags(target.id, target.tags)
      yield* sql`UPDATE ${M} SET workstream = ${target.id} WHERE workstream = ${request.source}`
      yield* sql`UPDATE ${W} SET message_count = 0, last_message_at = NULL, updated_at = ${request.now.epochMillis}
        WHERE id = ${request.source}`
      return Option.some(target)
    }))

  return {
    backend: "postgres",
    insert: (ws) =>
      write(ws.isScratch ? "ensureScratch" : "create")(Effect.map(insertRecord(ws), (ok) => (ok ? Option.some(ws) : Option.none()))),
    get: (id) => storage(method("get"))(read(id)),
    list: (query) => storage(method("list"))(list(s, query)),
    update,
    // One statement, so one transaction: the row's lock, then its tags and messages by the foreign keys' cascade.
    delete: (id) => storage(method("delete"))(Effect.asVoid(sql`DELETE FROM ${W} WHERE id = ${id}`)),
    append,
    load: (id, query) => storage(method("loadMessages"))(load(s, id, query)),
    promote
  }
}

const list = (s: Store, q: ListQuery) => {
  const { sql, t } = s
  const conditions = [
    ...(q.state !== undefined ? [sql`w.state = ${q.state}`] : []),
    ...(q.tag !== undefined ? [sql`EXISTS (SELECT 1 FROM ${sql(t.tags)} g WHERE g.workstream = w.id AND g.tag = ${q.tag})`] : []),
    ...(q.after !== undefined
      ? [sql`(w.updated_at < ${q.after.updatedAtMillis} OR (w.updated_at = ${q.after.updatedAtMillis} AND w.id > ${q.after.id}))`]
      : [])
  ]
  return Effect.map(
    all(WorkstreamRow, sql`SELECT ${workstreamSelect(sql, t)} FROM ${sql(t.workstreams)} w WHERE ${sql.and(conditions)}
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
    all(LoadRow, sql`SELECT w.id AS found, ${sql.literal(MESSAGE_SELECT)} FROM ${sql(t.workstreams)} w
      LEFT JOIN LATERAL (SELECT * FROM ${sql(t.messages)} m WHERE ${sql.and(conditions)} ORDER BY m.seq DESC LIMIT ${q.limit ?? null}) m
      ON true WHERE w.id = ${id}`),
    (rows) => rows.length === 0 ? Option.none() : Option.some(rows.flatMap((r) => rowToMessage(id, r) ?? []).reverse())
  )
}
