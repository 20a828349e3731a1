/**
 * The kernel half of compaction overlays: `summarize`, `listSummaries` and `loadContext` over a driver that only
 * stores summaries and lists a workstream's own. Inheritance by position and the overlay resolution live here, once.
 */
import { DateTime, Effect, Option } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import { nextId, SummaryId, WorkstreamId } from "../Ids.js"
import { ContextOptions, NewSummary, Summary } from "../WorkstreamContext.js"
import type { ContextItem } from "../WorkstreamContext.js"
import type { Workstream } from "../Workstream.js"
import type { Driver } from "./workstreamDriver.js"
import { decodeInput } from "./decode.js"
import { conversation, resultCount, tracing } from "./semconv.js"
import { sameJson } from "./workstreamKernel.js"
import { bySummaryAge, contextPlan, resolveOverlays } from "./workstreamOverlays.js"
import { ancestors, loadPath } from "./workstreamTree.js"

type Span = { readonly attributes: { readonly "arawn.backend": string } }

const decoders = {
  id: (method: string) => decodeInput(WorkstreamId, method),
  summary: decodeInput(NewSummary, "WorkstreamStore.summarize"),
  context: decodeInput(ContextOptions, "WorkstreamStore.loadContext")
}

const notFound = (id: WorkstreamId) => new NotFound({ entity: "workstream", id })

/**
 * `id`'s record and each workstream whose summaries its path may show, with the last seq of it that the path
 * reaches (no bound for `id` itself; each ancestor up to the lowest fork point below it, empty own logs included,
 * since a summary made on a branch may cover its ancestors' messages). `None` when `id` is absent.
 */
const ancestry = (method: string, driver: Driver, id: WorkstreamId) =>
  Effect.map(ancestors(method, driver, id), Option.map(({ chain, head }) => {
    const reach = new Map<WorkstreamId, number>([[id, Number.POSITIVE_INFINITY]])
    // How many leading seqs of the path are gone: each log's prune, up to where the path reads it.
    let pruned = head.prunedThrough ?? 0
    for (const [ws, upTo] of chain) {
      if (!reach.has(ws.id)) reach.set(ws.id, upTo)
      pruned = Math.max(pruned, Math.min(ws.prunedThrough ?? 0, upTo))
    }
    return { head, reach, pruned }
  }))

/**
 * The summaries `id`'s path shows, in listSummaries order, with `id`'s record and how many leading seqs of its path
 * are pruned; `None` when `id` is absent.
 */
const visible = (method: string, driver: Driver, id: WorkstreamId) =>
  Effect.gen(function*() {
    const found = yield* ancestry(method, driver, id)
    if (Option.isNone(found)) {
      return Option.none<{ readonly head: Workstream; readonly summaries: ReadonlyArray<Summary>; readonly pruned: number }>()
    }
    const { head, pruned, reach } = found.value
    const all = yield* driver.summaries([...reach.keys()])
    const summaries = all.filter((s) => s.toSeq <= (reach.get(s.workstreamId) ?? 0)).sort(bySummaryAge)
    return Option.some({ head, summaries, pruned })
  })

/** Whether `stored` is what `input` asked for: its range, content and metadata, and its createdAt when given. */
const sameSummary = (input: typeof NewSummary.Type, stored: Summary): boolean =>
  stored.fromSeq === input.fromSeq && stored.toSeq === input.toSeq && stored.content === input.content &&
  sameJson(stored.metadata, input.metadata) &&
  (input.createdAt === undefined || stored.createdAt.epochMillis === input.createdAt.epochMillis)

/** summarize, listSummaries and loadContext over `driver`. */
export const contextMethods = (driver: Driver, span: Span) => {
  const { fn } = tracing(span, span.attributes["arawn.backend"])
  const conv = conversation(span.attributes["arawn.backend"])

  const summarize = fn("WorkstreamStore.summarize")(function*(rawId: WorkstreamId, raw: NewSummary) {
    const method = "WorkstreamStore.summarize"
    const id = yield* decoders.id(method)(rawId)
    const input = yield* decoders.summary(raw)
    const summary = new Summary({
      id: input.id ?? (yield* nextId(SummaryId)),
      workstreamId: id,
      fromSeq: input.fromSeq,
      toSeq: input.toSeq,
      content: input.content,
      createdAt: input.createdAt ?? (yield* DateTime.now),
      ...(input.metadata !== undefined ? { metadata: input.metadata } : {})
    })
    const result = yield* driver.writeSummary(summary)
    switch (result._tag) {
      case "Written":
        return result.summary
      case "NotFound":
        return yield* notFound(id)
      case "OutOfRange":
        return yield* new InvalidInput({ method, message: `toSeq ${summary.toSeq} is past the last message of ${id} (seq ${result.count})` })
      case "Taken":
        if (sameSummary(input, result.summary)) return result.summary
        return yield* new InvalidInput({ method, message: `summary id ${summary.id} already exists in workstream ${id} with different fields` })
    }
  }, conv)

  const listSummaries = fn("WorkstreamStore.listSummaries")(function*(rawId: WorkstreamId) {
    const method = "WorkstreamStore.listSummaries"
    const id = yield* decoders.id(method)(rawId)
    const found = yield* visible(method, driver, id)
    if (Option.isNone(found)) return yield* notFound(id)
    return found.value.summaries
  }, conv, resultCount)

  const loadContext = fn("WorkstreamStore.loadContext")(function*(rawId: WorkstreamId, raw?: ContextOptions) {
    const method = "WorkstreamStore.loadContext"
    const id = yield* decoders.id(method)(rawId)
    const { limit } = yield* decoders.context(raw ?? {})
    const found = yield* visible(method, driver, id)
    if (Option.isNone(found)) return yield* notFound(id)
    // The path as of the record read first: a summary written since over later messages is not part of it yet.
    const count = found.value.head.messageCount
    const winners = resolveOverlays(found.value.summaries.filter((s) => s.toSeq <= count))
    const items: Array<ContextItem> = []
    // A pruned seq no winner covers (a newer summary outranked the one a prune relied on) is gone: not an item.
    for (const piece of contextPlan(winners, count, limit, found.value.pruned)) {
      if (piece._tag === "Summary") {
        items.push({ _tag: "Summary", summary: piece.summary })
        continue
      }
      const run = yield* loadPath(method, driver, id, { afterSeq: piece.fromSeq - 1, beforeSeq: piece.toSeq + 1 })
      if (Option.isNone(run)) return yield* notFound(id)
      for (const message of run.value) items.push({ _tag: "Message", message })
    }
    return items
  }, conv, resultCount)

  return { summarize, listSummaries, loadContext }
}
