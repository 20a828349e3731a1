/**
 * Summaries on PostgreSQL: one row each in `<prefix>_workstream_summaries`, keyed by (workstream, id), deleted with
 * their workstream by the foreign key's cascade and moved with its messages by a promotion. A summary is written
 * under its workstream's row lock, the lock appends take, so the count it is checked against is current.
 */
import { DateTime, Effect, Option, Schema } from "effect"
import { SummaryId, WorkstreamId } from "../../Ids.js"
import type { WorkstreamId as WorkstreamIdType } from "../../Ids.js"
import { JsonObject } from "../../Json.js"
import { Summary } from "../../WorkstreamContext.js"
import type { SummaryResult } from "../workstreamDriver.js"
import { all, decodeRows } from "../sql.js"
import type { Store } from "./schema.js"
import { lock } from "./writes.js"

const SummaryRow = Schema.Struct({
  workstream: WorkstreamId,
  id: SummaryId,
  from_seq: Schema.Int,
  to_seq: Schema.Int,
  content: Schema.String,
  metadata: Schema.NullOr(JsonObject),
  created_at: Schema.Number
})
const decodeSummaryRows = decodeRows(SummaryRow)

const SUMMARY_SELECT = "s.workstream, s.id, s.from_seq, s.to_seq, s.content, s.metadata, s.created_at"

const rowToSummary = (r: typeof SummaryRow.Type): Summary =>
  new Summary({
    id: r.id,
    workstreamId: r.workstream,
    fromSeq: r.from_seq,
    toSeq: r.to_seq,
    content: r.content,
    createdAt: DateTime.unsafeMake(r.created_at),
    ...(r.metadata !== null ? { metadata: r.metadata } : {})
  })

/** `Driver.writeSummary`; run it in a transaction. */
export const writeSummary = (s: Store, summary: Summary) =>
  Effect.gen(function*() {
    const { sql, t } = s
    const locked = yield* lock(s, summary.workstreamId)
    if (Option.isNone(locked)) return { _tag: "NotFound" } as const satisfies SummaryResult
    const taken = yield* all(decodeSummaryRows, sql`SELECT ${sql.literal(SUMMARY_SELECT)} FROM ${sql(t.summaries)} s
      WHERE s.workstream = ${summary.workstreamId} AND s.id = ${summary.id}`)
    if (taken[0] !== undefined) return { _tag: "Taken", summary: rowToSummary(taken[0]) } as const satisfies SummaryResult
    if (locked.value.message_count < summary.toSeq) return { _tag: "OutOfRange", count: locked.value.message_count } as const satisfies SummaryResult
    yield* sql`INSERT INTO ${sql(t.summaries)} ${sql.insert({
      workstream: summary.workstreamId,
      id: summary.id,
      from_seq: summary.fromSeq,
      to_seq: summary.toSeq,
      content: summary.content,
      metadata: summary.metadata === undefined ? null : JSON.stringify(summary.metadata),
      created_at: summary.createdAt.epochMillis
    })}`
    return { _tag: "Written", summary } as const satisfies SummaryResult
  })

/** `Driver.summaries`: one statement. */
export const summariesOf = ({ sql, t }: Store, ids: ReadonlyArray<WorkstreamIdType>) =>
  ids.length === 0
    ? Effect.succeed<ReadonlyArray<Summary>>([])
    : Effect.map(
      all(decodeSummaryRows, sql`SELECT ${sql.literal(SUMMARY_SELECT)} FROM ${sql(t.summaries)} s WHERE ${sql.in("s.workstream", ids)}`),
      (rows) => rows.map(rowToSummary)
    )
