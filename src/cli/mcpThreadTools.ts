/**
 * The thread tools of `arawn-store mcp` (threads are the store's workstreams): create, list, append, read the tail,
 * search and fork.
 *
 * Workstreams have no namespace of their own, so a server confines its threads by a tag: a thread it creates or
 * forks carries `namespace:<name>`, and it sees only threads with its own tag. The `default` namespace also sees
 * threads carrying no namespace tag (those the command line or a program made), so one store's threads are not
 * hidden from its default server.
 *
 * @since 0.1.0
 */
import { DateTime, Effect, Option, Schema } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import { WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import { JsonObject } from "../Json.js"
import { DEFAULT_NAMESPACE } from "../Memory.js"
import type { Message, Workstream } from "../Workstream.js"
import { MessageRole, WorkstreamState } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { ADD, Cursor, decodeCursor, encodeCursor, given, Limit, offsetOf, READ, tool } from "./mcpTool.js"
import type { Tool } from "./mcpTool.js"

/** How the tag that confines a thread to a namespace starts. @category namespaces */
export const NAMESPACE_TAG = "namespace:"

/** Whether a server bound to `namespace` may see `w`. @category namespaces */
export const threadVisible = (namespace: string, w: Workstream): boolean =>
  w.tags.includes(`${NAMESPACE_TAG}${namespace}`) ||
  (namespace === DEFAULT_NAMESPACE && !w.tags.some((t) => t.startsWith(NAMESPACE_TAG)))

/** The thread `id` when the server's namespace may see it; NotFound otherwise, as for an unknown id. @category namespaces */
export const requireThread = (namespace: string, id: WorkstreamId) =>
  Effect.flatMap(WorkstreamStore, (store) => store.get(id)).pipe(
    Effect.flatMap((found) =>
      Option.isSome(found) && threadVisible(namespace, found.value)
        ? Effect.succeed(found.value)
        : Effect.fail(new NotFound({ entity: "thread", id }))
    )
  )

/** One page of the namespace's threads, newest activity first, and the store's cursor of the next. @category namespaces */
export const threadPage = (namespace: string, options: { readonly state?: WorkstreamState | undefined; readonly limit: number; readonly cursor?: string | undefined }) =>
  Effect.flatMap(WorkstreamStore, (store) =>
    store.list({
      limit: options.limit,
      ...given("state", options.state),
      ...given("cursor", options.cursor),
      // The default namespace also sees untagged threads, so it filters after reading instead.
      ...(namespace === DEFAULT_NAMESPACE ? {} : { tag: `${NAMESPACE_TAG}${namespace}` })
    })).pipe(
      Effect.map((page) => ({ items: page.items.filter((w) => threadVisible(namespace, w)), nextCursor: Option.getOrUndefined(page.nextCursor) }))
    )

const ThreadId = WorkstreamId.annotations({ description: "The thread's id, as thread_create or thread_list returned it" })
const Tags = Schema.Array(Schema.String).annotations({ description: "Labels, e.g. [\"project:atlas\"]" })

/** A thread as a tool shows it. @category views */
export const threadView = (w: Workstream) => ({
  id: w.id,
  title: w.title,
  ...given("summary", w.summary),
  state: w.state,
  tags: w.tags.filter((t) => !t.startsWith(NAMESPACE_TAG)),
  messageCount: w.messageCount,
  ...(w.forkedFrom !== undefined ? { forkedFrom: { threadId: w.forkedFrom.workstreamId, seq: w.forkedFrom.seq } } : {}),
  createdAt: DateTime.formatIso(w.createdAt),
  updatedAt: DateTime.formatIso(w.updatedAt)
})

/** A message as a tool shows it. @category views */
export const messageView = (m: Message) => ({
  seq: m.seq,
  id: m.id,
  role: m.role,
  content: m.content,
  timestamp: DateTime.formatIso(m.timestamp),
  ...given("metadata", m.metadata)
})

const checkTags = (method: string, tags: ReadonlyArray<string> | undefined) =>
  tags?.some((t) => t.startsWith(NAMESPACE_TAG)) === true
    ? Effect.fail(new InvalidInput({ method, message: `tags starting with "${NAMESPACE_TAG}" are the server's own: the namespace is set when the server starts` }))
    : Effect.void

/** The tools that add threads and messages. */
const threadWrites = (namespace: string, own: ReadonlyArray<string>): ReadonlyArray<Tool> => [
    tool({
      name: "thread_create",
      description: "Start a conversation thread: an append-only log of messages that later sessions can read back. Returns its id.",
      hints: ADD,
      input: Schema.Struct({
        title: Schema.String.annotations({ description: "What the thread is about" }),
        summary: Schema.optional(Schema.String),
        tags: Schema.optional(Tags)
      }),
      run: (a) =>
        Effect.gen(function*() {
          yield* checkTags("thread_create", a.tags)
          const w = yield* (yield* WorkstreamStore).create({ title: a.title, ...given("summary", a.summary), tags: [...(a.tags ?? []), ...own] })
          return { result: `created thread ${w.id}`, thread: threadView(w) }
        })
    }),
    tool({
      name: "thread_append",
      description: "Append a message to a thread; it is durable when the call returns. Returns its seq (1-based position).",
      hints: ADD,
      input: Schema.Struct({
        threadId: ThreadId,
        role: MessageRole,
        content: Schema.String,
        metadata: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
      }),
      run: (a) =>
        Effect.gen(function*() {
          yield* requireThread(namespace, a.threadId)
          const m = yield* (yield* WorkstreamStore).storeMessage(a.threadId, {
            role: a.role,
            content: a.content,
            ...given("metadata", a.metadata === undefined ? undefined : yield* decodeInput(JsonObject, "thread_append")(a.metadata))
          })
          return { result: `appended message ${m.seq} to thread ${a.threadId}`, seq: m.seq, id: m.id }
        })
    }),
    tool({
      name: "thread_fork",
      description: "Branch a thread: a new thread with the messages up to atSeq (default: all), the source left as it is.",
      hints: ADD,
      input: Schema.Struct({
        threadId: ThreadId,
        title: Schema.String,
        atSeq: Schema.optional(Schema.NonNegativeInt).annotations({ description: "The last message the fork keeps (0: none)" })
      }),
      run: (a) =>
        Effect.gen(function*() {
          yield* requireThread(namespace, a.threadId)
          const w = yield* (yield* WorkstreamStore).fork(a.threadId, { title: a.title, tags: own, ...given("atSeq", a.atSeq) })
          return { result: `forked thread ${a.threadId} into ${w.id}`, thread: threadView(w) }
        })
    })
]

/** The tools that read threads. */
const threadReads = (namespace: string): ReadonlyArray<Tool> => [
    tool({
      name: "thread_list",
      description: "List threads, most recently active first (default 20, at most 100 a page; a page may hold fewer, read on while nextCursor is given).",
      hints: READ,
      input: Schema.Struct({ state: Schema.optional(WorkstreamState), limit: Limit(20, 100), cursor: Cursor }),
      run: (a) =>
        Effect.gen(function*() {
          const from = a.cursor === undefined ? undefined : String((yield* decodeCursor("thread_list", a.cursor))["c"])
          const page = yield* threadPage(namespace, { state: a.state, limit: a.limit ?? 20, cursor: from })
          return {
            threads: page.items.map(threadView),
            ...(page.nextCursor !== undefined ? { nextCursor: encodeCursor({ tool: "thread_list", c: page.nextCursor }) } : {})
          }
        })
    }),
    tool({
      name: "thread_messages",
      description: "Read a thread's latest messages, oldest to newest (default 50, at most 200); nextCursor reads the ones before them.",
      hints: READ,
      input: Schema.Struct({ threadId: ThreadId, limit: Limit(50, 200), cursor: Cursor }),
      run: (a) =>
        Effect.gen(function*() {
          yield* requireThread(namespace, a.threadId)
          const before = a.cursor === undefined ? undefined : Number((yield* decodeCursor("thread_messages", a.cursor))["before"])
          const messages = yield* (yield* WorkstreamStore).loadMessages(a.threadId, { limit: a.limit ?? 50, ...given("beforeSeq", before) })
          const first = messages[0]
          return {
            messages: messages.map(messageView),
            ...(first !== undefined && first.seq > 1 ? { nextCursor: encodeCursor({ tool: "thread_messages", before: first.seq }) } : {})
          }
        })
    }),
    tool({
      name: "thread_search",
      description: "Search the words of thread messages, best first, with a snippet around the match (default 10, at most 50 a page).",
      hints: READ,
      input: Schema.Struct({
        query: Schema.String,
        threadIds: Schema.optional(Schema.Array(WorkstreamId)).annotations({ description: "Only these threads" }),
        roles: Schema.optional(Schema.Array(MessageRole)),
        limit: Limit(10, 50),
        cursor: Cursor
      }),
      run: (a) =>
        Effect.gen(function*() {
          const offset = yield* offsetOf("thread_search", a.cursor)
          const limit = a.limit ?? 10
          const ids = a.threadIds === undefined
            ? yield* allThreadIds(namespace)
            : (yield* Effect.forEach(a.threadIds, (id) => requireThread(namespace, id))).map((w) => w.id)
          const depth = Math.min(1000, offset + limit + 1)
          const hits = ids.length === 0 ? [] : yield* (yield* WorkstreamStore).searchMessages(a.query, {
            workstreamIds: ids,
            limit: depth,
            ...given("roles", a.roles)
          })
          const page = hits.slice(offset, offset + limit)
          const more = hits.length > offset + limit && offset + limit < 1000
          return {
            hits: page.map((h) => ({ threadId: h.workstreamId, seq: h.seq, role: h.message.role, score: Math.round(h.score * 1000) / 1000, snippet: h.snippet })),
            ...(more ? { nextCursor: encodeCursor({ tool: "thread_search", offset: offset + limit }) } : {})
          }
        })
    })
]

/** The thread tools of a server bound to `namespace`. @category tools */
export const threadTools = (namespace: string): ReadonlyArray<Tool> => {
  const own = [`${NAMESPACE_TAG}${namespace}`]
  return [...threadWrites(namespace, own), ...threadReads(namespace)]
}

/** Every thread id the namespace sees (a search names the threads it may read). */
const allThreadIds = (namespace: string) =>
  Effect.gen(function*() {
    const ids: Array<WorkstreamId> = []
    let cursor: string | undefined
    do {
      const page = yield* threadPage(namespace, { limit: 1000, cursor })
      ids.push(...page.items.map((w) => w.id))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return ids
  })
