/**
 * The retention half of the WorkstreamStore kernel: policies (a workstream's own, or its tags', the strictest per
 * limit) and `prune`, which decides how much of each workstream's own log may go and asks the driver to remove
 * that prefix. What may go is what the policy no longer keeps, but only a prefix of the path as the workstream
 * reads it, and only what summaries cover on every path that reads it: the workstream's own and each branch
 * sharing those seqs. The driver re-checks the log's start and the branches under the workstream's lock.
 */
import { DateTime, Effect, Option, Schema } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import type { StorageError } from "../Errors.js"
import { WorkstreamId } from "../Ids.js"
import type { Workstream } from "../Workstream.js"
import { PruneOptions, RetentionPolicy, RetentionTarget } from "../WorkstreamRetention.js"
import type { Pruned, PruneReport, Refused } from "../WorkstreamRetention.js"
import type { Driver } from "./workstreamDriver.js"
import { decodeInput } from "./decode.js"
import { tracing } from "./semconv.js"
import { baseOf, descendants, lineage, loadPath, sharedPoint } from "./workstreamTree.js"

type Span = { readonly attributes: { readonly "arawn.backend": string } }

/** How far summaries cover `id`'s path whole: the largest t such that seqs 1..t all lie inside them (0: none). */
export type Coverage = (method: string, id: WorkstreamId) => Effect.Effect<number, NotFound | InvalidInput | StorageError>

const decoders = {
  setTarget: decodeInput(RetentionTarget, "WorkstreamStore.setRetention"),
  setPolicy: decodeInput(Schema.NullOr(RetentionPolicy), "WorkstreamStore.setRetention"),
  getTarget: decodeInput(RetentionTarget, "WorkstreamStore.getRetention"),
  prune: decodeInput(PruneOptions, "WorkstreamStore.prune")
}

/** The seq after which a workstream's own log holds messages: its fork point for a branch, or what prune removed. */
export const ownStart = (ws: Workstream): number => Math.max(baseOf(ws), ws.prunedThrough ?? 0)

/** Each limit the strictest (smallest) of `policies` sets; `undefined` when there are none. */
const strictest = (policies: ReadonlyArray<RetentionPolicy>): RetentionPolicy | undefined => {
  if (policies.length === 0) return undefined
  const least = (values: ReadonlyArray<number | undefined>) => {
    const set = values.filter((v): v is number => v !== undefined)
    return set.length === 0 ? undefined : Math.min(...set)
  }
  const maxAge = least(policies.map((p) => p.maxAge))
  const maxMessages = least(policies.map((p) => p.maxMessages))
  return { ...(maxAge !== undefined ? { maxAge } : {}), ...(maxMessages !== undefined ? { maxMessages } : {}) }
}

/**
 * How many leading messages of `id`'s path up to `upTo` are pruned away: on each segment of its lineage, what that
 * workstream's prune removed below the point the path reads it through.
 */
export const prunedOnPath = (method: string, driver: Driver, id: WorkstreamId, upTo: number) =>
  Effect.gen(function*() {
    const segments = yield* lineage(method, driver, id)
    let pruned = 0
    for (const segment of Option.getOrElse(segments, () => [])) {
      const ws = yield* driver.get(segment.workstreamId)
      if (Option.isNone(ws)) continue
      pruned = Math.max(pruned, Math.min(ws.value.prunedThrough ?? 0, segment.upToSeq ?? upTo, upTo))
    }
    return pruned
  })

/** Every workstream a policy applies to, by id. */
const candidates = (driver: Driver, tags: ReadonlyArray<string>, own: ReadonlyArray<WorkstreamId>) =>
  Effect.gen(function*() {
    const ids = new Set<WorkstreamId>(own)
    for (const tag of tags) {
      let after: { readonly updatedAtMillis: number; readonly id: string } | undefined
      for (;;) {
        const page = yield* driver.list({ tag, after, limit: 1000 })
        for (const ws of page) ids.add(ws.id)
        const last = page[page.length - 1]
        if (page.length < 1000 || last === undefined) break
        after = { updatedAtMillis: last.updatedAt.epochMillis, id: last.id }
      }
    }
    return Array.from(ids).sort()
  })

/** The branches below `ws` that read its messages, each with the last of its seqs it reaches (through every fork point). */
const readers = (driver: Driver, ws: Workstream) =>
  Effect.gen(function*() {
    const reach = new Map<string, number>([[ws.id, Number.POSITIVE_INFINITY]])
    const out: Array<{ readonly id: WorkstreamId; readonly reach: number }> = []
    for (const d of yield* descendants(driver, ws.id)) {
      const point = sharedPoint(d)
      const above = point === undefined ? undefined : reach.get(point.workstreamId)
      if (point === undefined || above === undefined) continue
      const r = Math.min(above, point.seq)
      reach.set(d.id, r)
      out.push({ id: d.id, reach: r })
    }
    return out
  })

/** What the policy wants gone: the largest seq it no longer keeps (0: nothing). */
const wanted = (driver: Driver, ws: Workstream, policy: RetentionPolicy, now: DateTime.Utc) =>
  Effect.gen(function*() {
    const byCount = policy.maxMessages === undefined ? 0 : ws.messageCount - policy.maxMessages
    const byAge = policy.maxAge === undefined ? 0 : yield* driver.agedThrough(ws.id, now.epochMillis - policy.maxAge)
    return Math.min(ws.messageCount, Math.max(byCount, byAge))
  })

/** How far `ws` may be pruned towards `want`, and why not further. */
const allowance = (method: string, driver: Driver, coverage: Coverage, ws: Workstream, want: number, start: number) =>
  Effect.gen(function*() {
    const reasons: Array<string> = []
    const point = sharedPoint(ws)
    if (point !== undefined && point.seq > 0 && start === point.seq) {
      const inherited = yield* loadPath(method, driver, ws.id, { beforeSeq: point.seq + 1, limit: 1 })
      if (Option.getOrElse(inherited, () => []).length > 0) {
        const reason = `its first messages are ${point.workstreamId}'s (shared up to seq ${point.seq}), which still holds them: ` +
          `pruning its own would leave a gap in its path; they go when ${point.workstreamId} prunes them`
        return { allowed: start, reasons: [reason], shared: [] }
      }
    }
    const cover = (id: WorkstreamId) => Effect.catchTag(coverage(method, id), "NotFound", () => Effect.succeed(0))
    let allowed = want
    const covered = yield* cover(ws.id)
    if (covered < allowed) {
      reasons.push(`seqs ${start + 1}..${want} are not all behind a summary (summaries cover seqs 1..${covered}); summarize them first`)
      allowed = Math.max(start, covered)
    }
    const below = yield* readers(driver, ws)
    for (const b of below) {
      if (b.reach <= start || allowed <= start) continue
      const need = Math.min(allowed, b.reach)
      const c = yield* cover(b.id)
      if (c < need) {
        reasons.push(`branch ${b.id} reads its messages up to seq ${b.reach}, and summaries on its path cover seqs 1..${c} only`)
        allowed = Math.max(start, c)
      }
    }
    return { allowed, reasons, shared: below.map((b) => b.id) }
  })

/** setRetention, getRetention and prune over `driver`; `coverage` tells how far summaries cover a path. */
export const retentionMethods = (driver: Driver, span: Span, coverage: Coverage) => {
  const { fn } = tracing(span, span.attributes["arawn.backend"])

  const setRetention = fn("WorkstreamStore.setRetention")(function*(
    rawTarget: typeof RetentionTarget.Encoded,
    rawPolicy: typeof RetentionPolicy.Encoded | null
  ) {
    const target = yield* decoders.setTarget(rawTarget)
    const policy = yield* decoders.setPolicy(rawPolicy)
    const stored = yield* driver.setRetention(target, policy)
    if (!stored && "workstreamId" in target) return yield* new NotFound({ entity: "workstream", id: target.workstreamId })
  })

  const getRetention = fn("WorkstreamStore.getRetention")(function*(rawTarget: typeof RetentionTarget.Encoded) {
    return yield* driver.getRetention(yield* decoders.getTarget(rawTarget))
  })

  const prune = fn("WorkstreamStore.prune")(function*(raw?: PruneOptions) {
    const method = "WorkstreamStore.prune"
    const options = yield* decoders.prune(raw ?? {})
    const now = yield* DateTime.now
    const entries = yield* driver.retentionPolicies()
    const own = new Map<string, RetentionPolicy>()
    const byTag = new Map<string, RetentionPolicy>()
    for (const e of entries) {
      if ("workstreamId" in e.target) own.set(e.target.workstreamId, e.policy)
      else byTag.set(e.target.tag, e.policy)
    }
    const ids = options.workstreamId !== undefined
      ? [options.workstreamId]
      : yield* candidates(driver, Array.from(byTag.keys()), Array.from(own.keys(), (id) => WorkstreamId.make(id)))
    const pruned: Array<Pruned> = []
    const refused: Array<Refused> = []
    let left = options.budget
    let done = true
    for (const id of ids) {
      const found = yield* driver.get(id)
      if (Option.isNone(found)) {
        if (options.workstreamId !== undefined) return yield* new InvalidInput({ method, message: `workstream ${id} does not exist` })
        continue
      }
      const ws = found.value
      const policy = own.get(ws.id) ?? strictest(ws.tags.flatMap((t) => Option.toArray(Option.fromNullable(byTag.get(t)))))
      if (policy === undefined) continue
      const start = ownStart(ws)
      const want = yield* wanted(driver, ws, policy, now)
      if (want <= start) continue
      if (ws.isScratch) {
        refused.push({ workstreamId: ws.id, reason: "the scratch workstream is promoted whole, so it is never pruned" })
        continue
      }
      if (left === 0) {
        done = false
        continue
      }
      const { allowed, reasons, shared } = yield* allowance(method, driver, coverage, ws, want, start)
      if (reasons.length > 0) refused.push({ workstreamId: ws.id, reason: reasons.join("; ") })
      const through = Math.min(allowed, start + left)
      if (through < allowed) done = false
      if (through <= start) continue
      const result = yield* driver.prune({ id: ws.id, from: start, through, shared })
      if (result._tag === "Pruned") {
        left -= result.removed
        pruned.push({ workstreamId: ws.id, through, removed: result.removed, bytes: result.bytes })
      } else if (result._tag === "Changed") {
        // Another writer pruned it or branched it meanwhile: the next call decides again from what is there now.
        done = false
      }
    }
    const removed = pruned.reduce((n, p) => n + p.removed, 0)
    return { pruned, refused, removed, done } satisfies PruneReport
  })

  return { setRetention, getRetention, prune }
}
