/**
 * Retention on PostgreSQL: policies in `<prefix>_workstream_retention`, and prune as a run of bounded
 * transactions, each under the row locks of the workstream and every branch sharing its messages (the locks a
 * branch, append or delete of them takes): it checks the start and the branches, deletes the next `BATCH` seqs and
 * moves `pruned_through`, so a run cut short leaves a shorter prefix gone, never a gap. PostgreSQL's autovacuum
 * makes the freed rows' space reusable.
 */
import { Effect, Option, Schema } from "effect"
import { WorkstreamId } from "../../Ids.js"
import type { Driver, PruneRequest, PruneResult } from "../../WorkstreamStore.js"
import { entryOf, keyOf, policyOf, RetentionRow } from "../retentionRow.js"
import { all, decodeRows, storage, transaction } from "../sql.js"
import type { Store } from "./schema.js"

/** Seqs deleted per transaction: a lock held for one batch, not for a whole prune. */
export const BATCH = 10_000

const decodeRetention = decodeRows(RetentionRow)
const decodeAged = decodeRows(Schema.Struct({ message_count: Schema.Number, first: Schema.NullOr(Schema.Number) }))
const decodeLocked = decodeRows(Schema.Struct({ id: WorkstreamId, base: Schema.Number, message_count: Schema.Number }))
const decodeDeleted = decodeRows(Schema.Struct({ removed: Schema.Number, bytes: Schema.Number }))
const decodeFound = decodeRows(Schema.Struct({ id: Schema.String }))

/** One batch, in its own transaction: `Changed`, `NotFound`, or how many rows (and content bytes) went. */
const batch = (s: Store, request: PruneRequest, from: number, through: number) =>
  Effect.gen(function*() {
    const { sql, t } = s
    // The workstream and every branch below it that shares its messages, locked in id order (no deadlock with
    // another prune); a branch made meanwhile would show as an id the kernel did not check.
    const locked = yield* all(decodeLocked, sql`WITH RECURSIVE below AS (
        SELECT ${request.id}::text COLLATE "C" AS id
        UNION
        SELECT w.id FROM ${sql(t.workstreams)} w JOIN below b ON w.forked_from_id = b.id WHERE w.forked_shared
      )
      SELECT w.id, w.message_count,
        greatest(CASE WHEN w.forked_shared THEN w.forked_from_seq ELSE 0 END, w.pruned_through) AS base
      FROM ${sql(t.workstreams)} w JOIN below USING (id) ORDER BY w.id FOR UPDATE OF w`)
    const self = locked.find((r) => r.id === request.id)
    if (self === undefined) return { _tag: "NotFound" } as const
    const known = new Set<string>([request.id, ...request.shared])
    if (self.base !== from || locked.some((r) => !known.has(r.id))) return { _tag: "Changed" } as const
    const upTo = Math.min(through, self.message_count)
    const [deleted] = yield* all(decodeDeleted, sql`WITH d AS (
        DELETE FROM ${sql(t.messages)} m WHERE m.workstream = ${request.id} AND m.seq > ${from} AND m.seq <= ${upTo}
        RETURNING octet_length(m.content) + coalesce(octet_length(m.content_utf16), 0) AS n
      )
      SELECT count(*)::float8 AS removed, coalesce(sum(n), 0)::float8 AS bytes FROM d`)
    yield* sql`UPDATE ${sql(t.workstreams)} SET pruned_through = ${upTo} WHERE id = ${request.id}`
    return { _tag: "Pruned", removed: deleted?.removed ?? 0, bytes: deleted?.bytes ?? 0, upTo } as const
  })

/** The retention primitives of the PostgreSQL store. */
export const retentionDriver = (s: Store): Pick<Driver, "setRetention" | "getRetention" | "retentionPolicies" | "agedThrough" | "prune"> => {
  const { sql, t } = s
  return {
    setRetention: (target, policy) => {
      const { kind, target: name } = keyOf(target)
      return storage("WorkstreamStore.setRetention")(transaction(sql, "BEGIN")(Effect.gen(function*() {
        if ("workstreamId" in target) {
          const found = yield* all(decodeFound, sql`SELECT id FROM ${sql(t.workstreams)} WHERE id = ${target.workstreamId} FOR UPDATE`)
          if (found.length === 0) return false
        }
        yield* policy === null
          ? sql`DELETE FROM ${sql(t.retention)} WHERE kind = ${kind} AND target = ${name}`
          : sql`INSERT INTO ${sql(t.retention)} ${
            sql.insert({ kind, target: name, max_age_ms: policy.maxAge ?? null, max_messages: policy.maxMessages ?? null })
          } ON CONFLICT (kind, target) DO UPDATE SET max_age_ms = EXCLUDED.max_age_ms, max_messages = EXCLUDED.max_messages`
        return true
      })))
    },
    getRetention: (target) => {
      const { kind, target: name } = keyOf(target)
      return storage("WorkstreamStore.getRetention")(Effect.map(
        all(decodeRetention, sql`SELECT kind, target, max_age_ms, max_messages FROM ${sql(t.retention)} WHERE kind = ${kind} AND target = ${name}`),
        (rows) => Option.map(Option.fromNullable(rows[0]), policyOf)
      ))
    },
    retentionPolicies: () =>
      storage("WorkstreamStore.prune")(Effect.map(
        all(decodeRetention, sql`SELECT kind, target, max_age_ms, max_messages FROM ${sql(t.retention)}`),
        (rows) => rows.map(entryOf)
      )),
    agedThrough: (id, cutoff) =>
      storage("WorkstreamStore.prune")(Effect.map(
        all(decodeAged, sql`SELECT w.message_count,
            (SELECT min(m.seq) FROM ${sql(t.messages)} m WHERE m.workstream = w.id AND m.timestamp >= ${cutoff}) AS first
          FROM ${sql(t.workstreams)} w WHERE w.id = ${id}`),
        (rows) => rows[0] === undefined ? 0 : rows[0].first === null ? rows[0].message_count : rows[0].first - 1
      )),
    prune: (request) =>
      storage("WorkstreamStore.prune")(Effect.gen(function*() {
        let from = request.from
        let removed = 0
        let bytes = 0
        while (from < request.through) {
          const step = yield* transaction(sql, "BEGIN")(batch(s, request, from, Math.min(request.through, from + BATCH)))
          if (step._tag !== "Pruned") return removed > 0 ? { _tag: "Pruned", removed, bytes } as const : step satisfies PruneResult
          removed += step.removed
          bytes += step.bytes
          if (step.upTo <= from) break
          from = step.upTo
        }
        return { _tag: "Pruned", removed, bytes } as const satisfies PruneResult
      }))
  }
}
