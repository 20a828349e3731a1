/**
 * The PostgreSQL workstream store's writes. Each runs as one transaction that starts by locking the workstream's row
 * (`SELECT ... FOR UPDATE`): appends to one workstream from any number of processes and machines queue on that lock,
 * each reading the message count the previous one committed, so seqs are assigned gap-free and nothing is lost;
 * updates and promotions take the same lock, and a fork its source's.
 */
import { Array as Arr, DateTime, Effect, Either, Option, Schema } from "effect"
import { MessageId, WorkstreamId as WorkstreamIdSchema } from "../../Ids.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Workstream } from "../../Workstream.js"
import type { AppendRequest, AppendResult, ForkRequest, ForkResult, PromoteRequest, PromoteResult } from "../../WorkstreamStore.js"
import { all, decodeRows } from "../sql.js"
import {
  appendColumns,
  CounterRow,
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
import type { Store } from "./schema.js"

const decodeLoadRows = decodeRows(LoadRow)
const decodeIdRows = decodeRows(IdRow)
const decodeCounterRows = decodeRows(CounterRow)
const decodeWorkstreamRows = decodeRows(WorkstreamRow)

/** Ids per `IN` list: far below PostgreSQL's 65535 bound parameters. */
const CHUNK = 500

const FirstRow = Schema.Struct({ first: Schema.Int })
const TimestampRow = Schema.Struct({ timestamp: Schema.Number })
const decodeFirstRows = decodeRows(FirstRow)
const decodeTimestampRows = decodeRows(TimestampRow)

const isUniqueViolation = (e: { readonly cause?: unknown }) =>
  typeof e.cause === "object" && e.cause !== null && "code" in e.cause && e.cause.code === "23505"

/** The workstream with its tags; `None` when absent. */
export const read = ({ sql, t }: Store, id: WorkstreamId) =>
  Effect.map(
    all(decodeWorkstreamRows, sql`SELECT ${workstreamSelect(sql, t)} FROM ${sql(t.workstreams)} w WHERE w.id = ${id}`),
    (rows) => Option.map(Option.fromNullable(rows[0]), rowToWorkstream)
  )

/** Locks the workstream's row until the transaction ends; its counters as committed by the previous holder. */
export const lock = ({ sql, t }: Store, id: WorkstreamId) =>
  Effect.map(
    all(decodeCounterRows, sql`SELECT message_count, last_message_at FROM ${sql(t.workstreams)} WHERE id = ${id} FOR UPDATE`),
    (rows) => Option.fromNullable(rows[0])
  )

const decodeLockedRows = decodeRows(Schema.Struct({ message_count: Schema.NonNegativeInt, pruned_through: Schema.NonNegativeInt }))

/**
 * The source's row lock for a fork (`copy`) or branch at `atSeq`: the source missing, too short, pruned, or held
 * ("Locked"). A prune may have run since the kernel looked, and a prune takes this lock too: a copy needs every
 * message up to atSeq, a branch the one at atSeq (the source's own log; an ancestor's is the kernel's check).
 */
export const lockAt = ({ sql, t }: Store, source: WorkstreamId, atSeq: number, copy: boolean) =>
  Effect.map(
    all(decodeLockedRows, sql`SELECT message_count, pruned_through FROM ${sql(t.workstreams)} WHERE id = ${source} FOR UPDATE`),
    (rows) => {
      const row = rows[0]
      if (row === undefined) return { _tag: "NotFound" } as const
      if (row.message_count < atSeq) return { _tag: "OutOfRange", count: row.message_count } as const
      if (copy ? row.pruned_through > 0 : atSeq > 0 && atSeq <= row.pruned_through) {
        return { _tag: "Pruned", through: row.pruned_through } as const
      }
      return { _tag: "Locked" } as const
    }
  )

export const insertTags = ({ sql, t }: Store, id: WorkstreamId, tags: ReadonlyArray<string>) =>
  tags.length === 0
    ? Effect.void
    : Effect.asVoid(sql`INSERT INTO ${sql(t.tags)} ${sql.insert(tags.map((tag) => ({ workstream: id, tag })))}`)

/** Inserts the record with its tags; false (nothing written) when the id is taken. */
export const decodeIds = decodeRows(Schema.Struct({ id: WorkstreamIdSchema }))

/** The branches sharing the messages of `id`, by id (read under its row lock for a decision on them). */
export const branchesOf = ({ sql, t }: Store, id: WorkstreamId) =>
  Effect.map(
    all(decodeIds, sql`SELECT id FROM ${sql(t.workstreams)} WHERE forked_from_id = ${id} AND forked_shared ORDER BY id`),
    (rows) => rows.map((r) => r.id)
  )

export const insertRecord = (s: Store, ws: Workstream) =>
  Effect.gen(function*() {
    const { sql, t } = s
    const inserted = yield* all(
      decodeIdRows,
      sql`INSERT INTO ${sql(t.workstreams)} ${sql.insert(workstreamColumns(ws))} ON CONFLICT (id) DO NOTHING RETURNING id`
    )
    if (inserted.length === 0) return false
    yield* insertTags(s, ws.id, ws.tags)
    return true
  })

/** The messages of the workstream holding any of `ids`. */
const taken = ({ sql, t }: Store, id: WorkstreamId, ids: ReadonlyArray<MessageId>) =>
  Effect.map(
    Effect.forEach(Arr.chunksOf(ids, CHUNK), (chunk) =>
      all(decodeLoadRows, sql`SELECT m.workstream AS found, ${sql.literal(MESSAGE_SELECT)} FROM ${sql(t.messages)} m
        WHERE m.workstream = ${id} AND ${sql.in("m.id", chunk)}`)),
    (found) => found.flat().flatMap((r) => rowToMessage(id, r) ?? [])
  )

/**
 * ONE statement, so one round trip while the lock is held (its own transaction: no BEGIN needed): it locks the
 * row, inserts the batch at the seqs after the count it read there (the count the previous holder committed: a
 * locking read waits, then reads the latest version), and moves the counters. A message id the workstream holds
 * fails it on the `(workstream, id)` key, with nothing written; the messages holding the batch's ids are then read.
 */
export const append = (s: Store, id: WorkstreamId, request: AppendRequest) => {
  const { sql, t } = s
  const batch = appendColumns(request.seal(1))
  const last = batch.timestamp[batch.timestamp.length - 1]!
  return all(decodeFirstRows, sql`WITH locked AS (
      SELECT message_count FROM ${sql(t.workstreams)} WHERE id = ${id} FOR UPDATE
    ), inserted AS (
      INSERT INTO ${sql(t.messages)} (workstream, seq, id, session_id, role, content, content_utf16, timestamp, metadata)
      SELECT ${id}, locked.message_count + v.ord, v.id, v.session_id, v.role, v.content, v.content_utf16, v.timestamp,
        v.metadata::json
      FROM locked, unnest(${batch.ord}::integer[], ${batch.id}::text[], ${batch.session_id}::text[], ${batch.role}::text[],
        ${batch.content}::text[], ${batch.content_utf16}::bytea[], ${batch.timestamp}::float8[], ${batch.metadata}::text[])
        AS v(ord, id, session_id, role, content, content_utf16, timestamp, metadata)
    ), moved AS (
      UPDATE ${sql(t.workstreams)} w SET message_count = locked.message_count + ${batch.ord.length}, last_message_at = ${last},
        updated_at = GREATEST(w.updated_at, ${request.now.epochMillis})
      FROM locked WHERE w.id = ${id}
    )
    SELECT message_count + 1 AS first FROM locked`).pipe(
    Effect.map((rows): AppendResult =>
      rows[0] === undefined ? { _tag: "NotFound" } : { _tag: "Appended", messages: request.seal(rows[0].first) }
    ),
    Effect.catchIf(isUniqueViolation, (e) =>
      Effect.flatMap(taken(s, id, request.ids), (messages) =>
        messages.length === 0 ? Effect.fail(e) : Effect.succeed<AppendResult>({ _tag: "Taken", messages })))
  )
}

/** `Driver.update`'s read-modify-write; run it in a transaction. */
export const modify = <E>(s: Store, id: WorkstreamId, f: (current: Workstream) => Either.Either<Workstream, E>) =>
  Effect.gen(function*() {
    const { sql, t } = s
    if (Option.isNone(yield* lock(s, id))) return Option.none()
    // Read after the lock is held: this statement sees everything the previous holder committed, tags included.
    const current = yield* read(s, id)
    if (Option.isNone(current)) return Option.none()
    const next = f(current.value)
    if (Either.isLeft(next)) return yield* Effect.fail(next.left)
    yield* sql`UPDATE ${sql(t.workstreams)} SET ${sql.update(metadataColumns(next.right))} WHERE id = ${id}`
    if (next.right.tags.join("\u0000") !== current.value.tags.join("\u0000")) {
      yield* sql`DELETE FROM ${sql(t.tags)} WHERE workstream = ${id}`
      yield* insertTags(s, id, next.right.tags)
    }
    return Option.some(next.right)
  })

/** `Driver.promote`; run it in a transaction. */
export const promote = (s: Store, request: PromoteRequest) =>
  Effect.gen(function*() {
    const { sql, t } = s
    const locked = yield* lock(s, request.source)
    if (Option.isNone(locked) || locked.value.message_count === 0 || locked.value.last_message_at === null) {
      return { _tag: "Empty" } as const satisfies PromoteResult
    }
    const branches = yield* branchesOf(s, request.source)
    if (branches.length > 0) return { _tag: "HasBranches", branches } as const satisfies PromoteResult
    const target = request.target({
      count: locked.value.message_count,
      lastMessageAt: DateTime.unsafeMake(locked.value.last_message_at)
    })
    // The target's id is fresh (IdGenerator's): a plain INSERT, which would fail rather than skip if it were not.
    yield* sql`INSERT INTO ${sql(t.workstreams)} ${sql.insert(workstreamColumns(target))}`
    yield* insertTags(s, target.id, target.tags)
    yield* sql`UPDATE ${sql(t.messages)} SET workstream = ${target.id} WHERE workstream = ${request.source}`
    yield* sql`UPDATE ${sql(t.summaries)} SET workstream = ${target.id} WHERE workstream = ${request.source}`
    yield* sql`UPDATE ${sql(t.workstreams)} SET message_count = 0, last_message_at = NULL, updated_at = ${request.now.epochMillis}
      WHERE id = ${request.source}`
    return { _tag: "Promoted", workstream: target } as const satisfies PromoteResult
  })

/**
 * `Driver.fork`; run it in a transaction. The source's row lock holds its log still (appends, promotions and
 * deletes take it too) while messages 1..atSeq are copied by one `INSERT ... SELECT`: the stored columns as they are
 * (the exact-content bytes and the metadata's text included), each row given the request's id for its seq.
 */
export const fork = (s: Store, request: ForkRequest) =>
  Effect.gen(function*() {
    const { sql, t } = s
    const held = yield* lockAt(s, request.source, request.atSeq, true)
    if (held._tag !== "Locked") return held satisfies ForkResult
    const last = request.atSeq === 0 ? [] : yield* all(
      decodeTimestampRows,
      sql`SELECT timestamp FROM ${sql(t.messages)} WHERE workstream = ${request.source} AND seq = ${request.atSeq}`
    )
    const target = request.target(Option.map(Option.fromNullable(last[0]), (r) => DateTime.unsafeMake(r.timestamp)))
    // The fork's id is fresh (IdGenerator's): a plain INSERT, which would fail rather than skip if it were not.
    yield* sql`INSERT INTO ${sql(t.workstreams)} ${sql.insert(workstreamColumns(target))}`
    yield* insertTags(s, target.id, target.tags)
    if (request.atSeq > 0) {
      yield* sql`INSERT INTO ${sql(t.messages)} (workstream, seq, id, session_id, role, content, content_utf16, timestamp, metadata)
        SELECT ${target.id}, m.seq, v.id, m.session_id, m.role, m.content, m.content_utf16, m.timestamp, m.metadata
        FROM unnest(${request.ids.slice(0, request.atSeq)}::text[]) WITH ORDINALITY AS v(id, seq)
        JOIN ${sql(t.messages)} m ON m.workstream = ${request.source} AND m.seq = v.seq`
    }
    return { _tag: "Forked", workstream: target } as const satisfies ForkResult
  })
