/**
 * The kernel half of `fork` and `searchMessages`: decoding, the fork's range rule, ids and record, and the search's
 * query words, score mapping and snippets. The driver only copies logs and ranks index entries.
 */
import { DateTime, Effect, Option, Schema } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import { IdGenerator, MessageId, nextId, WorkstreamId } from "../Ids.js"
import { ForkInput, SearchMessagesOptions } from "../Workstream.js"
import type { MessageHit } from "../Workstream.js"
import type { Driver } from "./workstreamDriver.js"
import { decodeInput } from "./decode.js"
import { queryTerms } from "./memoryRules.js"
import { isRelevant, textRelevance } from "./ranking.js"
import { madeConversation, searched, tracing } from "./semconv.js"
import { snippetOf } from "./snippet.js"
import { buildWorkstream, withAppended } from "./workstream.js"

type Span = { readonly attributes: { readonly "arawn.backend": string } }

const decoders = {
  id: decodeInput(WorkstreamId, "WorkstreamStore.fork"),
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

/** fork and searchMessages over `driver`. */
export const branchMethods = (driver: Driver, span: Span) => {
  const { fn } = tracing(span, span.attributes["arawn.backend"])
  const made = madeConversation(span.attributes["arawn.backend"])
  const fork = fn("WorkstreamStore.fork")(function*(rawId: WorkstreamId, raw: typeof ForkInput.Encoded) {
    const method = "WorkstreamStore.fork"
    const source = yield* decoders.id(rawId)
    const input = yield* decoders.fork(raw)
    const found = yield* driver.get(source)
    if (Option.isNone(found)) return yield* new NotFound({ entity: "workstream", id: source })
    const count = found.value.messageCount
    const atSeq = input.atSeq ?? count
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
      forkedFrom: { workstreamId: source, seq: atSeq },
      ...(defaultModel !== undefined ? { defaultModel } : {})
    }, id, now)
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
    }
  }, made)

  const searchMessages = fn("WorkstreamStore.searchMessages")(
    function*(rawQuery: string, raw?: typeof SearchMessagesOptions.Encoded) {
      const query = yield* decoders.query(rawQuery)
      const o = yield* decoders.search(raw ?? {})
      const terms = queryTerms(query)
      if (terms.length === 0 || o.workstreamIds?.length === 0 || o.roles?.length === 0) return []
      const hits = yield* driver.search({ ...o, terms })
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

  return { fork, searchMessages }
}
