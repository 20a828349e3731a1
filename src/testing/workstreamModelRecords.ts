/** The record operations of `WorkstreamStoreModel`: create, get, list and update, each checked against the model. */
import { expect } from "@effect/vitest"
import { Effect, Option } from "effect"
import { SCRATCH_ID } from "../Ids.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { expectWorkstream, outcomeOf, STATES } from "./workstreamModelState.js"
import type { ModelWs, Run } from "./workstreamModelState.js"

export interface CreateOp {
  readonly _tag: "create"
  readonly ws: number
  readonly tags: number
}

export interface GetOp {
  readonly _tag: "get"
  readonly ws: number
}

export interface UpdateOp {
  readonly _tag: "update"
  readonly ws: number
  readonly title: boolean
  readonly state: number
  readonly tags: number
}

export const createOp = (run: Run, op: CreateOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.ids[op.ws]!
    const result = yield* outcomeOf(s.create({ id, title: `t${op.ws}`, tags: run.tagsOf(op.tags) }))
    if (run.model.has(id)) return expect(result.tag).toBe("InvalidInput")
    const ws: ModelWs = { title: `t${op.ws}`, state: "active", tags: run.tagsOf(op.tags), updatedAt: run.now, messages: [], summaries: [], prunedThrough: 0 }
    run.model.set(id, ws)
    expect(result.tag).toBe("success")
    if (result.tag === "success") expectWorkstream(result.value, ws, id)
    return
  })

export const getOp = (run: Run, op: GetOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.idOf(op.ws)
    const found = yield* s.get(id)
    const ws = run.model.get(id)
    expect(Option.isSome(found)).toBe(ws !== undefined)
    if (Option.isSome(found) && ws !== undefined) expectWorkstream(found.value, ws, id)
  })

/** The run's workstreams (all carry its tag but scratch), newest first, each as the model has it. */
export const listOp = (run: Run) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const listed = yield* s.list({ tag: run.tag, limit: 1000 })
    const expected = Array.from(run.model, ([id, ws]) => ({ id, ws }))
      .filter((x) => x.ws.tags.includes(run.tag))
      .sort((a, b) => b.ws.updatedAt - a.ws.updatedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    expect(listed.items.map((w) => w.id)).toEqual(expected.map((x) => x.id))
    listed.items.forEach((w, i) => expectWorkstream(w, expected[i]!.ws, expected[i]!.id))
  })

export const updateOp = (run: Run, op: UpdateOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.idOf(op.ws)
    const state = op.state < STATES.length ? STATES[op.state]! : undefined
    const patch = {
      ...(op.title ? { title: `u${run.ops}` } : {}),
      ...(state !== undefined ? { state } : {}),
      ...(op.tags > 0 ? { tags: run.tagsOf(op.tags - 1) } : {})
    }
    const result = yield* outcomeOf(s.update(id, patch))
    const ws = run.model.get(id)
    if (id === SCRATCH_ID && state === "archived") return expect(result.tag).toBe("InvalidInput")
    if (ws === undefined) return expect(result.tag).toBe("NotFound")
    if (patch.title !== undefined) ws.title = patch.title
    if (state !== undefined) ws.state = state
    if (patch.tags !== undefined) ws.tags = patch.tags
    ws.updatedAt = run.now
    expect(result.tag).toBe("success")
    if (result.tag === "success") expectWorkstream(result.value, ws, id)
    return
  })
