/**
 * A model-based property test of a WorkstreamStore: random sequences of operations (create, get, list, update,
 * delete, branches and forks, append batches, loads with filters, summaries and context reads, retention policies
 * and prunes with small budgets, ensureScratch, promoteScratch, ticks of the clock, and groups of
 * appends and loads run by concurrent fibers) are run against one Layer and, step by step, against a pure
 * reference model; every result must be the model's.
 *
 * @since 0.1.0
 */
import { expect, layer } from "@effect/vitest"
import { Clock, Duration, Effect, FastCheck as fc, Option, Runtime, TestClock } from "effect"
import type { Layer } from "effect"
import { SCRATCH_ID, WorkstreamId } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { isolated, untyped, uuid } from "./internal.js"
import { expectMessages, expectWorkstream, outcomeOf, POOL, Run, visibleMessages } from "./workstreamModelState.js"
import { clearPolicies, pruneArb, pruneOp, retentionArb, retentionOp } from "./workstreamModelPrune.js"
import type { PruneOp, RetentionOp } from "./workstreamModelPrune.js"
import { createOp, getOp, listOp, updateOp } from "./workstreamModelRecords.js"
import type { CreateOp, GetOp, UpdateOp } from "./workstreamModelRecords.js"
import { branchOp, deleteOp, forkOp } from "./workstreamModelTree.js"
import type { BranchOp, DeleteOp, ForkOp } from "./workstreamModelTree.js"
import { contextArb, contextOp, expectSummaries, promoteOp, summarizeArb, summarizeOp } from "./workstreamModelOverlays.js"
import type { ContextOp, SummarizeOp } from "./workstreamModelOverlays.js"

/** How much to run: `runs` sequences of `opsPerRun` operations (default 20 x 100). @category options */
export interface ModelOptions {
  readonly runs?: number
  readonly opsPerRun?: number
  /** A fast-check seed, to replay a failing run. */
  readonly seed?: number
}

const SESSIONS: ReadonlyArray<SessionId> = [untyped("5a1e0000-0000-4000-8000-000000000001"), untyped("5a1e0000-0000-4000-8000-000000000002")]

type IdChoice = "auto" | "fresh" | "existing" | "repeat"
interface NewMsg {
  readonly id: IdChoice
  readonly session: number
}
type Op =
  | CreateOp
  | GetOp
  | { readonly _tag: "list" }
  | UpdateOp
  | DeleteOp
  | BranchOp
  | ForkOp
  | RetentionOp
  | PruneOp
  | SummarizeOp
  | ContextOp
  | { readonly _tag: "append"; readonly ws: number; readonly batch: ReadonlyArray<NewMsg> }
  | { readonly _tag: "load"; readonly ws: number; readonly limit: number; readonly before: number; readonly after: number; readonly session: number }
  | { readonly _tag: "ensureScratch" }
  | { readonly _tag: "promote" }
  | { readonly _tag: "tick" }
  | { readonly _tag: "concurrent"; readonly ops: ReadonlyArray<Op> }

/** Workstream `POOL` is scratch; the others are the run's own ids. */
const wsArb = fc.integer({ min: 0, max: POOL })
const msgArb = fc.record({
  id: fc.constantFrom<IdChoice>("auto", "auto", "auto", "fresh", "existing", "repeat"),
  session: fc.integer({ min: 0, max: 2 })
})
const appendArb = fc.record({ _tag: fc.constant("append" as const), ws: wsArb, batch: fc.array(msgArb, { minLength: 1, maxLength: 3 }) })
const loadArb = fc.record({
  _tag: fc.constant("load" as const),
  ws: wsArb,
  limit: fc.integer({ min: 0, max: 4 }),
  before: fc.integer({ min: 0, max: 8 }),
  after: fc.integer({ min: 0, max: 8 }),
  session: fc.integer({ min: 0, max: 2 })
})
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("create" as const), ws: fc.integer({ min: 0, max: POOL - 1 }), tags: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("get" as const), ws: wsArb }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "list" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("update" as const),
      ws: wsArb,
      title: fc.boolean(),
      state: fc.integer({ min: 0, max: 3 }),
      tags: fc.integer({ min: 0, max: 3 })
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("delete" as const), ws: fc.integer({ min: 0, max: POOL - 1 }), subtree: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("branch" as const),
      ws: fc.integer({ min: 0, max: POOL - 1 }),
      source: fc.integer({ min: 0, max: POOL - 1 }),
      at: fc.integer({ min: 0, max: 8 })
    })
  },
  { weight: 2, arbitrary: fc.record({ _tag: fc.constant("fork" as const), source: fc.integer({ min: 0, max: POOL - 1 }), at: fc.integer({ min: 0, max: 8 }), copy: fc.boolean() }) },
  { weight: 3, arbitrary: retentionArb },
  { weight: 3, arbitrary: pruneArb },
  { weight: 6, arbitrary: appendArb },
  { weight: 3, arbitrary: summarizeArb(wsArb) },
  { weight: 1, arbitrary: contextArb(wsArb) },
  { weight: 2, arbitrary: loadArb },
  { weight: 1, arbitrary: fc.constant({ _tag: "ensureScratch" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "promote" as const }) },
  { weight: 1, arbitrary: fc.constant({ _tag: "tick" as const }) },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("concurrent" as const), ops: fc.array(fc.oneof(appendArb, appendArb, loadArb), { minLength: 2, maxLength: 4 }) }) }
)

// --- one step --------------------------------------------------------------------------------------------------

/** The batch's inputs, and whether the model must refuse it (an id the workstream holds, or one given twice). */
const inputsOf = (run: Run, wsId: string, batch: ReadonlyArray<NewMsg>) => {
  // Ids are unique per workstream's own log: a branch may be given an id it shows but its source stores. A pruned
  // message's id is never given again (the model does not say whether a store still knows it).
  const existing = visibleMessages(run, wsId).filter((m) => m.owner === wsId)
  const inputs = batch.map((m, i) => {
    const id = m.id === "fresh" ? uuid() : m.id === "existing" && existing.length > 0
      ? existing[(run.contents + i) % existing.length]!.id
      : undefined
    return {
      role: "user" as const,
      // Unique across runs too: the scratch workstream outlives a run, and an "existing" id given with a stored
      // message's very content would be a retry (the same write), not the refused clash the model expects.
      content: `${run.tag}:m${run.contents++}`,
      ...(id !== undefined ? { id } : {}),
      ...(m.session < SESSIONS.length ? { sessionId: SESSIONS[m.session]! } : {})
    }
  })
  // "repeat" gives a message the id of the batch's first one: a batch that names one id twice.
  const repeat = batch.findIndex((m, i) => i > 0 && m.id === "repeat")
  const withRepeat: Array<(typeof inputs)[number]> = [...inputs]
  if (repeat > 0) {
    const shared = inputs[0]!.id ?? uuid()
    withRepeat[0] = { ...inputs[0]!, id: shared }
    withRepeat[repeat] = { ...inputs[repeat]!, id: shared }
  }
  const given = withRepeat.flatMap((x) => (x.id !== undefined ? [x.id] : []))
  const taken = new Set(existing.map((m) => m.id))
  // A batch naming one id twice is refused before the workstream is looked up; a taken id only if it exists.
  const repeated = new Set(given).size !== given.length
  const refused = repeated || given.some((id) => taken.has(id))
  return { inputs: withRepeat, refused, repeated }
}

const append = (run: Run, op: Extract<Op, { _tag: "append" }>) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.idOf(op.ws)
    const { inputs, refused, repeated } = inputsOf(run, id, op.batch)
    const result = yield* outcomeOf(s.storeMessages(id, inputs))
    return { id, inputs, refused, repeated, result }
  })

/** Applies an append's outcome to the model after checking it; appends of one concurrent group apply in seq order. */
const applyAppend = (run: Run, done: Effect.Effect.Success<ReturnType<typeof append>>) => {
  const ws = run.model.get(done.id)
  if (done.repeated) return expect(done.result.tag).toBe("InvalidInput")
  if (ws === undefined) return expect(done.result.tag).toBe("NotFound")
  if (done.refused) return expect(done.result.tag).toBe("InvalidInput")
  expect(done.result.tag).toBe("success")
  if (done.result.tag !== "success") return
  const stored = done.result.value
  expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => ws.messages.length + 1 + i))
  expect(stored.map((m) => m.content)).toEqual(done.inputs.map((x) => x.content))
  ws.messages.push(...stored.map((m) => ({ owner: done.id, id: m.id, seq: m.seq, content: m.content, sessionId: m.sessionId, at: m.timestamp.epochMillis })))
  ws.updatedAt = run.now
}

const load = (run: Run, op: Extract<Op, { _tag: "load" }>) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const id = run.idOf(op.ws)
    const query = {
      ...(op.limit > 0 ? { limit: op.limit } : {}),
      ...(op.before > 0 ? { beforeSeq: op.before } : {}),
      ...(op.after > 0 ? { afterSeq: op.after } : {}),
      ...(op.session < SESSIONS.length ? { sessionId: SESSIONS[op.session]! } : {})
    }
    const result = yield* outcomeOf(s.loadMessages(id, query))
    return { id, op, result }
  })

const checkLoad = (run: Run, done: Effect.Effect.Success<ReturnType<typeof load>>) => {
  const ws = run.model.get(done.id)
  if (ws === undefined) return expect(done.result.tag).toBe("NotFound")
  expect(done.result.tag).toBe("success")
  const { op } = done
  const matching = visibleMessages(run, done.id).filter((m) =>
    (op.before === 0 || m.seq < op.before) && (op.after === 0 || m.seq > op.after) &&
    (op.session >= SESSIONS.length || m.sessionId === SESSIONS[op.session])
  )
  if (done.result.tag === "success") expectMessages(done.result.value, op.limit > 0 ? matching.slice(-op.limit) : matching)
}

/** A group of appends and loads run by concurrent fibers: appends serialize in some order, loads see a prefix. */
const concurrent = (run: Run, ops: ReadonlyArray<Op>) =>
  Effect.gen(function*() {
    const appends = ops.filter((o): o is Extract<Op, { _tag: "append" }> => o._tag === "append")
    // Ids are drawn before the group starts, against the model as it stands, so a refusal is decidable whatever
    // order the fibers run in: the group's given ids are made distinct from each other.
    const results = yield* Effect.all(
      ops.map((o) => o._tag === "append" ? Effect.map(append(run, o), (a) => ({ kind: "append" as const, a })) : Effect.map(load(run, o as Extract<Op, { _tag: "load" }>), (l) => ({ kind: "load" as const, l }))),
      { concurrency: "unbounded" }
    )
    const done = results.flatMap((r) => (r.kind === "append" ? [r.a] : []))
    const refusedAcross = done.filter((d) => d.result.tag === "InvalidInput" && !d.refused)
    // Two fibers giving the same fresh id to one workstream: exactly one may win, the others are refused.
    for (const d of refusedAcross) {
      const mine = new Set(d.inputs.flatMap((x) => (x.id !== undefined ? [x.id] : [])))
      const rival = done.some((o) => o !== d && o.id === d.id && o.result.tag === "success" && o.inputs.some((x) => x.id !== undefined && mine.has(x.id)))
      expect(rival).toBe(true)
    }
    const ordered = done
      .filter((d) => !refusedAcross.includes(d))
      .sort((x, y) => firstSeq(x) - firstSeq(y))
    for (const d of ordered) applyAppend(run, d)
    for (const r of results) {
      if (r.kind !== "load") continue
      const ws = run.model.get(r.l.id)
      if (ws === undefined || r.l.result.tag !== "success") {
        expect(r.l.result.tag).toBe(ws === undefined ? "NotFound" : "success")
        continue
      }
      // A load saw the log as of some moment of the group: every message it returns is the model's, in order.
      const byId = new Map(visibleMessages(run, r.l.id).map((m) => [m.seq, m] as const))
      for (const m of r.l.result.value) expect(byId.get(m.seq)?.id).toBe(m.id)
      expect(r.l.result.value.map((m) => m.seq)).toEqual([...r.l.result.value.map((m) => m.seq)].sort((a, b) => a - b))
    }
    run.ops += appends.length
  })

const firstSeq = (d: Effect.Effect.Success<ReturnType<typeof append>>) =>
  d.result.tag === "success" ? d.result.value[0]?.seq ?? 0 : Number.MAX_SAFE_INTEGER

const step = (run: Run, op: Op): Effect.Effect<void, unknown, WorkstreamStore> =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    run.ops++
    switch (op._tag) {
      case "create":
        return yield* createOp(run, op)
      case "get":
        return yield* getOp(run, op)
      case "list":
        return yield* listOp(run)
      case "update":
        return yield* updateOp(run, op)
      case "delete":
        return yield* deleteOp(run, op)
      case "branch":
        return yield* branchOp(run, op)
      case "fork":
        return yield* forkOp(run, op)
      case "retention":
        return yield* retentionOp(run, op)
      case "prune":
        return yield* pruneOp(run, op)
      case "summarize":
        return yield* summarizeOp(run, op)
      case "context":
        return yield* contextOp(run, op)
      case "append":
        return applyAppend(run, yield* append(run, op))
      case "load":
        return checkLoad(run, yield* load(run, op))
      case "ensureScratch": {
        const scratch = yield* s.ensureScratch()
        const ws = run.model.get(SCRATCH_ID)
        if (ws !== undefined) expectWorkstream(scratch, ws, SCRATCH_ID)
        else {
          run.model.set(SCRATCH_ID, { title: scratch.title, state: scratch.state, tags: scratch.tags, updatedAt: run.now, messages: [], summaries: [], prunedThrough: 0 })
          expect(scratch.messageCount).toBe(0)
        }
        return
      }
      case "promote":
        return yield* promoteOp(run)
      case "tick": {
        yield* TestClock.adjust(Duration.seconds(1))
        run.now += 1000
        return
      }
      case "concurrent":
        return yield* concurrent(run, op.ops)
    }
  })

/** Seeds a run's model with scratch as the store has it (scratch is shared by every run on one store). */
const begin = (run: Run) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const scratch = yield* s.ensureScratch()
    const messages = yield* s.loadMessages(SCRATCH_ID)
    run.now = yield* Clock.currentTimeMillis
    run.model.set(SCRATCH_ID, {
      title: scratch.title,
      state: scratch.state,
      tags: scratch.tags,
      updatedAt: scratch.updatedAt.epochMillis,
      messages: messages.map((m) => ({ owner: SCRATCH_ID, id: m.id, seq: m.seq, content: m.content, sessionId: m.sessionId, at: m.timestamp.epochMillis })),
      prunedThrough: scratch.prunedThrough ?? 0,
      summaries: (yield* s.listSummaries(SCRATCH_ID)).map((x) => ({ id: x.id, owner: SCRATCH_ID, fromSeq: x.fromSeq, toSeq: x.toSeq, createdAt: x.createdAt.epochMillis }))
    })
  })

/** Runs `ops` against the store in context and the model; fails at the first disagreement. */
export const check = (ops: ReadonlyArray<Op>) =>
  Effect.gen(function*() {
    const run = new Run()
    return yield* Effect.ensuring(
      Effect.gen(function*() {
        yield* begin(run)
        for (const op of ops) yield* step(run, op)
        // Whatever happened, each workstream's log is gap-free after what was pruned, and its count right.
        const s = yield* WorkstreamStore
        for (const [id, ws] of run.model) {
          const got = yield* s.get(WorkstreamId.make(id))
          expectWorkstream(Option.getOrThrow(got), ws, id)
          expectMessages(yield* s.loadMessages(WorkstreamId.make(id)), visibleMessages(run, id))
          yield* expectSummaries(run, id)
        }
        return run.ops
      }),
      clearPolicies(run)
    )
  })

/** The operations of one run, for replaying a shrunk counterexample as a plain test. @category models */
export type Operation = Op

/**
 * Registers the model-based run for `storeLayer` under `name`: `runs` sequences of `opsPerRun` operations (the
 * environment variable `ARAWN_MODEL_OPS` raises the total, e.g. `ARAWN_MODEL_OPS=10000`). The layer must not be
 * shared with other suites (runs use the store's `scratch` workstream).
 *
 * @category suites
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<WorkstreamStore, E>, options: ModelOptions = {}): void =>
  layer(storeLayer, { timeout: Duration.minutes(10) })(name, (it) => {
    const opsPerRun = options.opsPerRun ?? 100
    const total = Number(process.env["ARAWN_MODEL_OPS"] ?? 0)
    const runs = Math.max(options.runs ?? 20, Math.ceil(total / opsPerRun))
    it.effect(`${runs} random runs of ${opsPerRun} operations agree with the reference model`, () =>
      isolated(Effect.gen(function*() {
        const runtime = yield* Effect.runtime<WorkstreamStore>()
        let executed = 0
        // Lengths vary (from 1, so a failure shrinks to a short sequence); rounds repeat until the total is run.
        const property = fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 2 * opsPerRun, size: "max" }), async (ops) => {
          executed += await Runtime.runPromise(runtime)(check(ops))
        })
        for (let round = 0; executed < runs * opsPerRun; round++) {
          const seed = options.seed === undefined ? {} : { seed: options.seed + round }
          yield* Effect.promise(() => fc.assert(property, { numRuns: runs, ...seed }))
        }
        expect(executed).toBeGreaterThanOrEqual(runs * opsPerRun)
      })), { timeout: 600_000 })
  })
