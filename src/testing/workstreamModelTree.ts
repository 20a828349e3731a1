/** The branch operations of `WorkstreamStoreModel`: branches with chosen ids, and deletes with or without their subtree. */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { expectMessages, expectWorkstream, outcomeOf, pathPruned, visibleMessages } from "./workstreamModelState.js"
import type { ModelWs, Run } from "./workstreamModelState.js"

export interface DeleteOp {
  readonly _tag: "delete"
  readonly ws: number
  readonly subtree: boolean
}

export interface BranchOp {
  readonly _tag: "branch"
  readonly ws: number
  readonly source: number
  readonly at: number
}

export interface ForkOp {
  readonly _tag: "fork"
  readonly source: number
  readonly at: number
  readonly copy: boolean
}

/** A branch (or copy) at `at` of a path whose first `gone` seqs were pruned is refused: nothing there to start from. */
const belowPruned = (at: number, gone: number) => at > 0 && at <= gone

/** The branches of `id` in the model, recursively. */
export const subtreeOf = (run: Run, id: string): Array<string> =>
  Array.from(run.model).filter(([, ws]) => ws.parent === id).flatMap(([child]) => [child, ...subtreeOf(run, child)])

/** A delete is refused while branches share the workstream's messages, unless it takes them too. */
export const deleteOp = (run: Run, op: DeleteOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.ids[op.ws]!
    const result = yield* outcomeOf(s.delete(id, { subtree: op.subtree }))
    const below = subtreeOf(run, id)
    if (below.length > 0 && !op.subtree) return expect(result.tag).toBe("InvalidInput")
    expect(result.tag).toBe("success")
    for (const gone of [id, ...below]) {
      // A workstream's own retention policy goes with it.
      if (run.model.delete(gone)) run.policies.delete(`w:${gone}`)
    }
    return
  })

/** A branch with a chosen id (as a copy of a store makes one): the source's path up to `at`, nothing copied. */
export const branchOp = (run: Run, op: BranchOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.ids[op.ws]!
    const sourceId = run.ids[op.source]!
    const source = run.model.get(sourceId)
    const at = Math.min(op.at, source?.messages.length ?? 0)
    const tags = run.tagsOf(1)
    const result = yield* outcomeOf(s.create({ id, title: `b${op.ws}`, tags, forkedFrom: { workstreamId: sourceId, seq: at, shared: true } }))
    if (run.model.has(id) || source === undefined || belowPruned(at, pathPruned(run, sourceId))) return expect(result.tag).toBe("InvalidInput")
    const ws: ModelWs = { title: `b${op.ws}`, state: "active", tags, updatedAt: run.now, messages: source.messages.slice(0, at), parent: sourceId, forkAt: at, summaries: [], prunedThrough: 0 }
    run.model.set(id, ws)
    expect(result.tag).toBe("success")
    if (result.tag === "success") expectWorkstream(result.value, ws, id)
    return
  })

/**
 * `fork`: a branch (its source's path up to `at`, nothing copied) or, with `copy`, a copy with fresh message ids,
 * which a branch or a pruned workstream cannot give (its messages are not all its own). The new workstream joins
 * the model under the id the store gave it.
 */
export const forkOp = (run: Run, op: ForkOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const sourceId = run.ids[op.source]!
    const source = run.model.get(sourceId)
    const at = Math.min(op.at, source?.messages.length ?? 0)
    const result = yield* outcomeOf(s.fork(sourceId, { atSeq: at, title: `f${run.ops}`, tags: [run.tag], copy: op.copy }))
    if (source === undefined) return expect(result.tag).toBe("NotFound")
    const refused = op.copy ? source.parent !== undefined || source.prunedThrough > 0 : belowPruned(at, pathPruned(run, sourceId))
    if (refused) return expect(result.tag).toBe("InvalidInput")
    expect(result.tag).toBe("success")
    if (result.tag !== "success") return
    const id = result.value.id
    const shared = source.messages.slice(0, at)
    const ws: ModelWs = op.copy
      ? { title: `f${run.ops}`, state: "active", tags: [run.tag], updatedAt: run.now, messages: [], summaries: [], prunedThrough: 0 }
      : { title: `f${run.ops}`, state: "active", tags: [run.tag], updatedAt: run.now, messages: shared, parent: sourceId, forkAt: at, summaries: [], prunedThrough: 0 }
    if (op.copy) {
      // The copy's ids are new: take them from the store, the rest must be the source's.
      const copied = yield* s.loadMessages(id)
      expect(copied.map((m) => [m.seq, m.content, m.sessionId])).toEqual(shared.map((m) => [m.seq, m.content, m.sessionId]))
      expect(new Set(copied.map((m) => m.id)).size).toBe(copied.length)
      ws.messages = shared.map((m, i) => ({ ...m, owner: id, id: copied[i]?.id ?? m.id }))
    }
    run.model.set(id, ws)
    expectWorkstream(result.value, ws, id)
    expectMessages(yield* s.loadMessages(id), visibleMessages(run, id))
    return
  })
