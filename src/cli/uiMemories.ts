/**
 * The inspector's memory endpoints: a keyset-paged list (any store size: a page reads its own rows, never the
 * store), search with each hit's `explain`, one memory with its history, the `where` check, and the writes (edit,
 * expire, delete).
 *
 * @since 0.2.0
 */
import { Chunk, DateTime, Duration, Effect, Either, Option, Schema, Stream } from "effect"
import type { EmbeddingError, EmbeddingSpaceMismatch, InvalidInput, NotFound, StorageError } from "../Errors.js"
import { MemoryId } from "../Ids.js"
import { formatIssues } from "../internal/decode.js"
import type { ConfidenceSource as Source, MemoryFilter, MemoryPatch } from "../Memory.js"
import { confidenceScore, ConfidenceSource, ContentType, Memory, SearchMode } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { MemoryEvent } from "../MemoryEvent.js"
import * as Where from "../Where.js"
import type { ApiRequest, Route } from "./uiHttp.js"
import { ApiFailure } from "./uiHttp.js"

/** What a store read or write fails with. @category errors */
export type StoreError = InvalidInput | NotFound | StorageError | EmbeddingError | EmbeddingSpaceMismatch

/** The one line the page shows for a store failure, with its HTTP status. @category errors */
export const toFailure = (e: StoreError | ApiFailure): ApiFailure => {
  switch (e._tag) {
    case "ApiFailure":
      return e
    case "InvalidInput":
      return new ApiFailure(400, e.message)
    case "NotFound":
      return new ApiFailure(404, `${e.entity} ${e.id} does not exist`)
    case "EmbeddingSpaceMismatch":
      return new ApiFailure(409, e.message)
    case "StorageError":
    case "EmbeddingError":
      return new ApiFailure(500, e.message)
  }
}

const bad = (message: string) => new ApiFailure(400, message)

const decodeOr = <A, I>(schema: Schema.Schema<A, I>, what: string) => (u: unknown): Effect.Effect<A, ApiFailure> =>
  Effect.mapError(Schema.decodeUnknown(schema)(u), (e) => bad(`${what}: ${formatIssues(e)}`))

const time = (q: URLSearchParams, key: string): Effect.Effect<Option.Option<DateTime.Utc>, ApiFailure> => {
  const raw = q.get(key)
  if (raw === null || raw === "") return Effect.succeed(Option.none())
  return Option.match(DateTime.make(raw), {
    onNone: () => Effect.fail(bad(`${key} ${JSON.stringify(raw)} is not a time`)),
    onSome: (t) => Effect.succeed(Option.some(DateTime.toUtc(t)))
  })
}

const list = (q: URLSearchParams, key: string): ReadonlyArray<string> =>
  (q.get(key) ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")

/** The where filter's text, parsed and checked, or a 400 saying what is wrong with it. */
const whereOf = (text: string | null): Effect.Effect<Option.Option<Where.WhereInput>, ApiFailure> => {
  if (text === null || text.trim() === "") return Effect.succeed(Option.none())
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return Effect.fail(bad("where: not JSON (write an object such as {\"extra.project\": \"atlas\"})"))
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return Effect.fail(bad("where: a JSON object of conditions"))
  }
  const record: Where.WhereInput = Object.fromEntries(Object.entries(parsed))
  return Either.match(Where.parse(record), {
    onLeft: (message) => Effect.fail(bad(`where: ${message}`)),
    onRight: () => Effect.succeed(Option.some(record))
  })
}

interface Filters {
  readonly filter: MemoryFilter
  /** Confidence source: not a store filter, so the page's reads apply it to the rows they read. */
  readonly source: Option.Option<Source>
}

const filtersOf = (q: URLSearchParams): Effect.Effect<Filters, ApiFailure> =>
  Effect.gen(function*() {
    const types = yield* decodeOr(Schema.Array(ContentType), "type")(list(q, "type"))
    const since = yield* time(q, "since")
    const until = yield* time(q, "until")
    const where = yield* whereOf(q.get("where"))
    const sourceText = q.get("source")
    const source = sourceText === null || sourceText === ""
      ? Option.none()
      : Option.some(yield* decodeOr(ConfidenceSource, "source")(sourceText))
    const namespace = q.get("namespace") ?? ""
    const tags = list(q, "tags")
    const session = q.get("session") ?? ""
    const thread = q.get("thread") ?? ""
    const filter: MemoryFilter = {
      ...(namespace !== "" ? { namespace } : {}),
      ...(types.length > 0 ? { contentTypes: types } : {}),
      ...(tags.length > 0 ? { tags } : {}),
      ...(session !== "" ? { sessionId: session } : {}),
      ...(thread !== "" ? { workstreamId: thread } : {}),
      ...(Option.isSome(since) ? { since: since.value } : {}),
      ...(Option.isSome(until) ? { until: until.value } : {}),
      ...(Option.isSome(where) ? { where: where.value } : {}),
      includeSuperseded: q.get("superseded") === "1"
    }
    return { filter, source }
  })

/** A list position: the createdAt and id of the last memory shown (the list is newest first, then id desc). */
const Cursor = Schema.parseJson(Schema.Struct({ t: Schema.Number, id: Schema.String }))

const cursorOf = (text: string | null) =>
  text === null || text === ""
    ? Effect.succeed(Option.none())
    : Effect.map(
      decodeOr(Cursor, "cursor")(Buffer.from(text, "base64url").toString("utf8")),
      Option.some
    )

const encodeMemory = (m: Memory, now: DateTime.Utc) =>
  Effect.map(
    Effect.mapError(Schema.encode(Memory)(m), (e) => new ApiFailure(500, `encoding memory ${m.id}: ${formatIssues(e)}`)),
    (memory) => ({ ...memory, confidenceNow: confidenceScore(m.confidence, now) })
  )

const pageSize = (q: URLSearchParams) => {
  const n = Number(q.get("limit") ?? "50")
  return Number.isInteger(n) && n >= 1 && n <= 500 ? Effect.succeed(n) : Effect.fail(bad("limit: a whole number from 1 to 500"))
}

/**
 * One page after the cursor. The store's own filter bounds `createdAt` by the cursor (`until` is inclusive), and
 * the few memories created in the same millisecond that were shown already are skipped.
 */
const listPage = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const { filter, source } = yield* filtersOf(q)
    const limit = yield* pageSize(q)
    const cursor = yield* cursorOf(q.get("cursor"))
    const bounded: MemoryFilter = Option.match(cursor, {
      onNone: () => filter,
      onSome: (c) => {
        const until = filter.until !== undefined && filter.until.epochMillis < c.t ? filter.until : DateTime.unsafeMake(c.t)
        return { ...filter, until }
      }
    })
    const rows = yield* m.list(bounded).pipe(
      Stream.dropWhile((r) =>
        Option.match(cursor, { onNone: () => false, onSome: (c) => r.createdAt.epochMillis === c.t && r.id >= c.id })
      ),
      Stream.filter((r) => Option.match(source, { onNone: () => true, onSome: (s) => r.confidence.source === s })),
      Stream.take(limit + 1),
      Stream.runCollect,
      Effect.map(Chunk.toReadonlyArray)
    )
    const items = rows.slice(0, limit)
    const last = items.at(-1)
    const nextCursor = rows.length > limit && last !== undefined
      ? Buffer.from(JSON.stringify({ t: last.createdAt.epochMillis, id: last.id })).toString("base64url")
      : null
    // A count by confidence source would read every row: the page then shows none.
    const total = Option.isNone(source) ? yield* m.count(filter) : null
    const now = yield* DateTime.now
    return { items: yield* Effect.forEach(items, (r) => encodeMemory(r, now)), nextCursor, total }
  })

const search = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const query = q.get("q") ?? ""
    if (query.trim() === "") return yield* Effect.fail(bad("search: type some words"))
    const mode = yield* decodeOr(SearchMode, "mode")(q.get("mode") ?? "hybrid")
    const { filter, source } = yield* filtersOf(q)
    const limit = yield* pageSize(q)
    const hits = yield* (yield* MemoryBackend).search(query, { ...filter, mode, limit })
    const now = yield* DateTime.now
    const shown = hits.filter((h) => Option.match(source, { onNone: () => true, onSome: (s) => h.memory.confidence.source === s }))
    return {
      hits: yield* Effect.forEach(shown, (h) =>
        Effect.map(encodeMemory(h.memory, now), (memory) => ({ memory, score: h.score, explain: h.explain })))
    }
  })

const memoryId = (u: unknown) => decodeOr(MemoryId, "id")(u)

const detail = (q: URLSearchParams) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const id = yield* memoryId(q.get("id"))
    const found = yield* m.get(id)
    if (Option.isNone(found)) return yield* Effect.fail(new ApiFailure(404, `memory ${id} does not exist`))
    const events = yield* Stream.runCollect(m.history(id))
    const encoded = yield* Effect.forEach(
      Chunk.toReadonlyArray(events),
      (e) => Effect.mapError(Schema.encode(MemoryEvent)(e), (x) => new ApiFailure(500, `encoding history: ${formatIssues(x)}`))
    )
    return { memory: yield* encodeMemory(found.value, yield* DateTime.now), history: encoded }
  })

const WriteBody = Schema.Struct({
  id: Schema.String,
  content: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String))
})

const writeBody = (r: ApiRequest) =>
  Effect.flatMap(decodeOr(WriteBody, "body")(r.body), (b) => Effect.map(memoryId(b.id), (id) => ({ ...b, id })))

const edit = (r: ApiRequest) =>
  Effect.gen(function*() {
    const b = yield* writeBody(r)
    const patch: MemoryPatch = {
      ...(b.content !== undefined ? { content: b.content } : {}),
      ...(b.tags !== undefined ? { metadata: { tags: b.tags } } : {})
    }
    const updated = yield* (yield* MemoryBackend).update(b.id, patch)
    return { memory: yield* encodeMemory(updated, yield* DateTime.now) }
  })

/**
 * Expiring now: the store takes only an expiry later than its own now, so the memory gets a time to live of one
 * millisecond, after which every read stops returning it (and `sweep` deletes it).
 */
const expire = (r: ApiRequest) =>
  Effect.gen(function*() {
    const b = yield* writeBody(r)
    yield* (yield* MemoryBackend).update(b.id, { ttl: Duration.millis(1) })
    // The answer leaves when the memory has expired: the page's next read no longer sees it.
    yield* Effect.sleep("2 millis")
    return { expired: b.id }
  })

const remove = (r: ApiRequest) =>
  Effect.gen(function*() {
    const b = yield* writeBody(r)
    const m = yield* MemoryBackend
    if (Option.isNone(yield* m.get(b.id))) return yield* Effect.fail(new ApiFailure(404, `memory ${b.id} does not exist`))
    yield* m.delete(b.id)
    return { deleted: b.id }
  })

const checkWhere = (q: URLSearchParams) =>
  Effect.match(whereOf(q.get("where")), { onFailure: (f) => ({ ok: false, error: f.message }), onSuccess: () => ({ ok: true }) })

const read = <A, E extends StoreError | ApiFailure>(f: (q: URLSearchParams) => Effect.Effect<A, E, MemoryBackend>): Route<MemoryBackend> => ({
  write: false,
  handle: (r) => Effect.mapError(f(r.query), toFailure)
})

const write = <A, E extends StoreError | ApiFailure>(f: (r: ApiRequest) => Effect.Effect<A, E, MemoryBackend>): Route<MemoryBackend> => ({
  write: true,
  handle: (r) => Effect.mapError(f(r), toFailure)
})

/** The memory endpoints by path. @category routes */
export const memoryRoutes: Readonly<Record<string, Route<MemoryBackend>>> = {
  "/api/memories": read(listPage),
  "/api/memories/search": read(search),
  "/api/memory": read(detail),
  "/api/where": read(checkWhere),
  "/api/memory/edit": write(edit),
  "/api/memory/expire": write(expire),
  "/api/memory/delete": write(remove)
}
