/**
 * The operations of `WorkstreamStoreModel` that make, show or move summaries: summarize, loadContext (checked
 * against a resolution of the model's own, seq by seq), listSummaries, and promoteScratch, which moves scratch's
 * summaries with its messages.
 */
import { expect } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { SCRATCH_ID, WorkstreamId } from "../Ids.js"
import type { ContextItem } from "../WorkstreamContext.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { expectMessages, expectWorkstream, outcomeOf, visibleMessages } from "./workstreamModelState.js"
import type { ModelSummary, ModelWs, Run } from "./workstreamModelState.js"

export interface SummarizeOp {
  readonly _tag: "summarize"
  readonly ws: number
  readonly from: number
  readonly length: number
  /** When given, the range ends this many seqs before the path's last (and starts at seq 1 + `from`). */
  readonly toEnd?: number
}

export interface ContextOp {
  readonly _tag: "context"
  readonly ws: number
  readonly limit: number
}

/** A range anywhere, or (as a compaction makes them, and as prune needs) one from seq 1 to `toEnd` before the last. */
export const summarizeArb = (ws: fc.Arbitrary<number>): fc.Arbitrary<SummarizeOp> =>
  fc.oneof(
    fc.record({ _tag: fc.constant("summarize" as const), ws, from: fc.integer({ min: 0, max: 8 }), length: fc.integer({ min: 0, max: 4 }) }),
    { weight: 2, arbitrary: fc.record({ _tag: fc.constant("summarize" as const), ws, from: fc.constant(0), length: fc.constant(0), toEnd: fc.integer({ min: 0, max: 3 }) }) }
  )

export const contextArb = (ws: fc.Arbitrary<number>): fc.Arbitrary<ContextOp> =>
  fc.record({ _tag: fc.constant("context" as const), ws, limit: fc.integer({ min: 0, max: 5 }) })

const byAge = (a: ModelSummary, b: ModelSummary) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** What `id`'s path shows: its own summaries, and its source's up to its fork point (recursively), oldest first. */
export const visible = (run: Run, id: string): Array<ModelSummary> => {
  const ws = run.model.get(id)
  if (ws === undefined) return []
  const inherited = ws.parent === undefined ? [] : visible(run, ws.parent).filter((x) => x.toSeq <= (ws.forkAt ?? 0))
  return [...inherited, ...ws.summaries].sort(byAge)
}

/** Seq by seq, the summary standing over it: the newest over it that nothing newer overlaps (undefined: none). */
export const claimsOf = (run: Run, id: string): Array<ModelSummary | undefined> => {
  const claimed: Array<ModelSummary | undefined> = []
  for (const x of visible(run, id).reverse()) {
    const free = Array.from({ length: x.toSeq - x.fromSeq + 1 }, (_, i) => claimed[x.fromSeq + i]).every((c) => c === undefined)
    if (free) for (let seq = x.fromSeq; seq <= x.toSeq; seq++) claimed[seq] = x
  }
  return claimed
}

/** The context the model expects: each summary once, at its first seq; each message no summary claims, if not pruned. */
const expectedContext = (run: Run, id: string, ws: ModelWs, limit: number) => {
  const claimed = claimsOf(run, id)
  const shown = new Map(visibleMessages(run, id).map((m) => [m.seq, m] as const))
  const items: Array<ReadonlyArray<unknown>> = []
  for (let seq = 1; seq <= ws.messages.length; seq++) {
    const x = claimed[seq]
    const m = shown.get(seq)
    if (x === undefined && m !== undefined) items.push(["m", m.seq, m.id])
    else if (x !== undefined && x.fromSeq === seq) items.push(["s", x.id])
  }
  return limit > 0 ? items.slice(-limit) : items
}

const shape = (items: ReadonlyArray<ContextItem>) =>
  items.map((i) => (i._tag === "Message" ? ["m", i.message.seq, i.message.id] : ["s", i.summary.id]))

export const summarizeOp = (run: Run, op: SummarizeOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.idOf(op.ws)
    const ws = run.model.get(id)
    const count = ws?.messages.length ?? 0
    const fromSeq = 1 + (op.from % Math.max(count, 1))
    const toSeq = op.toEnd === undefined ? fromSeq + op.length : Math.max(fromSeq, count - op.toEnd)
    const result = yield* outcomeOf(s.summarize(id, { fromSeq, toSeq, content: `${run.tag}:s${run.contents++}` }))
    if (ws === undefined) return expect(result.tag).toBe("NotFound")
    if (toSeq > count) return expect(result.tag).toBe("InvalidInput")
    expect(result.tag).toBe("success")
    if (result.tag !== "success") return
    expect([result.value.workstreamId, result.value.fromSeq, result.value.toSeq, result.value.createdAt.epochMillis]).toEqual([id, fromSeq, toSeq, run.now])
    ws.summaries.push({ id: result.value.id, owner: id, fromSeq, toSeq, createdAt: run.now })
    return
  })

export const contextOp = (run: Run, op: ContextOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.idOf(op.ws)
    const ws = run.model.get(id)
    const result = yield* outcomeOf(s.loadContext(id, op.limit > 0 ? { limit: op.limit } : {}))
    if (ws === undefined) return expect(result.tag).toBe("NotFound")
    expect(result.tag).toBe("success")
    if (result.tag === "success") expect(shape(result.value)).toEqual(expectedContext(run, id, ws, op.limit))
    return
  })

/** listSummaries and the whole context of `id` agree with the model. */
export const expectSummaries = (run: Run, id: string) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const ws = run.model.get(id)!
    const listed = yield* s.listSummaries(WorkstreamId.make(id))
    expect(listed.map((x) => [x.id, x.workstreamId, x.fromSeq, x.toSeq])).toEqual(visible(run, id).map((x) => [x.id, x.owner, x.fromSeq, x.toSeq]))
    expect(shape(yield* s.loadContext(WorkstreamId.make(id)))).toEqual(expectedContext(run, id, ws, 0))
  })

/** promoteScratch: scratch's messages and summaries move into a new workstream; scratch is left empty. */
export const promoteOp = (run: Run) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const result = yield* outcomeOf(s.promoteScratch({ title: `p${run.ops}`, tags: [run.tag] }))
    const scratch = run.model.get(SCRATCH_ID)
    if (scratch === undefined || scratch.messages.length === 0) return expect(result.tag).toBe("InvalidInput")
    expect(result.tag).toBe("success")
    if (result.tag !== "success") return
    const to = result.value.id
    const messages = scratch.messages.map((m) => ({ ...m, owner: to }))
    const summaries = scratch.summaries.map((x) => ({ ...x, owner: to }))
    const moved: ModelWs = { title: `p${run.ops}`, state: "active", tags: [run.tag], updatedAt: run.now, messages, summaries, prunedThrough: 0 }
    expectWorkstream(result.value, moved, to)
    expectMessages(yield* s.loadMessages(to), moved.messages)
    run.model.set(to, moved)
    scratch.messages = []
    scratch.summaries = []
    scratch.updatedAt = run.now
    yield* expectSummaries(run, to)
    return
  })
