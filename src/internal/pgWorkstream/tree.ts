/**
 * Branches on PostgreSQL: a branch is its record alone (its messages 1..forked_from_seq are its source's rows,
 * never copied), made under its source's row lock, the lock a delete or promotion of the source takes too, so a
 * source never loses messages a branch shares.
 */
import { Effect, Option } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import type { BranchRequest, BranchResult, DeleteResult } from "../../WorkstreamStore.js"
import { all } from "../sql.js"
import { workstreamColumns } from "./schema.js"
import type { Store } from "./schema.js"
import { branchesOf, decodeIds, insertTags, lock, lockAt } from "./writes.js"

/** `Driver.branch`; run it in a transaction. */
export const branch = (s: Store, request: BranchRequest) =>
  Effect.gen(function*() {
    const { sql, t } = s
    const held = yield* lockAt(s, request.source, request.atSeq)
    if (held._tag !== "Locked") return held satisfies BranchResult
    const ws = request.workstream
    const inserted = yield* all(
      decodeIds,
      sql`INSERT INTO ${sql(t.workstreams)} ${sql.insert(workstreamColumns(ws))} ON CONFLICT (id) DO NOTHING RETURNING id`
    )
    if (inserted.length === 0) return { _tag: "Taken" } as const satisfies BranchResult
    yield* insertTags(s, ws.id, ws.tags)
    return { _tag: "Branched", workstream: ws } as const satisfies BranchResult
  })

/**
 * `Driver.delete`; run it in a transaction. The row's lock first (a branch of it is made under that lock), then
 * the branches; with `subtree`, every branch below it, found by one recursive statement, goes in the same
 * statement as it. Tags and messages follow by the foreign keys' cascade.
 */
export const remove = (s: Store, id: WorkstreamId, subtree: boolean) =>
  Effect.gen(function*() {
    const { sql, t } = s
    if (Option.isNone(yield* lock(s, id))) return { _tag: "Deleted", removed: [] } as const satisfies DeleteResult
    const branches = yield* branchesOf(s, id)
    if (branches.length > 0 && !subtree) return { _tag: "HasBranches", branches } as const satisfies DeleteResult
    const removed = yield* all(decodeIds, sql`WITH RECURSIVE below AS (
        SELECT ${id}::text COLLATE "C" AS id
        UNION
        SELECT w.id FROM ${sql(t.workstreams)} w JOIN below b ON w.forked_from_id = b.id WHERE w.forked_shared
      )
      DELETE FROM ${sql(t.workstreams)} w USING below WHERE w.id = below.id RETURNING w.id`)
    const ids = removed.map((r) => r.id)
    // Their own retention policies go with them: a later workstream given the same id starts without one.
    if (ids.length > 0) yield* sql`DELETE FROM ${sql(t.retention)} WHERE kind = 'workstream' AND ${sql.in("target", ids)}`
    return { _tag: "Deleted", removed: ids } as const satisfies DeleteResult
  })
