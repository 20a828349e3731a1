/**
 * Threads as a tree, over any driver: a branch's messages are its ancestors' up to each fork point followed by its
 * own, so reads walk the lineage from the branch up, one own-log read per ancestor they need, and stop as soon as
 * `limit` is met (a tail read on a branch costs what it costs on its nearest ancestors, however deep the chain).
 * Ancestors' messages up to a fork point never change while the branch exists: logs only grow, and deleting or
 * promoting a workstream that has branches is refused.
 */
import { Effect, Option } from "effect"
import { InvalidInput, StorageError } from "../Errors.js"
import type { WorkstreamId } from "../Ids.js"
import type { Message, Workstream } from "../Workstream.js"
import type { BranchResult, Driver, LoadedLog, LoadQuery, PathSegment } from "./workstreamDriver.js"

/** The fork point a workstream shares its first messages through; `undefined` for a root or a copied fork. */
export const sharedPoint = (ws: Workstream) => (ws.forkedFrom?.shared === true ? ws.forkedFrom : undefined)

/** How many messages of a workstream's path are its ancestors' (0 unless it is a branch). */
export const baseOf = (ws: Workstream): number => sharedPoint(ws)?.seq ?? 0

/** Deeper than any real lineage: a longer walk means the records loop, which only a damaged store can hold. */
export const MAX_DEPTH = 100_000

export const brokenLineage = (method: string, id: WorkstreamId, missing: WorkstreamId) =>
  new StorageError({ method, cause: new Error(`branch ${id} shares the messages of ${missing}, which is missing`) })

/**
 * The matching messages of `id`'s path: the own log of `id`, then, while `limit` is not met and the range reaches
 * below the fork point, each ancestor's own log up to the fork point below it. `None` when `id` is absent.
 */
export const loadPath = (method: string, driver: Driver, id: WorkstreamId, query: LoadQuery) =>
  Effect.gen(function*() {
    const head = yield* driver.load(id, query)
    if (Option.isNone(head)) return Option.none<ReadonlyArray<Message>>()
    let inherits = head.value.inherits
    if (inherits === undefined) return Option.some(head.value.messages)
    // Newest part first; joined once at the end, so a deep chain costs no repeated copying.
    const parts: Array<ReadonlyArray<Message>> = [head.value.messages]
    let count = head.value.messages.length
    // Messages below this seq only: the query's bound, then each fork point on the way up (a branch cut below its
    // source's own fork point sees less of the grandparent than its source does).
    let before = query.beforeSeq ?? Number.POSITIVE_INFINITY
    for (let depth = 0; inherits !== undefined; depth++) {
      before = Math.min(before, inherits.seq + 1)
      const wanted = query.limit === undefined ? undefined : query.limit - count
      if ((wanted !== undefined && wanted <= 0) || before <= 1 || (query.afterSeq !== undefined && query.afterSeq >= before - 1)) break
      if (depth > MAX_DEPTH) return yield* brokenLineage(method, id, inherits.workstreamId)
      const beforeSeq = before
      const { limit: _limit, ...rest } = query
      const part: Option.Option<LoadedLog> = yield* driver.load(inherits.workstreamId, { ...rest, beforeSeq, ...(wanted !== undefined ? { limit: wanted } : {}) })
      if (Option.isNone(part)) {
        // Deleted with its subtree meanwhile (then so is `id`), or a damaged store.
        if (Option.isNone(yield* driver.get(id))) return Option.none<ReadonlyArray<Message>>()
        return yield* brokenLineage(method, id, inherits.workstreamId)
      }
      parts.push(part.value.messages)
      count += part.value.messages.length
      inherits = part.value.inherits
    }
    return Option.some<ReadonlyArray<Message>>(parts.reverse().flat())
  })

/**
 * `id`'s record and each ancestor its path reaches, nearest first, with the last seq of it the path reaches (the
 * lowest fork point on the way up). `None` when `id` is absent; a missing or looping ancestor is a StorageError.
 */
export const ancestors = (method: string, driver: Driver, id: WorkstreamId) =>
  Effect.gen(function*() {
    const head = yield* driver.get(id)
    if (Option.isNone(head)) {
      return Option.none<{ readonly head: Workstream; readonly chain: ReadonlyArray<readonly [Workstream, number]> }>()
    }
    const chain: Array<readonly [Workstream, number]> = []
    let point = sharedPoint(head.value)
    let upTo = Number.POSITIVE_INFINITY
    for (let depth = 0; point !== undefined; depth++) {
      if (depth > MAX_DEPTH) return yield* brokenLineage(method, id, point.workstreamId)
      const ws = yield* driver.get(point.workstreamId)
      if (Option.isNone(ws)) return yield* brokenLineage(method, id, point.workstreamId)
      upTo = Math.min(upTo, point.seq)
      chain.push([ws.value, upTo])
      point = sharedPoint(ws.value)
    }
    return Option.some({ head: head.value, chain })
  })

/** The segments of `id`'s path, newest first (empty ones left out); `None` when `id` is absent. */
export const lineage = (method: string, driver: Driver, id: WorkstreamId) =>
  Effect.map(ancestors(method, driver, id), Option.map(({ chain, head }): ReadonlyArray<PathSegment> => [
    { workstreamId: id, afterSeq: baseOf(head), upToSeq: undefined },
    ...chain.flatMap(([ws, upTo]) => baseOf(ws) < upTo ? [{ workstreamId: ws.id, afterSeq: baseOf(ws), upToSeq: upTo }] : [])
  ]))

const PAGE = 1000

/** The direct forks of `id` (branches and copies), oldest first. */
const childrenOf = (driver: Driver, id: WorkstreamId) =>
  Effect.gen(function*() {
    const out: Array<Workstream> = []
    let after: { readonly updatedAtMillis: number; readonly id: string } | undefined
    for (;;) {
      const page = yield* driver.list({ forkedFrom: id, after, limit: PAGE })
      out.push(...page)
      const last = page[page.length - 1]
      if (page.length < PAGE || last === undefined) break
      after = { updatedAtMillis: last.updatedAt.epochMillis, id: last.id }
    }
    return out.sort((a, b) => a.createdAt.epochMillis - b.createdAt.epochMillis || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  })

/** Every fork below `id` (branches and copies, recursively), each after its source; siblings oldest first. */
export const descendants = (driver: Driver, id: WorkstreamId) =>
  Effect.gen(function*() {
    const out: Array<Workstream> = []
    const seen = new Set<string>([id])
    const visit = (parent: WorkstreamId): Effect.Effect<void, StorageError> =>
      Effect.flatMap(childrenOf(driver, parent), (children) =>
        Effect.forEach(children, (child) => {
          if (seen.has(child.id)) return Effect.void
          seen.add(child.id)
          out.push(child)
          return visit(child.id)
        }, { discard: true }))
    yield* visit(id)
    return out
  })

/** The caller's error for a refused branch (`create` with a shared lineage, or `fork`). */
export const branchRefusal = (method: string, source: WorkstreamId, atSeq: number, result: Exclude<BranchResult, { _tag: "Branched" }>) => {
  switch (result._tag) {
    case "NotFound":
      return new InvalidInput({ method, message: `the source of the branch, ${source}, does not exist` })
    case "OutOfRange":
      return new InvalidInput({ method, message: `atSeq ${atSeq} is past the last message of ${source} (seq ${result.count})` })
    case "Taken":
      return new InvalidInput({ method, message: "a workstream with the branch's id already exists" })
    case "Pruned":
      return prunedBelow(method, source, result.through)
  }
}

/** Why a branch at or below a path's pruned point is refused: its fork point's message is gone. */
export const prunedBelow = (method: string, source: WorkstreamId, through: number) =>
  new InvalidInput({ method, message: `${source}'s messages up to seq ${through} were pruned: branch at seq ${through + 1} or later` })

/** Why a workstream with branches cannot lose its messages. */
export const hasBranches = (method: string, id: WorkstreamId, branches: ReadonlyArray<WorkstreamId>, what: string) =>
  new InvalidInput({
    method,
    message: `workstream ${id} has branches that share its messages (${branches.slice(0, 5).join(", ")}${
      branches.length > 5 ? `, and ${branches.length - 5} more` : ""
    }): ${what}`
  })
