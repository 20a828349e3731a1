/**
 * The in-process WorkstreamStore driver behind `WorkstreamStore.layerMemory`: a Map in this process, the test
 * double. Every primitive runs synchronously, so each is atomic with respect to every other fiber.
 */
import { Effect, Either, Option } from "effect"
import type { WorkstreamId } from "../Ids.js"
import { Message } from "../Workstream.js"
import { Workstream } from "../Workstream.js"
import type { RetentionPolicy } from "../WorkstreamRetention.js"
import { Summary } from "../WorkstreamContext.js"
import type { Driver, PathSegment, RetentionEntry, SearchHit, SearchQuery } from "./workstreamDriver.js"
import { baseOf, sharedPoint } from "./workstreamTree.js"
import { Bm25Index } from "./bm25.js"
import { stem } from "./text.js"
import { after, byRecency, emptied, lastN, messageMatches, withAppended } from "./workstream.js"

interface Entry {
  workstream: Workstream
  /** Its own messages (a branch's from its fork point on, a pruned one's after `prunedThrough`). */
  log: Array<Message>
  readonly ids: Set<string>
  /** The summaries made on it (never inherited ones). */
  summaries: Array<Summary>
}

/** Search order: bm25 desc, timestamp desc, workstream id asc, seq asc. */
const bySearchRank = (a: SearchHit, b: SearchHit): number =>
  b.bm25 - a.bm25 || b.message.timestamp.epochMillis - a.message.timestamp.epochMillis ||
  (a.message.workstreamId < b.message.workstreamId ? -1 : a.message.workstreamId > b.message.workstreamId ? 1 : 0) ||
  a.message.seq - b.message.seq

const onPath = (m: Message, path: ReadonlyArray<PathSegment>): boolean =>
  path.some((p) => p.workstreamId === m.workstreamId && m.seq > p.afterSeq && (p.upToSeq === undefined || m.seq <= p.upToSeq))

const searchable = (m: Message, q: SearchQuery): boolean =>
  (q.path === undefined || onPath(m, q.path)) &&
  (q.sessionId === undefined || m.sessionId === q.sessionId) &&
  (q.roles === undefined || q.roles.includes(m.role)) &&
  (q.since === undefined || m.timestamp.epochMillis >= q.since.epochMillis) &&
  (q.until === undefined || m.timestamp.epochMillis <= q.until.epochMillis)

export const makeInProcessDriver = (): Driver => {
  const entries = new Map<WorkstreamId, Entry>()
  const policies = new Map<string, RetentionEntry>()
  const policyKey = (target: RetentionEntry["target"]) => ("workstreamId" in target ? `w:${target.workstreamId}` : `t:${target.tag}`)
  // One BM25 index over every message of every workstream, so document frequencies span the store, as in FTS5.
  const text = new Bm25Index<string>()
  const keyOf = (m: Message) => `${m.workstreamId}\u0000${m.seq}`
  const indexAll = (log: ReadonlyArray<Message>) => {
    for (const m of log) text.set(keyOf(m), m.content)
  }
  const unindexAll = (log: ReadonlyArray<Message>) => {
    for (const m of log) text.delete(keyOf(m))
  }

  /** The branches sharing `id`'s messages. */
  const branchesOf = (id: WorkstreamId): Array<WorkstreamId> =>
    Array.from(entries.values(), (e) => e.workstream).filter((ws) => sharedPoint(ws)?.workstreamId === id).map((ws) => ws.id)

  /** Every branch below `id` sharing its messages, recursively. */
  const branchesBelow = (id: WorkstreamId): Array<WorkstreamId> => branchesOf(id).flatMap((b) => [b, ...branchesBelow(b)])

  const update: Driver["update"] = (id, modify) =>
    Effect.suspend(() => {
      const entry = entries.get(id)
      if (entry === undefined) return Effect.succeed(Option.none())
      const next = modify(entry.workstream)
      if (Either.isLeft(next)) return Effect.fail(next.left)
      entry.workstream = next.right
      return Effect.succeed(Option.some(next.right))
    })

  return {
    backend: "memory",
    insert: (ws) =>
      Effect.sync(() => {
        if (entries.has(ws.id)) return Option.none()
        entries.set(ws.id, { workstream: ws, log: [], ids: new Set(), summaries: [] })
        return Option.some(ws)
      }),
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(entries.get(id)), (e) => e.workstream)),
    list: (q) =>
      Effect.sync(() =>
        Array.from(entries.values(), (e) => e.workstream)
          .filter((ws) =>
            (q.state === undefined || ws.state === q.state) &&
            (q.archived === undefined || (ws.state === "archived") === q.archived) &&
            (q.tag === undefined || ws.tags.includes(q.tag)) &&
            (q.forkedFrom === undefined || ws.forkedFrom?.workstreamId === q.forkedFrom) &&
            (q.after === undefined || after(ws, { millis: q.after.updatedAtMillis, id: q.after.id }))
          )
          .sort(byRecency)
          .slice(0, q.limit)
      ),
    update,
    delete: (id, subtree) =>
      Effect.sync(() => {
        const branches = branchesOf(id)
        if (branches.length > 0 && !subtree) return { _tag: "HasBranches", branches } as const
        const removed: Array<WorkstreamId> = []
        const remove = (target: WorkstreamId) => {
          for (const branch of branchesOf(target)) remove(branch)
          const entry = entries.get(target)
          if (entry === undefined) return
          unindexAll(entry.log)
          entries.delete(target)
          policies.delete(policyKey({ workstreamId: target }))
          removed.push(target)
        }
        remove(id)
        return { _tag: "Deleted", removed } as const
      }),
    append: (id, request) =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry === undefined) return { _tag: "NotFound" } as const
        const taken = new Set(request.ids.filter((m) => entry.ids.has(m)))
        if (taken.size > 0) return { _tag: "Taken", messages: entry.log.filter((m) => taken.has(m.id)) } as const
        const messages = request.seal(entry.workstream.messageCount + 1)
        entry.log.push(...messages)
        indexAll(messages)
        for (const m of messages) entry.ids.add(m.id)
        entry.workstream = withAppended(entry.workstream, messages.length, messages[messages.length - 1]!.timestamp, request.now)
        return { _tag: "Appended", messages } as const
      }),
    load: (id, query) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(entries.get(id)), (e) => ({
          messages: lastN(e.log.filter((m) => messageMatches(m, query)), query.limit),
          inherits: sharedPoint(e.workstream)
        }))
      ),
    promote: (request) =>
      Effect.sync(() => {
        const source = entries.get(request.source)
        if (source === undefined || source.log.length === 0) return { _tag: "Empty" } as const
        const branches = branchesOf(request.source)
        if (branches.length > 0) return { _tag: "HasBranches", branches } as const
        const last = source.log[source.log.length - 1]!
        const target = request.target({ count: source.log.length, lastMessageAt: last.timestamp })
        const log = source.log.map((m) => new Message({ ...m, workstreamId: target.id }, true))
        const summaries = source.summaries.map((x) => new Summary({ ...x, workstreamId: target.id }, true))
        entries.set(target.id, { workstream: target, log, ids: new Set(source.ids), summaries })
        source.summaries = []
        unindexAll(source.log)
        indexAll(log)
        source.log = []
        source.ids.clear()
        source.workstream = emptied(source.workstream, request.now)
        return { _tag: "Promoted", workstream: target } as const
      }),
    fork: (request) =>
      Effect.sync(() => {
        const source = entries.get(request.source)
        if (source === undefined) return { _tag: "NotFound" } as const
        // A prune may have run since the kernel looked: a copy needs every message up to atSeq.
        const pruned = source.workstream.prunedThrough ?? 0
        if (pruned > 0) return { _tag: "Pruned", through: pruned } as const
        if (source.log.length < request.atSeq) return { _tag: "OutOfRange", count: source.log.length } as const
        const copied = source.log.slice(0, request.atSeq)
        const target = request.target(Option.fromNullable(copied[copied.length - 1]?.timestamp))
        const log = copied.map((m, i) => new Message({ ...m, id: request.ids[i]!, workstreamId: target.id }, true))
        entries.set(target.id, { workstream: target, log, ids: new Set(log.map((m) => m.id)), summaries: [] })
        indexAll(log)
        return { _tag: "Forked", workstream: target } as const
      }),
    branch: (request) =>
      Effect.sync(() => {
        const source = entries.get(request.source)
        if (source === undefined) return { _tag: "NotFound" } as const
        if (source.workstream.messageCount < request.atSeq) return { _tag: "OutOfRange", count: source.workstream.messageCount } as const
        const pruned = source.workstream.prunedThrough ?? 0
        if (request.atSeq > 0 && request.atSeq <= pruned) return { _tag: "Pruned", through: pruned } as const
        if (entries.has(request.workstream.id)) return { _tag: "Taken" } as const
        entries.set(request.workstream.id, { workstream: request.workstream, log: [], ids: new Set(), summaries: [] })
        return { _tag: "Branched", workstream: request.workstream } as const
      }),
    writeSummary: (summary) =>
      Effect.sync(() => {
        const entry = entries.get(summary.workstreamId)
        if (entry === undefined) return { _tag: "NotFound" } as const
        const taken = entry.summaries.find((x) => x.id === summary.id)
        if (taken !== undefined) return { _tag: "Taken", summary: taken } as const
        if (entry.workstream.messageCount < summary.toSeq) return { _tag: "OutOfRange", count: entry.workstream.messageCount } as const
        entry.summaries.push(summary)
        return { _tag: "Written", summary } as const
      }),
    summaries: (ids) => Effect.sync(() => ids.flatMap((id) => entries.get(id)?.summaries ?? [])),
    search: (q) =>
      Effect.sync(() => {
        const stems = q.terms.map(stem)
        const hits: Array<SearchHit> = []
        for (const entry of entries.values()) {
          if (q.workstreamIds !== undefined && !q.workstreamIds.includes(entry.workstream.id)) continue
          for (const m of entry.log) {
            if (!searchable(m, q)) continue
            const bm25 = text.scoreStems(keyOf(m), stems)
            if (bm25 > 0) hits.push({ message: m, bm25 })
          }
        }
        return hits.sort(bySearchRank).slice(0, q.limit)
      }),
    setRetention: (target, policy) =>
      Effect.sync(() => {
        if ("workstreamId" in target && !entries.has(target.workstreamId)) return false
        if (policy === null) policies.delete(policyKey(target))
        else policies.set(policyKey(target), { target, policy })
        return true
      }),
    getRetention: (target) =>
      Effect.sync(() => Option.map(Option.fromNullable(policies.get(policyKey(target))), (e): RetentionPolicy => e.policy)),
    retentionPolicies: () => Effect.sync(() => Array.from(policies.values())),
    agedThrough: (id, cutoff) =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry === undefined) return 0
        const kept = entry.log.find((m) => m.timestamp.epochMillis >= cutoff)
        return kept === undefined ? entry.workstream.messageCount : kept.seq - 1
      }),
    prune: (request) =>
      Effect.sync(() => {
        const entry = entries.get(request.id)
        if (entry === undefined) return { _tag: "NotFound" } as const
        const ws = entry.workstream
        const start = Math.max(baseOf(ws), ws.prunedThrough ?? 0)
        const known = new Set<string>(request.shared)
        if (start !== request.from || branchesBelow(request.id).some((b) => !known.has(b))) return { _tag: "Changed" } as const
        const cut = entry.log.findIndex((m) => m.seq > request.through)
        const removed = cut === -1 ? entry.log : entry.log.slice(0, cut)
        unindexAll(removed)
        for (const m of removed) entry.ids.delete(m.id)
        entry.log = cut === -1 ? [] : entry.log.slice(cut)
        entry.workstream = new Workstream({ ...ws, prunedThrough: request.through }, true)
        return { _tag: "Pruned", removed: removed.length, bytes: 0 } as const
      })
  }
}
