/**
 * Crash recovery when the store opens, under the write lock (so no other process is mid-write): committed
 * promotions are finished and unclaimed staging directories removed, interrupted deletes finished, and every index
 * whose counters or byte length disagree with its log is caught up or rebuilt.
 */
import { Effect } from "effect"
import { sizeOf } from "../logfile.js"
import { finishDeletion, finishPromotions, sweepStaging } from "./cleanup.js"
import { db, io } from "./files.js"
import { reconcile } from "./reconcile.js"
import type { Local } from "./store.js"

export const recoverOnOpen = (local: Local, method: string) =>
  local.writer.exclusive(
    method,
    Effect.gen(function*() {
      yield* finishPromotions(local, method, {})
      yield* sweepStaging(local, method)
      const deletions = yield* db(method)(local.q.deletions)
      yield* Effect.forEach(deletions, (d) => finishDeletion(local, method, d.workstream_id), { discard: true })
      for (const ws of yield* db(method)(local.q.openChecks)) {
        const lost = (ws.max_seq ?? 0) !== ws.message_count
        if (lost) {
          yield* Effect.logWarning("workstream index does not match its counters; rebuilding it from the log")
            .pipe(Effect.annotateLogs({ workstream: ws.id }))
        }
        const size = yield* io(method, () => sizeOf(local.paths.logOf(ws.id)))
        if (lost || size !== ws.log_bytes) {
          yield* Effect.catchTag(reconcile(local, method, ws.id, lost), "NotFound", () => Effect.void)
        }
      }
    }),
    true
  )
