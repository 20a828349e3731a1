/**
 * The retention operations of `WorkstreamStoreModel`: setRetention (per workstream and per tag, maxMessages and
 * maxAge, and clearing) and prune (the whole store or one workstream, with small budgets). The model decides on its
 * own what each prune removes and refuses, from its messages, summaries and branches: a prefix of a workstream's
 * own log, only as far as summaries cover every path that reads it, never leaving a gap in a branch's path.
 */
import { expect } from "@effect/vitest"
import { Effect, FastCheck as fc, Option } from "effect"
import { SCRATCH_ID } from "../Ids.js"
import type { WorkstreamId } from "../Ids.js"
import type { PruneReport } from "../WorkstreamRetention.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { outcomeOf, POOL, visibleMessages } from "./workstreamModelState.js"
import type { ModelPolicy, ModelWs, Run } from "./workstreamModelState.js"
import { claimsOf } from "./workstreamModelOverlays.js"

export interface RetentionOp {
  readonly _tag: "retention"
  /** 0..POOL: a workstream (POOL is scratch); POOL + 1 + k: the run's k-th tag (0: the tag every workstream has). */
  readonly target: number
  readonly policy: ModelPolicy | null
}

export interface PruneOp {
  readonly _tag: "prune"
  /** A workstream (0..POOL), or the whole store. */
  readonly ws: number | undefined
  readonly budget: number | undefined
}

export const retentionArb: fc.Arbitrary<RetentionOp> = fc.record({
  _tag: fc.constant("retention" as const),
  // The run's tag (every workstream of the run but scratch carries it) as often as all the other targets together.
  target: fc.oneof(fc.integer({ min: 0, max: POOL + 3 }), fc.constant(POOL + 1)),
  policy: fc.option(
    fc.record({ maxMessages: fc.constantFrom(0, 1, 2, 4), maxAge: fc.constantFrom(0, 1000, 3000) }, { requiredKeys: [] }),
    { nil: null, freq: 4 }
  )
})

export const pruneArb: fc.Arbitrary<PruneOp> = fc.record({
  _tag: fc.constant("prune" as const),
  ws: fc.option(fc.integer({ min: 0, max: POOL }), { nil: undefined }),
  budget: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined, freq: 3 })
})

type Target = { readonly workstreamId: WorkstreamId } | { readonly tag: string }

const targetOf = (run: Run, n: number): Target =>
  n <= POOL ? { workstreamId: run.idOf(n) } : { tag: n === POOL + 1 ? run.tag : `${run.tag}.${["x", "y"][n - POOL - 2]}` }

const keyOf = (t: Target) => ("workstreamId" in t ? `w:${t.workstreamId}` : `t:${t.tag}`)

export const retentionOp = (run: Run, op: RetentionOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const target = targetOf(run, op.target)
    run.targets.set(keyOf(target), target)
    const result = yield* outcomeOf(s.setRetention(target, op.policy))
    if ("workstreamId" in target && !run.model.has(target.workstreamId)) return expect(result.tag).toBe("NotFound")
    expect(result.tag).toBe("success")
    if (op.policy === null) run.policies.delete(keyOf(target))
    else run.policies.set(keyOf(target), op.policy)
    const read = yield* s.getRetention(target)
    expect(Option.getOrUndefined(read)).toEqual(op.policy ?? undefined)
    return
  })

/** Removes every policy the run set: a later run on the same store must start without them. */
export const clearPolicies = (run: Run) =>
  Effect.flatMap(WorkstreamStore, (s) =>
    Effect.forEach(run.targets.values(), (t) => Effect.ignore(s.setRetention(t, null)), { discard: true }))

/** The policy of `id`: its own, else per limit the smallest its tags' policies set. */
const policyOf = (run: Run, id: string, ws: ModelWs): ModelPolicy | undefined => {
  const own = run.policies.get(`w:${id}`)
  if (own !== undefined) return own
  const tagged = ws.tags.flatMap((t) => Option.toArray(Option.fromNullable(run.policies.get(`t:${t}`))))
  if (tagged.length === 0) return undefined
  const least = (xs: ReadonlyArray<number | undefined>) => {
    const set = xs.filter((x): x is number => x !== undefined)
    return set.length === 0 ? undefined : Math.min(...set)
  }
  const maxAge = least(tagged.map((p) => p.maxAge))
  const maxMessages = least(tagged.map((p) => p.maxMessages))
  return { ...(maxAge !== undefined ? { maxAge } : {}), ...(maxMessages !== undefined ? { maxMessages } : {}) }
}

/** The largest t such that seqs 1..t all stand under a summary on `id`'s path. */
const coveredThrough = (run: Run, id: string): number => {
  const claimed = claimsOf(run, id)
  let t = 0
  while (claimed[t + 1] !== undefined) t++
  return t
}

/** The branches reading `id`'s messages, each with the last of its seqs it reaches. */
const readersOf = (run: Run, id: string, reach = Number.POSITIVE_INFINITY): Array<{ readonly id: string; readonly reach: number }> =>
  Array.from(run.model).filter(([, ws]) => ws.parent === id).flatMap(([child, ws]) => {
    const r = Math.min(reach, ws.forkAt ?? 0)
    return [{ id: child, reach: r }, ...readersOf(run, child, r)]
  })

/** What the model expects of one refused workstream: which reasons, and which branches a branch reason may name. */
interface Refusal {
  readonly id: string
  readonly kinds: ReadonlyArray<string>
  readonly branches: ReadonlySet<string>
}

interface Decision {
  readonly pruned: Array<readonly [string, number, number]>
  readonly refused: Array<Refusal>
  done: boolean
}

/** One workstream's part of a prune: how far it goes, and why not further. */
const decideOne = (run: Run, id: string, ws: ModelWs, policy: ModelPolicy, left: number, out: Decision): number => {
  const count = ws.messages.length
  const start = Math.max(ws.forkAt ?? 0, ws.prunedThrough)
  const byCount = policy.maxMessages === undefined ? 0 : count - policy.maxMessages
  const own = ws.messages.filter((m) => m.owner === id && m.seq > start)
  const young = policy.maxAge === undefined ? undefined : own.find((m) => m.at >= run.now - policy.maxAge!)
  const byAge = policy.maxAge === undefined ? 0 : young === undefined ? count : young.seq - 1
  const want = Math.min(count, Math.max(byCount, byAge))
  if (want <= start) return 0
  if (id === SCRATCH_ID) {
    out.refused.push({ id, kinds: ["scratch"], branches: new Set() })
    return 0
  }
  if (left === 0) {
    out.done = false
    return 0
  }
  // A branch not yet pruned whose source still shows the shared seqs: removing its own would leave a gap.
  if (ws.parent !== undefined && start === ws.forkAt && start > 0 && visibleMessages(run, id).some((m) => m.seq <= start)) {
    out.refused.push({ id, kinds: ["gap"], branches: new Set() })
    return 0
  }
  const kinds: Array<string> = []
  const covered = coveredThrough(run, id)
  let allowed = want
  if (covered < want) {
    kinds.push("summary")
    allowed = Math.max(start, covered)
  }
  const short = allowed <= start ? [] : readersOf(run, id).flatMap((b) => {
    const c = coveredThrough(run, b.id)
    return b.reach > start && c < Math.min(allowed, b.reach) ? [{ id: b.id, covered: c }] : []
  })
  if (short.length > 0) {
    kinds.push("branch")
    allowed = Math.max(start, Math.min(allowed, ...short.map((b) => b.covered)))
  }
  if (kinds.length > 0) out.refused.push({ id, kinds, branches: new Set(short.map((b) => b.id)) })
  const through = Math.min(allowed, start + left)
  if (through < allowed) out.done = false
  if (through <= start) return 0
  out.pruned.push([id, through, through - start])
  ws.prunedThrough = through
  return through - start
}

/** What the model expects `prune` to do, applied to the model: workstreams in id order, the budget spent in turn. */
const decide = (run: Run, only: string | undefined, budget: number): Decision => {
  const out: Decision = { pruned: [], refused: [], done: true }
  const ids = only !== undefined ? [only] : Array.from(run.model)
    .filter(([id, ws]) => run.policies.has(`w:${id}`) || ws.tags.some((t) => run.policies.has(`t:${t}`)))
    .map(([id]) => id)
    .sort()
  let left = budget
  for (const id of ids) {
    const ws = run.model.get(id)!
    const policy = policyOf(run, id, ws)
    if (policy !== undefined) left -= decideOne(run, id, ws, policy, left, out)
  }
  return out
}

/** Each refusal's kinds, read from its reason; a branch reason names the branch. */
const kindsOf = (reason: string) => {
  const kinds: Array<string> = []
  if (reason.includes("scratch")) kinds.push("scratch")
  if (reason.includes("gap")) kinds.push("gap")
  if (reason.includes("not all behind a summary")) kinds.push("summary")
  const branches = Array.from(reason.matchAll(/branch (\S+) reads/g), (m) => m[1]!)
  if (branches.length > 0) kinds.push("branch")
  return { kinds, branches }
}

const expectReport = (report: PruneReport, expected: Decision) => {
  expect(report.pruned.map((p) => [p.workstreamId, p.through, p.removed])).toEqual(expected.pruned)
  expect(report.removed).toBe(expected.pruned.reduce((n, p) => n + p[2], 0))
  expect(report.done).toBe(expected.done)
  expect(report.refused.map((r) => [r.workstreamId, kindsOf(r.reason).kinds])).toEqual(expected.refused.map((r) => [r.id, r.kinds]))
  report.refused.forEach((r, i) => {
    for (const b of kindsOf(r.reason).branches) expect(expected.refused[i]?.branches.has(b)).toBe(true)
  })
}

export const pruneOp = (run: Run, op: PruneOp) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const only = op.ws === undefined ? undefined : run.idOf(op.ws)
    const result = yield* outcomeOf(s.prune({
      ...(only !== undefined ? { workstreamId: only } : {}),
      ...(op.budget !== undefined ? { budget: op.budget } : {})
    }))
    if (only !== undefined && !run.model.has(only)) return expect(result.tag).toBe("InvalidInput")
    const expected = decide(run, only, op.budget ?? 100_000)
    expect(result.tag).toBe("success")
    if (result.tag === "success") expectReport(result.value, expected)
    return
  })
