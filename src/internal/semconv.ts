/**
 * OpenTelemetry's GenAI memory conventions on the spans every service already opens: one table says which
 * operation each public method is, `tracing` gives a service its spans' options (built once, when the service is
 * made), and a few pipeables add what is only known per call (record ids, result counts, the query when the caller
 * opted in). Static attributes cost nothing per call; a dynamic one is one `tap` on the method's result.
 */
import { Context, Effect, Option } from "effect"
import type * as Tracer from "effect/Tracer"

/** `gen_ai.operation.name`: what the operation does, in the conventions' words. */
export const ATTR_OPERATION_NAME = "gen_ai.operation.name"
/** `gen_ai.memory.store.id`: the backend's name, then `:` and the namespace or workstream the call is confined to. */
export const ATTR_MEMORY_STORE_ID = "gen_ai.memory.store.id"
/** `gen_ai.memory.record.id`: the memory, message or session the call touched, when it is one. */
export const ATTR_MEMORY_RECORD_ID = "gen_ai.memory.record.id"
/** `gen_ai.memory.record.count`: records returned (reads) or written, deleted (writes). */
export const ATTR_MEMORY_RECORD_COUNT = "gen_ai.memory.record.count"
/** `gen_ai.memory.query.text`: the search query, only under `CaptureQueryText` (it can hold user data). */
export const ATTR_MEMORY_QUERY_TEXT = "gen_ai.memory.query.text"
/** `gen_ai.conversation.id`: the workstream (conversation) of a WorkstreamStore call. */
export const ATTR_CONVERSATION_ID = "gen_ai.conversation.id"

/** The memory operations of the conventions (`gen_ai.operation.name` values). */
export type Operation =
  | "create_memory_store"
  | "delete_memory_store"
  | "create_memory"
  | "update_memory"
  | "upsert_memory"
  | "delete_memory"
  | "search_memory"

/**
 * The operation of each public method. Methods not listed (stats, count, list of workstreams, a workstream's
 * metadata update, contains, size, reindex, history) have no counterpart in the conventions and carry only the
 * store id.
 */
export const OPERATIONS: Readonly<Record<string, Operation>> = {
  "MemoryBackend.store": "create_memory",
  "MemoryBackend.storeMany": "create_memory",
  "MemoryBackend.storeFact": "upsert_memory",
  "MemoryBackend.put": "upsert_memory",
  "MemoryBackend.update": "update_memory",
  "MemoryBackend.delete": "delete_memory",
  "MemoryBackend.sweep": "delete_memory",
  "MemoryBackend.purge": "delete_memory",
  "MemoryBackend.get": "search_memory",
  "MemoryBackend.search": "search_memory",
  "MemoryBackend.list": "search_memory",
  "MemoryBackend.facts": "search_memory",
  "MemoryBackend.retractFact": "update_memory",
  "WorkstreamStore.create": "create_memory_store",
  "WorkstreamStore.ensureScratch": "create_memory_store",
  "WorkstreamStore.fork": "create_memory_store",
  "WorkstreamStore.promoteScratch": "create_memory_store",
  "WorkstreamStore.delete": "delete_memory_store",
  "WorkstreamStore.storeMessage": "create_memory",
  "WorkstreamStore.storeMessages": "create_memory",
  "WorkstreamStore.loadMessages": "search_memory",
  "WorkstreamStore.searchMessages": "search_memory",
  "WorkstreamStore.summarize": "create_memory",
  "WorkstreamStore.listSummaries": "search_memory",
  "WorkstreamStore.loadContext": "search_memory",
  "SessionStore.get": "search_memory",
  "SessionStore.put": "upsert_memory",
  "SessionStore.remove": "delete_memory"
}

/**
 * Whether search spans carry the query text (`gen_ai.memory.query.text`); off unless the caller provides `true`,
 * read per call from the caller's context.
 */
export class CaptureQueryText extends Context.Reference<CaptureQueryText>()("arawn-store/CaptureQueryText", {
  defaultValue: () => false
}) {}

interface Base {
  readonly attributes: Readonly<Record<string, unknown>>
  readonly captureStackTrace?: boolean
}

/** The store id of a backend confined to `scope` (a namespace or workstream), or of the whole backend. */
export const storeId = (backend: string, scope: Option.Option<string>): string =>
  Option.match(scope, { onNone: () => backend, onSome: (s) => `${backend}:${s}` })

/**
 * `options(method)`: `base` plus the method's operation and `store`; `fn(method)`: `Effect.fn` with those options.
 * Both run when the service is made, never per call.
 */
export const tracing = (base: Base, store: string) => {
  const options = (method: string): Tracer.SpanOptions => {
    const operation = OPERATIONS[method]
    return {
      ...base,
      attributes: { ...base.attributes, [ATTR_MEMORY_STORE_ID]: store, ...(operation !== undefined ? { [ATTR_OPERATION_NAME]: operation } : {}) }
    }
  }
  return { options, fn: (method: string) => Effect.fn(method, options(method)) }
}

const annotate = Effect.annotateCurrentSpan

/** The call's one record is its result (an id). */
export const resultId = <A extends string, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tap(self, (id) => annotate({ [ATTR_MEMORY_RECORD_ID]: id, [ATTR_MEMORY_RECORD_COUNT]: 1 }))

/** The call's one record is its result's `id`. */
export const resultRecord = <A extends { readonly id: string }, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tap(self, (a) => annotate({ [ATTR_MEMORY_RECORD_ID]: a.id, [ATTR_MEMORY_RECORD_COUNT]: 1 }))

/** The result is the records (or, as a number, how many): their count. */
export const resultCount = <A extends ReadonlyArray<unknown> | number, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tap(self, (a) => annotate(ATTR_MEMORY_RECORD_COUNT, typeof a === "number" ? a : a.length))

/** The call's one record is its first argument (set first, so a failed call shows it too). */
export const argumentId = <A, E, R>(self: Effect.Effect<A, E, R>, id: string): Effect.Effect<A, E, R> =>
  Effect.zipRight(annotate({ [ATTR_MEMORY_RECORD_ID]: id, [ATTR_MEMORY_RECORD_COUNT]: 1 }), self)

/** A lookup of the record named by the first argument: counted when found. */
export const lookup = <A, E, R>(self: Effect.Effect<Option.Option<A>, E, R>, id: string): Effect.Effect<Option.Option<A>, E, R> =>
  Effect.tap(self, (found) => annotate({ [ATTR_MEMORY_RECORD_ID]: id, [ATTR_MEMORY_RECORD_COUNT]: Option.isSome(found) ? 1 : 0 }))

/** A search for the first argument: the hits' count, and the query when the caller opted in (`CaptureQueryText`). */
export const searched = <A extends ReadonlyArray<unknown>, E, R>(self: Effect.Effect<A, E, R>, query: string): Effect.Effect<A, E, R> =>
  Effect.tap(self, (hits) =>
    Effect.flatMap(CaptureQueryText, (capture) =>
      annotate(
        capture
          ? { [ATTR_MEMORY_RECORD_COUNT]: hits.length, [ATTR_MEMORY_QUERY_TEXT]: query }
          : { [ATTR_MEMORY_RECORD_COUNT]: hits.length }
      )))

/** A call on the workstream named by its first argument: that conversation, as its own store. */
export const conversation = (backend: string) => <A, E, R>(self: Effect.Effect<A, E, R>, id: string): Effect.Effect<A, E, R> =>
  Effect.zipRight(annotate({ [ATTR_CONVERSATION_ID]: id, [ATTR_MEMORY_STORE_ID]: `${backend}:${id}` }), self)

/** A call that made a workstream (its result): that conversation, as its own store. */
export const madeConversation = (backend: string) => <A extends { readonly id: string }, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tap(self, (ws) => annotate({ [ATTR_CONVERSATION_ID]: ws.id, [ATTR_MEMORY_STORE_ID]: `${backend}:${ws.id}` }))
