/** The branch operations of `WorkstreamStoreModel`: branches with chosen ids, and deletes with or without their subtree. */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { expectWorkstream, outcomeOf } from "./workstreamModelState.js"
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
    for (const gone of [id, ...below]) run.model.delete(gone)
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
    if (run.model.has(id) || source === undefined) return expect(result.tag).toBe("InvalidInput")
    const ws: ModelWs = { title: `b${op.ws}`, state: "active", tags, updatedAt: run.now, messages: source.messages.slice(0, at), parent: sourceId, forkAt: at, summaries: [] }
    run.model.set(id, ws)
    expect(result.tag).toBe("success")
    if (result.tag === "success") expectWorkstream(result.value, ws, id)
    return
  })
