/**
 * The resources of `arawn-store mcp`: `memory://memories/<id>` for each memory and `memory://threads/<id>` for each
 * thread of the server's namespace, listed a page at a time (memories newest first, then threads).
 *
 * @since 0.1.0
 */
import { DateTime, Effect, Option } from "effect"
import { NotFound } from "../Errors.js"
import { MemoryId, WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { clip } from "./output.js"
import { decodeCursor, encodeCursor, memoryPage, memoryView } from "./mcpTool.js"
import { messageView, requireThread, threadPage, threadView } from "./mcpThreadTools.js"

/** Resources one `resources/list` call returns at most. @category constants */
export const RESOURCE_PAGE = 100

/** How many of a thread's latest messages its resource holds (thread_messages reads further back). @category constants */
export const THREAD_TAIL = 50

const MIME = "application/json"

/** The URI templates a client can fill in. @category resources */
export const resourceTemplates = [
  { uriTemplate: "memory://memories/{id}", name: "memory", description: "One memory, as JSON", mimeType: MIME },
  { uriTemplate: "memory://threads/{id}", name: "thread", description: `A thread and its last ${THREAD_TAIL} messages, as JSON`, mimeType: MIME }
]

/** One resource of a listing. @category resources */
export interface ResourceEntry {
  readonly uri: string
  readonly name: string
  readonly title?: string
  readonly mimeType: string
}

/** One page of the namespace's resources and the cursor of the next. @category resources */
export const listResources = (namespace: string, cursor: string | undefined) =>
  Effect.gen(function*() {
    const at = cursor === undefined ? { phase: "m" } : yield* decodeCursor("resources/list", cursor)
    const inner = typeof at["c"] === "string" ? at["c"] : undefined
    const resources: Array<ResourceEntry> = []
    if (at["phase"] === "m") {
      const page = yield* memoryPage(yield* MemoryBackend, "resources/list.m", {}, inner, RESOURCE_PAGE)
      resources.push(...page.items.map((m) => ({ uri: `memory://memories/${m.id}`, name: `memory ${m.id}`, title: clip(m.content, 80), mimeType: MIME })))
      if (page.nextCursor !== undefined) return { resources, nextCursor: encodeCursor({ tool: "resources/list", phase: "m", c: page.nextCursor }) }
    }
    const page = yield* threadPage(namespace, { limit: RESOURCE_PAGE, cursor: at["phase"] === "t" ? inner : undefined })
    resources.push(...page.items.map((w) => ({ uri: `memory://threads/${w.id}`, name: `thread ${w.id}`, title: w.title, mimeType: MIME })))
    return {
      resources,
      ...(page.nextCursor !== undefined ? { nextCursor: encodeCursor({ tool: "resources/list", phase: "t", c: page.nextCursor }) } : {})
    }
  })

const URI = /^memory:\/\/(memories|threads)\/([^/?#]+)$/

/** The JSON text of the resource at `uri`; NotFound when the namespace holds nothing there. @category resources */
export const readResource = (namespace: string, uri: string) =>
  Effect.gen(function*() {
    const match = URI.exec(uri)
    if (match === null) return yield* new NotFound({ entity: "resource", id: uri })
    const [, kind, raw] = match
    if (kind === "memories") {
      const id = yield* decodeInput(MemoryId, "resources/read")(decodeURIComponent(raw!))
      const found = yield* (yield* MemoryBackend).get(id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "memory", id })
      return JSON.stringify(memoryView(found.value, yield* DateTime.now), null, 2)
    }
    const id = yield* decodeInput(WorkstreamId, "resources/read")(decodeURIComponent(raw!))
    const thread = yield* requireThread(namespace, id)
    const messages = yield* (yield* WorkstreamStore).loadMessages(id, { limit: THREAD_TAIL })
    return JSON.stringify({ thread: threadView(thread), messages: messages.map(messageView) }, null, 2)
  })
