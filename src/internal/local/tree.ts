/**
 * Branches on the local store. A branch is its record (a row, and `workstream.json` in its directory) and a log of
 * its own lines only, whose seqs start after its fork point: making one writes no message. Everything here runs
 * under the write lock, where a branch's source cannot be deleted or promoted from under it, since both check for
 * branches under the same lock.
 */
import { Context, Effect, Option } from "effect"
import type { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { BranchRequest, BranchResult, DeleteResult } from "../../WorkstreamStore.js"
import { sizeOf } from "../logfile.js"
import { keyOf } from "../retentionRow.js"
import { finishDeletion, finishPromotions } from "./cleanup.js"
import { db, io } from "./files.js"
import { prunedAt } from "./prune.js"
import { reconcile } from "./reconcile.js"
import { saveRecord } from "./record.js"
import type { Local } from "./store.js"

/** The steps of a branch, in order, for crash tests. */
export type BranchStep = "recorded" | "committed"

/** Called after each step of a branch; crash tests provide one that kills the process at a chosen step. */
export class BranchHook extends Context.Reference<BranchHook>()("arawn-store/WorkstreamStore/Local/BranchHook", {
  defaultValue: (): { readonly reached: (step: BranchStep) => Effect.Effect<void> } => ({ reached: () => Effect.void })
}) {}

/** `Driver.branch`: the record alone, checked against its source under the write lock. */
export const branch = (local: Local, method: string, request: BranchRequest): Effect.Effect<BranchResult, StorageError> =>
  Effect.gen(function*() {
    const hook = yield* BranchHook
    const ws = request.workstream
    const made = yield* local.writer.exclusive(method, Effect.gen(function*() {
      yield* finishPromotions(local, method, { id: request.source })
      const source = yield* db(method)(local.q.logState(request.source))
      if (Option.isNone(source)) return { _tag: "NotFound" } as const
      if (source.value.message_count < request.atSeq) return { _tag: "OutOfRange", count: source.value.message_count } as const
      // A prune may have run since the kernel looked: the fork point's message must still be on the path.
      const pruned = yield* prunedAt(local, method, request.source, request.atSeq)
      if (Option.isSome(pruned)) return { _tag: "Pruned", through: pruned.value } as const
      if (yield* db(method)(local.q.isDeleting(ws.id))) yield* finishDeletion(local, method, ws.id)
      if (Option.isSome(yield* db(method)(local.q.logState(ws.id)))) return { _tag: "Taken" } as const
      local.states.delete(ws.id)
      const key = yield* db(method)(local.q.insertWorkstream(ws))
      yield* db(method)(local.q.setCounters(key, {
        message_count: request.atSeq,
        log_bytes: 0,
        log_lines: 0,
        last_message_at: ws.lastMessageAt?.epochMillis ?? null
      }))
      yield* saveRecord(local, method, ws)
      yield* hook.reached("recorded")
      // A log already at this path (one the original runtime wrote, say) is adopted as the branch's own lines.
      if ((yield* io(method, () => sizeOf(local.paths.logOf(ws.id)))) > 0) {
        yield* Effect.catchTag(reconcile(local, method, ws.id, false), "NotFound", () => Effect.void)
        const indexed = yield* db(method)(local.q.workstream(ws.id))
        return { _tag: "Branched", workstream: Option.getOrElse(indexed, () => ws) } as const
      }
      return { _tag: "Branched", workstream: ws } as const
    }), true)
    if (made._tag === "Branched") yield* hook.reached("committed")
    return made
  })

/**
 * `Driver.delete`: the metadata of the workstream (and with `subtree` of every branch below it) removed in one
 * transaction with a deletion record each, then each log directory in a second one, as a plain delete does.
 */
export const remove = (local: Local, method: string, id: WorkstreamId, subtree: boolean): Effect.Effect<DeleteResult, StorageError> =>
  Effect.gen(function*() {
    const removeMetadata = Effect.gen(function*() {
      if (Option.isNone(yield* db(method)(local.q.logState(id)))) return { _tag: "Deleted", removed: [] } as const
      const branches = yield* db(method)(local.q.branches(id))
      if (branches.length > 0 && !subtree) return { _tag: "HasBranches", branches } as const
      const removed = branches.length === 0 ? [id] : yield* db(method)(local.q.subtree(id))
      for (const target of removed) {
        const state = yield* db(method)(local.q.logState(target))
        if (Option.isNone(state)) continue
        local.states.delete(target)
        const key = state.value.key
        // Its own retention policy goes with it: a later workstream given the same id starts without one.
        const { kind, target: name } = keyOf({ workstreamId: target })
        yield* db(method)(Effect.all([
          local.q.clearIndex(key),
          local.q.deleteWorkstream(key),
          local.q.clearRetention(kind, name),
          local.q.markDeleting(target)
        ], { discard: true }))
      }
      return { _tag: "Deleted", removed } as const
    })
    const result = yield* local.writer.exclusive(method, removeMetadata, true)
    if (result._tag === "Deleted" && result.removed.length > 0) {
      // The directories go in a second transaction, never outside the lock (a create of the same id may follow).
      yield* local.writer.exclusive(method, Effect.forEach(result.removed, (target) =>
        Effect.flatMap(db(method)(local.q.isDeleting(target)), (marked) => marked ? finishDeletion(local, method, target) : Effect.void), { discard: true }), true)
    }
    return result
  })
