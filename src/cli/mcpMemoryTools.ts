/**
 * The memory tools of `arawn-store mcp`: store, search, get, update, delete, history and list, over the
 * MemoryBackend the server is confined to (one namespace).
 *
 * @since 0.1.0
 */
import { Chunk, DateTime, Effect, Option, Schema, Stream } from "effect"
import { InvalidInput, NotFound, StorageError } from "../Errors.js"
import { MemoryId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import { JsonObject } from "../Json.js"
import { ConfidenceSource, ContentType } from "../Memory.js"
import type { Memory, MemoryFilter, NewMemory, StoreFactResult } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { MemoryEvent } from "../MemoryEvent.js"
import { parseExpiry } from "./memoryOptions.js"
import { ADD, CHANGE, Cursor, encodeCursor, given, Limit, memoryPage, memoryView, offsetOf, READ, REMOVE, tool } from "./mcpTool.js"
import type { Tool } from "./mcpTool.js"

/** Deepest a search can be paged: the store ranks at most this many hits per call. */
const SEARCH_DEPTH = 1000

const Id = MemoryId.annotations({ description: "The memory's id (a UUID, as memory_store or memory_search returned it)" })
const Type = ContentType.annotations({ description: "What kind of memory: note (default), fact (with subject and predicate), summary, thought, ..." })
const Tags = Schema.Array(Schema.String).annotations({ description: "Labels to find it by later, e.g. [\"project:atlas\", \"preference\"]" })
const Extra = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  description: "Free JSON metadata, matched by `where` filters as extra.<key>"
})
const Where = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
  description: "Conditions on metadata: {\"extra.project\": \"atlas\", \"extra.priority\": {\"$gte\": 2}, \"subject\": \"user\"}; " +
    "operators $eq $ne $in $nin $gt $gte $lt $lte $exists $and $or $not"
})
const Expires = Schema.String.annotations({
  description: "Forget it after a time to live (\"30 days\", \"2 hours\") or at an ISO instant (2027-01-01T00:00:00Z)"
})
const Filters = {
  types: Schema.optional(Schema.Array(ContentType)).annotations({ description: "Only these kinds" }),
  tags: Schema.optional(Schema.Array(Schema.String)).annotations({ description: "Only memories carrying every one of these tags" }),
  where: Schema.optional(Where),
  includeSuperseded: Schema.optional(Schema.Boolean).annotations({ description: "Include facts replaced by newer ones (default false)" })
}

const filterOf = (f: { readonly types?: ReadonlyArray<ContentType> | undefined; readonly tags?: ReadonlyArray<string> | undefined; readonly where?: { readonly [k: string]: unknown } | undefined; readonly includeSuperseded?: boolean | undefined }): MemoryFilter => ({
  ...given("contentTypes", f.types),
  ...given("tags", f.tags),
  ...given("where", f.where),
  ...given("includeSuperseded", f.includeSuperseded)
})

const decodeExtra = decodeInput(JsonObject, "extra")

const expiryOf = (method: string, text: string) =>
  Effect.mapError(parseExpiry(method, text), (e) => new InvalidInput({ method, message: e.message.replace("--expires", "expires") }))

const requireMemory = (id: MemoryId) =>
  Effect.flatMap(MemoryBackend, (m) => m.get(id)).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new NotFound({ entity: "memory", id })),
      onSome: (memory: Memory) => Effect.succeed(memory)
    }))
  )

const view = (m: Memory) => Effect.map(DateTime.now, (now) => memoryView(m, now))

const outcomeText = (r: StoreFactResult) =>
  r.outcome === "inserted"
    ? `stored memory ${r.id}`
    : r.outcome === "reinforced"
    ? `the same fact was already stored: reinforced memory ${r.id}`
    : `stored memory ${r.id}; it supersedes ${r.supersededIds.join(", ")}`

const memoryStore = tool({
  name: "memory_store",
  description: "Remember something for later conversations. Give subject and predicate to store a fact: the same fact " +
    "again reinforces it, a different value for the same subject and predicate supersedes the old one. Returns the id.",
  hints: ADD,
  input: Schema.Struct({
    content: Schema.String.annotations({ description: "What to remember, in plain words" }),
    type: Schema.optional(Type),
    tags: Schema.optional(Tags),
    subject: Schema.optional(Schema.String).annotations({ description: "Fact subject, e.g. user.preferred_editor (with predicate)" }),
    predicate: Schema.optional(Schema.String).annotations({ description: "Fact predicate, e.g. is (with subject)" }),
    source: Schema.optional(ConfidenceSource).annotations({
      description: "stated (the user said it), observed, inferred (default) or system: sets how much it is trusted"
    }),
    sourceUrl: Schema.optional(Schema.String).annotations({ description: "Where it was read, if on the web" }),
    sourcePath: Schema.optional(Schema.String).annotations({ description: "The file it came from, if any" }),
    expires: Schema.optional(Expires),
    extra: Schema.optional(Extra)
  }),
  run: (a) =>
    Effect.gen(function*() {
      if ((a.subject === undefined) !== (a.predicate === undefined)) {
        return yield* new InvalidInput({ method: "memory_store", message: "subject and predicate go together: give both or neither" })
      }
      const expiry = a.expires === undefined ? {} : yield* expiryOf("memory_store", a.expires)
      const isFact = a.subject !== undefined
      const input: NewMemory = {
        content: a.content,
        contentType: a.type ?? (isFact ? "fact" : "note"),
        ...given("source", a.source),
        metadata: {
          tags: a.tags ?? [],
          ...given("subject", a.subject),
          ...given("predicate", a.predicate),
          ...given("sourceUrl", a.sourceUrl),
          ...given("sourcePath", a.sourcePath),
          ...given("extra", a.extra === undefined ? undefined : yield* decodeExtra(a.extra))
        },
        ...expiry
      }
      const memories = yield* MemoryBackend
      const result: StoreFactResult = isFact
        ? yield* memories.storeFact(input)
        : { id: yield* memories.store(input), outcome: "inserted", supersededIds: [] }
      return { result: outcomeText(result), ...result }
    })
})

const memorySearch = tool({
  name: "memory_search",
  description: "Find memories by meaning and by words, best first. mode hybrid (default) fuses both, vector is " +
    "meaning only, text is words only. Set explain to see why each hit ranked where it did.",
  hints: READ,
  input: Schema.Struct({
    query: Schema.String.annotations({ description: "What to look for, in plain words" }),
    mode: Schema.optional(Schema.Literal("hybrid", "vector", "text")),
    limit: Limit(10, 50),
    cursor: Cursor,
    explain: Schema.optional(Schema.Boolean).annotations({ description: "Add the signals behind each score" }),
    ...Filters
  }),
  run: (a) =>
    Effect.gen(function*() {
      const offset = yield* offsetOf("memory_search", a.cursor)
      const limit = a.limit ?? 10
      if (offset >= SEARCH_DEPTH) return { result: "no more hits", hits: [] }
      // The store pages its own exact ranking: only this page (and one hit to tell whether more follow) is read out.
      const ranked = yield* (yield* MemoryBackend).search(a.query, {
        ...filterOf(a),
        limit: Math.min(limit + 1, SEARCH_DEPTH - offset),
        offset,
        ...given("mode", a.mode)
      })
      const now = yield* DateTime.now
      const page = ranked.slice(0, limit)
      const more = ranked.length > limit && offset + limit < SEARCH_DEPTH
      return {
        result: page.length === 0 ? "no memories match" : `${page.length} hit(s)${more ? ", more with nextCursor" : ""}`,
        hits: page.map((h) => ({
          score: Math.round(h.score * 1000) / 1000,
          ...memoryView(h.memory, now),
          ...(a.explain === true ? { explain: h.explain } : {})
        })),
        ...(more ? { nextCursor: encodeCursor({ tool: "memory_search", offset: offset + limit }) } : {})
      }
    })
})

const memoryGet = tool({
  name: "memory_get",
  description: "Read one memory by id.",
  hints: READ,
  input: Schema.Struct({ id: Id }),
  run: (a) => Effect.map(Effect.flatMap(requireMemory(a.id), view), (memory) => ({ memory }))
})

const memoryUpdate = tool({
  name: "memory_update",
  description: "Change a memory: present fields replace (tags replace the whole set); expires null makes it never expire.",
  hints: CHANGE,
  input: Schema.Struct({
    id: Id,
    content: Schema.optional(Schema.String),
    type: Schema.optional(Type),
    tags: Schema.optional(Tags),
    source: Schema.optional(ConfidenceSource),
    expires: Schema.optional(Schema.NullOr(Expires)),
    extra: Schema.optional(Extra)
  }),
  run: (a) =>
    Effect.gen(function*() {
      const current = yield* requireMemory(a.id)
      const expiry = a.expires === undefined ? {} : a.expires === null ? { expiresAt: null } : yield* expiryOf("memory_update", a.expires)
      const metadata = a.tags === undefined && a.extra === undefined ? {} : {
        // A patch's metadata replaces the whole record: the fields not asked to change are carried over.
        metadata: {
          ...given("subject", current.metadata.subject),
          ...given("predicate", current.metadata.predicate),
          ...given("sourcePath", current.metadata.sourcePath),
          ...given("sourceUrl", current.metadata.sourceUrl),
          ...given("toolName", current.metadata.toolName),
          ...given("lineRange", current.metadata.lineRange),
          tags: a.tags ?? current.metadata.tags,
          extra: a.extra === undefined ? current.metadata.extra : yield* decodeExtra(a.extra)
        }
      }
      const updated = yield* (yield* MemoryBackend).update(a.id, {
        ...given("content", a.content),
        ...given("contentType", a.type),
        ...given("source", a.source),
        ...metadata,
        ...expiry
      })
      return { result: `updated memory ${a.id}`, memory: yield* view(updated) }
    })
})

const memoryDelete = tool({
  name: "memory_delete",
  description: "Forget a memory for good (with its vector and text entry). Deleting one that is gone already changes nothing.",
  hints: REMOVE,
  input: Schema.Struct({ id: Id }),
  run: (a) =>
    Effect.gen(function*() {
      const memories = yield* MemoryBackend
      const found = yield* memories.get(a.id)
      yield* memories.delete(a.id)
      return Option.isSome(found)
        ? { result: `deleted memory ${a.id}`, deleted: true }
        : { result: `no memory ${a.id} in this namespace: nothing deleted`, deleted: false }
    })
})

const encodeEvent = Schema.encode(MemoryEvent)

const memoryHistory = tool({
  name: "memory_history",
  description: "What happened to a memory, oldest first: stored, updated (which fields), reinforced, superseded.",
  hints: READ,
  input: Schema.Struct({ id: Id, limit: Limit(50, 200), cursor: Cursor }),
  run: (a) =>
    Effect.gen(function*() {
      yield* requireMemory(a.id)
      const offset = yield* offsetOf("memory_history", a.cursor)
      const limit = a.limit ?? 50
      const read = Chunk.toReadonlyArray(
        yield* (yield* MemoryBackend).history(a.id).pipe(Stream.drop(offset), Stream.take(limit + 1), Stream.runCollect)
      )
      const events = yield* Effect.forEach(read.slice(0, limit), (e) =>
        Effect.mapError(encodeEvent(e), (cause) => new StorageError({ method: "memory_history", cause })))
      return {
        events,
        ...(read.length > limit ? { nextCursor: encodeCursor({ tool: "memory_history", offset: offset + limit }) } : {})
      }
    })
})

const memoryList = tool({
  name: "memory_list",
  description: "List memories, newest first, a page at a time (default 50, at most 200); pass nextCursor to read on.",
  hints: READ,
  input: Schema.Struct({ limit: Limit(50, 200), cursor: Cursor, ...Filters }),
  run: (a) =>
    Effect.gen(function*() {
      const page = yield* memoryPage(yield* MemoryBackend, "memory_list", filterOf(a), a.cursor, a.limit ?? 50)
      const now = yield* DateTime.now
      return {
        memories: page.items.map((m) => memoryView(m, now)),
        ...given("nextCursor", page.nextCursor)
      }
    })
})

/** The memory tools, in the order a client lists them. @category tools */
export const memoryTools: ReadonlyArray<Tool> = [memoryStore, memorySearch, memoryGet, memoryUpdate, memoryDelete, memoryHistory, memoryList]
