/**
 * Finishing the two multi-step operations a crash can interrupt: a promotion (committed in SQLite but its source
 * log not yet emptied, or never committed and leaving a half-written target) and a delete (metadata gone, log
 * directory maybe not).
 */
import { Effect } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import { db, removeDir, truncateLog } from "./files.js"
import type { Local } from "./store.js"

export interface PromotionScope {
  /** Only promotions out of this workstream, and only committed ones (a writing one may be this process's own). */
  readonly source?: WorkstreamId
  /** Skip the warning (the caller's own promotion). */
  readonly quiet?: boolean
}

/** Completes committed promotions (empties their source log) and, on open, rolls back uncommitted ones. */
export const finishPromotions = (local: Local, method: string, where: PromotionScope) =>
  Effect.gen(function*() {
    const pending = yield* db(method)(local.q.promotions)
    for (const p of pending) {
      if (where.source !== undefined && (p.source_id !== where.source || p.state !== "committed")) continue
      if (p.state === "committed") {
        yield* truncateLog(method, local.paths.logOf(p.source_id))
        local.states.delete(p.source_id)
      } else {
        // Not committed: the new workstream never existed; the source still holds every message.
        yield* removeTarget(local, method, p.target_id)
      }
      yield* db(method)(local.q.forgetPromotion(p.target_id))
      if (where.quiet === true) continue
      yield* Effect.logWarning(
        `finished an interrupted scratch promotion (${p.state === "committed" ? "completed" : "rolled back"})`
      ).pipe(Effect.annotateLogs({ source: p.source_id, target: p.target_id }))
    }
  })

/** Removes a workstream's directory and forgets its cached state. */
export const removeTarget = (local: Local, method: string, id: WorkstreamId) =>
  Effect.zipRight(Effect.sync(() => local.states.delete(id)), removeDir(local.pool, local.paths, method, id))

/** Removes the log directory of a deleted workstream, then its deletion record. */
export const finishDeletion = (local: Local, method: string, id: WorkstreamId) =>
  Effect.zipRight(removeTarget(local, method, id), db(method)(local.q.unmarkDeleting(id)))
