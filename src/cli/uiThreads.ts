/**
 * The inspector's thread endpoints: the paged list, one thread, a window of its messages by seq (the page scrolls a
 * thread of any length by asking for the windows it shows), search across threads, and the branch tree built from
 * fork lineage (`forkedFrom`): up to the root, then down through each node's forks.
 *
 * @since 0.2.0
 */
import { DateTime, Effect, Option, Schema } from "effect"
import { WorkstreamId } from "../Ids.js"
import { formatIssues } from "../internal/decode.js"
import { Message, Workstream, WorkstreamState } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { Route } from "./uiHttp.js"
import { ApiFailure } from "./uiHttp.js"
import type { StoreError } from "./uiMemories.js"
import { toFailure } from "./uiMemories.js"

const bad = (message: string) => new ApiFailure(400, message)

const decodeOr = <A, I>(schema: Schema.Schema<A, I>, what: string) => (u: unknown): Effect.Effect<A, ApiFailure> =>
  Effect.mapError(Schema.decodeUnknown(schema)(u), (e) => bad(`${what}: ${formatIssues(e)}`))

const encodeWith = <A, I>(schema: Schema.Schema<A, I>) => (a: A): Effect.Effect<I, ApiFailure> =>
  Effect.mapError(Schema.encode(schema)(a), (e) => new ApiFailure(500, `encoding: ${formatIssues(e)}`))

/** Workstreams as JSON. @category json */
export const encodeWorkstream = encodeWith(Workstream)
const encodeMessage = encodeWith(Message)

const threadId = (q: URLSearchParams) => decodeOr(WorkstreamId, "id")(q.get("id"))

const requireThread = (id: WorkstreamId) =>
  Effect.flatMap(WorkstreamStore, (ws) => ws.get(id)).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new ApiFailure(404, `thread ${id} does not exist`)),
      onSome: Effect.succeed
    }))
  )

const nonNegative = (q: URLSearchParams, key: string, fallback: number) => {
  const raw = q.get(key)
  const n = raw === null || raw === "" ? fallback : Number(raw)
  return Number.isInteger(n) && n >= 0 ? Effect.succeed(n) : Effect.fail(bad(`${key}: a whole number`))
}

const listThreads = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const state = q.get("state") ?? ""
    const tag = q.get("tag") ?? ""
    const cursor = q.get("cursor") ?? ""
    const page = yield* (yield* WorkstreamStore).list({
      limit: 50,
      ...(state !== "" ? { state: yield* decodeOr(WorkstreamState, "state")(state) } : {}),
      ...(tag !== "" ? { tag } : {}),
      ...(cursor !== "" ? { cursor } : {})
    })
    return {
      items: yield* Effect.forEach(page.items, encodeWorkstream),
      nextCursor: Option.getOrNull(page.nextCursor)
    }
  })

const thread = (q: URLSearchParams) => Effect.flatMap(Effect.flatMap(threadId(q), requireThread), encodeWorkstream)

/** Messages `from..to` (seqs, inclusive), at most 1,000 at a time. */
const messages = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const id = yield* threadId(q)
    const from = Math.max(1, yield* nonNegative(q, "from", 1))
    const to = yield* nonNegative(q, "to", from + 199)
    if (to < from) return { messages: [] }
    if (to - from >= 1000) return yield* Effect.fail(bad("at most 1000 messages at a time"))
    const ms = yield* (yield* WorkstreamStore).loadMessages(id, { afterSeq: from - 1, beforeSeq: to + 1, limit: to - from + 1 })
    return { messages: yield* Effect.forEach(ms, encodeMessage) }
  })

const searchThreads = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const query = q.get("q") ?? ""
    if (query.trim() === "") return yield* Effect.fail(bad("search: type some words"))
    const only = q.get("id") ?? ""
    const hits = yield* (yield* WorkstreamStore).searchMessages(query, {
      limit: 50,
      ...(only !== "" ? { workstreamIds: [yield* decodeOr(WorkstreamId, "id")(only)] } : {})
    })
    return {
      hits: hits.map((h) => ({
        workstreamId: h.workstreamId,
        seq: h.seq,
        score: h.score,
        snippet: h.snippet,
        role: h.message.role,
        timestamp: DateTime.formatIso(h.message.timestamp)
      }))
    }
  })

/** The most nodes a tree answer holds (a tree beyond it is cut, and says so). */
const MAX_NODES = 500

/** Every direct fork of `id`, page by page. */
const forksOf = (id: WorkstreamId) =>
  Effect.gen(function*() {
    const ws = yield* WorkstreamStore
    const found: Array<Workstream> = []
    let cursor: string | undefined
    do {
      const page = yield* ws.list({ forkedFrom: id, limit: 1000, ...(cursor !== undefined ? { cursor } : {}) })
      found.push(...page.items)
      cursor = Option.getOrUndefined(page.nextCursor)
    } while (cursor !== undefined && found.length < MAX_NODES)
    return found
  })

/**
 * The thread's whole family: its root (followed up `forkedFrom`; a source deleted since ends the climb) and every
 * thread forked from it, directly or not, each with the seq it branched at.
 */
const tree = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const start = yield* requireThread(yield* threadId(q))
    let root = start
    const seen = new Set<string>([root.id])
    while (root.forkedFrom !== undefined && !seen.has(root.forkedFrom.workstreamId)) {
      seen.add(root.forkedFrom.workstreamId)
      const parent = yield* (yield* WorkstreamStore).get(root.forkedFrom.workstreamId)
      if (Option.isNone(parent)) break
      root = parent.value
    }
    const nodes: Array<Workstream> = [root]
    const visited = new Set<string>([root.id])
    let cut = false
    for (let i = 0; i < nodes.length; i++) {
      if (nodes.length >= MAX_NODES) {
        cut = true
        break
      }
      for (const child of yield* forksOf(nodes[i]!.id)) {
        if (visited.has(child.id)) continue
        visited.add(child.id)
        nodes.push(child)
      }
    }
    return {
      root: root.id,
      current: start.id,
      cut,
      nodes: nodes.map((n) => ({
        id: n.id,
        title: n.title,
        state: n.state,
        messageCount: n.messageCount,
        parent: n.id === root.id ? null : n.forkedFrom?.workstreamId ?? null,
        atSeq: n.forkedFrom?.seq ?? null
      }))
    }
  })

const read = <A, E extends StoreError | ApiFailure>(
  f: (q: URLSearchParams) => Effect.Effect<A, E, WorkstreamStore>
): Route<WorkstreamStore> => ({
  write: false,
  handle: (r) => Effect.mapError(f(r.query), toFailure)
})

/** The thread endpoints by path. @category routes */
export const threadRoutes: Readonly<Record<string, Route<WorkstreamStore>>> = {
  "/api/threads": read(listThreads),
  "/api/thread": read(thread),
  "/api/thread/messages": read(messages),
  "/api/thread/tree": read(tree),
  "/api/threads/search": read(searchThreads)
}
