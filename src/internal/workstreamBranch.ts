/**
 * The kernel half of `fork`, `listBranches` and `searchMessages`: decoding, the fork's range rule, ids and record,
 * and the search's query words, path, score mapping and snippets. The driver only stores records, copies logs (a
 * fork with `copy`) and ranks index entries.
 */
import { DateTime, Effect, Option, Schema } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import { IdGenerator, MessageId, nextId, WorkstreamId } from "../Ids.js"
import { ForkInput, SearchMessagesOptions } from "../Workstream.js"
import type { MessageHit, Workstream } from "../Workstream.js"
import type { BranchResult, Driver, PathSegment } from "./workstreamDriver.js"
import { branchRefusal, descendants, lineage, loadPath, prunedBelow } from "./workstreamTree.js"
import { prunedOnPath } from "./workstreamRetention.js"
import { decodeInput } from "./decode.js"
import { queryTerms } from "./memoryRules.js"
import { isRelevant, textRelevance } from "./ranking.js"
import { madeConversation, searched, tracing } from "./semconv.js"
import { snippetOf } from "./snippet.js"
import { buildWorkstream, withAppended } from "./workstream.js"

type Span = { readonly attributes: { readonly "arawn.backend": string } }

const decoders = {
  id: decodeInput(WorkstreamId, "WorkstreamStore.fork"),
  branchesOf: decodeInput(WorkstreamId, "WorkstreamStore.listBranches"),
  fork: decodeInput(ForkInput, "WorkstreamStore.fork"),
  query: decodeInput(Schema.String, "WorkstreamStore.searchMessages"),
  search: decodeInput(SearchMessagesOptions, "WorkstreamStore.searchMessages")
}

/** `n` fresh message ids from the `IdGenerator` in context. */
const freshIds = (n: number) =>
  Effect.gen(function*() {
    const ids = yield* IdGenerator
    const out: Array<MessageId> = []
    for (let i = 0; i < n; i++) out.push(MessageId.make(yield* ids.next, true))
    return out
  })

/**
 * Stores `record` (a branch: `forkedFrom` shared) with its counters set to its source's path up to the fork point:
 * the last shared message's timestamp is read through the source's path. `now` is the record's new updatedAt floor.
 */
export const createBranch = (driver: Driver, method: string, record: Workstream, now: DateTime.Utc) =>
  Effect.gen(function*() {
    const { seq: atSeq, workstreamId: source } = record.forkedFrom ?? { seq: 0, workstreamId: record.id }
    if (atSeq === 0) return yield* driver.branch({ source, atSeq, workstream: record })
    const at = yield* loadPath(method, driver, source, { afterSeq: atSeq - 1, beforeSeq: atSeq + 1 })
    if (Option.isNone(at)) return { _tag: "NotFound" } as const satisfies BranchResult
    const last = at.value[0]
    if (last === undefined) {
      const found = yield* driver.get(source)
      return { _tag: "OutOfRange", count: Option.match(found, { onNone: () => 0, onSome: (w) => w.messageCount }) } as const satisfies BranchResult
    }
    return yield* driver.branch({ source, atSeq, workstream: withAppended(record, atSeq, last.timestamp, now) })
  })

/** fork, listBranches and searchMessages over `driver`. */
export const branchMethods = (driver: Driver, span: Span) => {
  const { fn } = tracing(span, span.attributes["arawn.backend"])
  const made = madeConversation(span.attributes["arawn.backend"])
  const fork = fn("WorkstreamStore.fork")(function*(rawId: WorkstreamId, raw: typeof ForkInput.Encoded) {
    const method = "WorkstreamStore.fork"
    const source = yield* decoders.id(rawId)
    const input = yield* decoders.fork(raw)
    const found = yield* driver.get(source)
    if (Option.isNone(found)) return yield* new NotFound({ entity: "workstream", id: source })
    if (input.copy && found.value.forkedFrom?.shared === true) {
      return yield* new InvalidInput({ method, message: `${source} is a branch, whose messages are shared, not its own: fork it without copy` })
    }
    const count = found.value.messageCount
    const atSeq = input.atSeq ?? count
    const copyRefusal = (through: number) =>
      new InvalidInput({ method, message: `${source}'s messages up to seq ${through} were pruned, and a copy needs them: fork it without copy` })
    if (input.copy && (found.value.prunedThrough ?? 0) > 0) return yield* copyRefusal(found.value.prunedThrough ?? 0)
    // Checked again under the source's lock by the driver (a prune may run in between): this is the early answer.
    const pruned = input.copy || atSeq === 0 || atSeq > count ? 0 : yield* prunedOnPath(method, driver, source, atSeq)
    if (atSeq > 0 && atSeq <= pruned) return yield* prunedBelow(method, source, pruned)
    const outOfRange = (n: number) =>
      new InvalidInput({ method, message: `atSeq ${atSeq} is past the last message of ${source} (seq ${n})` })
    if (atSeq > count) return yield* outOfRange(count)
    const id = yield* nextId(WorkstreamId)
    const now = yield* DateTime.now
    const defaultModel = input.defaultModel ?? found.value.defaultModel
    const forked = buildWorkstream({
      title: input.title,
      state: "active",
      tags: input.tags,
      forkedFrom: input.copy ? { workstreamId: source, seq: atSeq } : { workstreamId: source, seq: atSeq, shared: true },
      ...(defaultModel !== undefined ? { defaultModel } : {})
    }, id, now)
    if (!input.copy) {
      const branched = yield* createBranch(driver, method, forked, now)
      if (branched._tag === "Branched") return branched.workstream
      // The source went away between the check above and the branch: what a caller of fork is told.
      if (branched._tag === "NotFound") return yield* new NotFound({ entity: "workstream", id: source })
      return yield* branchRefusal(method, source, atSeq, branched)
    }
    const result = yield* driver.fork({
      source,
      id,
      atSeq,
      ids: yield* freshIds(atSeq),
      target: (last) => Option.match(last, { onNone: () => forked, onSome: (at) => withAppended(forked, atSeq, at, now) })
    })
    switch (result._tag) {
      case "Forked":
        return result.workstream
      case "NotFound":
        return yield* new NotFound({ entity: "workstream", id: source })
      case "OutOfRange":
        return yield* outOfRange(result.count)
      case "Pruned":
        return yield* copyRefusal(result.through)
    }
  }, made)

  const searchMessages = fn("WorkstreamStore.searchMessages")(
    function*(rawQuery: string, raw?: typeof SearchMessagesOptions.Encoded) {
      const query = yield* decoders.query(rawQuery)
      const o = yield* decoders.search(raw ?? {})
      const terms = queryTerms(query)
      if (terms.length === 0 || o.workstreamIds?.length === 0 || o.roles?.length === 0) return []
      const { branch, ...filters } = o
      let path: ReadonlyArray<PathSegment> | undefined
      if (branch !== undefined) {
        const found = yield* lineage("WorkstreamStore.searchMessages", driver, branch)
        if (Option.isNone(found) || found.value.length === 0) return []
        path = found.value
      }
      const hits = yield* driver.search({ ...filters, terms, ...(path !== undefined ? { path } : {}) })
      // Hits come best first, so any without relevance would be the page's tail: dropping them shortens it.
      return hits.flatMap((h): Array<MessageHit> => {
        const score = textRelevance(h.bm25)
        return isRelevant(score)
          ? [{ message: h.message, workstreamId: h.message.workstreamId, seq: h.message.seq, score, snippet: snippetOf(h.message.content, terms) }]
          : []
      })
    },
    searched
  )

  const listBranches = fn("WorkstreamStore.listBranches")(function*(rawId: WorkstreamId) {
    const id = yield* decoders.branchesOf(rawId)
    if (Option.isNone(yield* driver.get(id))) return yield* new NotFound({ entity: "workstream", id })
    return yield* descendants(driver, id)
  })

  return { fork, listBranches, searchMessages }
}
