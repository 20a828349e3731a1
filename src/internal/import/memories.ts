/**
 * The original runtime's `memories` rows, and their conversion into `NewMemory` inputs.
 */
import { SqlSchema } from "@effect/sql"
import { DateTime, Effect, Either, Option, Schema, Stream } from "effect"
import { InvalidInput } from "../../Errors.js"
import { MemoryId, SessionId } from "../../Ids.js"
import type { ImportEvent } from "./events.js"
import { JsonObject } from "../../Json.js"
import type { JsonValue } from "../../Json.js"
import { Citation, ConfidenceSource, ContentType } from "../../Memory.js"
import type { MetadataInput, NewMemory } from "../../Memory.js"
import { MemoryBackend } from "../../MemoryBackend.js"
import type { WriteError } from "../../MemoryBackend.js"
import { parseTimestamp } from "../jsonl.js"
import { METHOD, openOriginal, storageError } from "./source.js"
import { storeBatch } from "./run.js"
import type { Run } from "./source.js"

/** The columns of `memories` this import reads; older schema versions lack some, which then read as NULL. */
export const MEMORY_COLUMNS = [
  "id",
  "session_id",
  "content_type",
  "content",
  "metadata",
  "created_at",
  "accessed_at",
  "access_count",
  "confidence_source",
  "reinforcement_count",
  "superseded",
  "superseded_by",
  "last_accessed",
  "citation"
] as const

const NullableString = Schema.NullOr(Schema.String)
const NullableNumber = Schema.NullOr(Schema.Number)

export const MemoryRow = Schema.Struct({
  id: Schema.String,
  session_id: NullableString,
  content_type: NullableString,
  content: NullableString,
  metadata: NullableString,
  created_at: NullableString,
  accessed_at: NullableString,
  access_count: NullableNumber,
  confidence_source: NullableString,
  reinforcement_count: NullableNumber,
  superseded: NullableNumber,
  superseded_by: NullableString,
  last_accessed: NullableString,
  citation: NullableString
})
export type MemoryRow = typeof MemoryRow.Type


const decodeJsonObject = Schema.decodeUnknownEither(Schema.parseJson(JsonObject))

const isMemoryId = Schema.is(MemoryId)
const isSessionId = Schema.is(SessionId)
const isContentType = Schema.is(ContentType)
const isSource = Schema.is(ConfidenceSource)

/** An RFC 3339 timestamp (any offset, any fraction digits) as a UTC instant; nothing else is a time. */
export const parseTime = (text: string | null | undefined): Option.Option<DateTime.Utc> => {
  const millis = text === null || text === undefined ? undefined : parseTimestamp(text)
  return millis === undefined ? Option.none() : Option.some(DateTime.unsafeMake(millis))
}

/** A citation's timestamp in this store's form; `null` (which no citation accepts) when it is not RFC 3339. */
const iso = (text: unknown): unknown => {
  if (typeof text !== "string") return text
  return Option.match(parseTime(text), { onNone: () => null, onSome: DateTime.formatIso })
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined)
const defined = <T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } => {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out as { [K in keyof T]?: Exclude<T[K], undefined> }
}

const decodeCitation = Schema.decodeUnknownEither(Citation)
const encodeCitation = Schema.encodeEither(Citation)

/** The original's snake_case citation (tagged by `type`) in this store's encoded form, when it is one. */
const convertCitation = (raw: Record<string, unknown>): Option.Option<typeof Citation.Encoded> => {
  const fields: Record<string, unknown> = (() => {
    switch (raw["type"]) {
      case "session":
        return { _tag: "session", sessionId: raw["session_id"], messageIndex: raw["message_index"], timestamp: iso(raw["timestamp"]) }
      case "file":
        return defined({
          _tag: "file",
          path: raw["path"],
          lineStart: num(raw["line_start"]),
          lineEnd: num(raw["line_end"]),
          commitHash: str(raw["commit_hash"]),
          contentHash: str(raw["content_hash"]),
          mtime: raw["mtime"] === undefined || raw["mtime"] === null ? undefined : iso(raw["mtime"])
        })
      case "web":
        return defined({
          _tag: "web",
          url: raw["url"],
          fetchedAt: iso(raw["fetched_at"]),
          title: str(raw["title"]),
          contentHash: str(raw["content_hash"]),
          etag: str(raw["etag"])
        })
      case "user":
        return { _tag: "user", sessionId: raw["session_id"], statedAt: iso(raw["stated_at"]) }
      case "system":
        return { _tag: "system", derivedAt: iso(raw["derived_at"]), method: raw["method"] }
      default:
        return {}
    }
  })()
  // Round-trip through the schema so only a valid citation (normalised timestamps) gets through.
  return Either.getRight(Either.flatMap(decodeCitation(fields), (c) => encodeCitation(c)))
}

const KNOWN_METADATA = new Set([
  "source_path",
  "source_url",
  "session_id",
  "line_range",
  "tool_name",
  "subject",
  "predicate",
  "tags"
])

/** The tags and line range of the original's metadata; a line range this store cannot hold goes to `extra`. */
const tagsAndRange = (m: Record<string, JsonValue>, extra: Record<string, JsonValue>) => {
  const tags = Array.isArray(m["tags"])
    ? Array.from(new Set(m["tags"].filter((t): t is string => typeof t === "string").map((t) => t.trim()).filter((t) => t !== "")))
    : []
  const raw = m["line_range"]
  const lineRange = Array.isArray(raw) && raw.length === 2 && raw.every((n) => Number.isInteger(n) && (n as number) >= 0)
    ? [raw[0] as number, raw[1] as number] as const
    : undefined
  if (raw !== undefined && lineRange === undefined) extra["line_range"] = raw
  return { tags, lineRange }
}

/** The row's citation in this store's form; one this store cannot represent is kept verbatim in `extra`. */
const citationOf = (text: string | null, extra: Record<string, JsonValue>): Option.Option<typeof Citation.Encoded> => {
  if (text === null) return Option.none()
  const parsed = decodeJsonObject(text)
  const citation = Either.isRight(parsed) ? convertCitation(parsed.right) : Option.none()
  if (Option.isNone(citation)) extra["citation"] = text
  return citation
}

/**
 * One row of the original `memories` table as a `NewMemory` keeping its id, age, confidence history, tags and
 * citation; or why it cannot be imported. Unknown metadata keys and values this store has no field for go to
 * `metadata.extra` (a non-UUID session id among them).
 *
 * @category conversions
 */
export const memoryFromRow = (row: MemoryRow): Either.Either<NewMemory, string> => {
  const id = row.id.toLowerCase()
  if (!isMemoryId(id)) return Either.left(`id ${JSON.stringify(row.id)} is not a UUID`)
  if (row.content_type === null || !isContentType(row.content_type)) {
    return Either.left(`unknown content type ${JSON.stringify(row.content_type)}`)
  }
  if (row.content === null || row.content.trim().length === 0) return Either.left("content is empty")
  if (row.content.includes("\u0000")) return Either.left("content contains a NUL character")
  const created = parseTime(row.created_at)
  if (Option.isNone(created)) return Either.left(`created_at ${JSON.stringify(row.created_at)} is not an RFC 3339 timestamp`)
  const meta = decodeJsonObject(row.metadata ?? "{}")
  if (Either.isLeft(meta)) return Either.left("metadata is not a JSON object")
  const m = meta.right

  const extra: Record<string, JsonValue> = {}
  for (const [k, v] of Object.entries(m)) if (!KNOWN_METADATA.has(k)) extra[k] = v

  const rawSession = row.session_id ?? str(m["session_id"])
  const sessionId = rawSession !== undefined && isSessionId(rawSession.toLowerCase()) ? rawSession.toLowerCase() : undefined
  if (rawSession !== undefined && sessionId === undefined) extra["session_id"] = rawSession

  const { lineRange, tags } = tagsAndRange(m, extra)
  const citation = citationOf(row.citation, extra)

  const supersededBy = row.superseded_by !== null && isMemoryId(row.superseded_by.toLowerCase())
    ? row.superseded_by.toLowerCase()
    : undefined
  if (row.superseded_by !== null && supersededBy === undefined) extra["superseded_by"] = row.superseded_by

  const accessed = Option.getOrElse(parseTime(row.accessed_at), () => created.value)
  const lastAccessed = Option.getOrElse(parseTime(row.last_accessed), () => accessed)
  const reinforcement = row.reinforcement_count !== null && Number.isInteger(row.reinforcement_count) && row.reinforcement_count >= 0
    ? row.reinforcement_count
    : 0
  const accessCount = row.access_count !== null && Number.isInteger(row.access_count) && row.access_count >= 0
    ? row.access_count
    : 0

  const metadata: MetadataInput = {
    tags,
    extra,
    ...defined({
      subject: str(m["subject"]),
      predicate: str(m["predicate"]),
      sourcePath: str(m["source_path"]),
      sourceUrl: str(m["source_url"]),
      toolName: str(m["tool_name"])
    }),
    ...(lineRange !== undefined ? { lineRange } : {})
  }
  return Either.right({
    id,
    contentType: row.content_type,
    content: row.content,
    metadata,
    // The original reads an unknown source as inferred; so does the import.
    source: row.confidence_source !== null && isSource(row.confidence_source) ? row.confidence_source : "inferred",
    createdAt: created.value,
    history: {
      reinforcementCount: reinforcement,
      superseded: (row.superseded ?? 0) !== 0,
      lastAccessed,
      accessedAt: accessed,
      accessCount,
      ...(supersededBy !== undefined ? { supersededBy } : {})
    },
    ...(sessionId !== undefined ? { sessionId } : {}),
    ...Option.match(citation, { onNone: () => ({}), onSome: (c) => ({ citation: c }) })
  })
}

// --- the phase -------------------------------------------------------------------------------------------------

const ColumnRow = Schema.Struct({ name: Schema.String })
const CountRow = Schema.Struct({ n: Schema.Number })

/** The memories of `memoryDb`, keyset-paged by id, `batchSize` per `storeMany`; progress counts rows. */
export const memoryPhase = (memoryDb: string, batchSize: number, run: Run): Stream.Stream<ImportEvent, WriteError, MemoryBackend> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const method = "Import.memories"
    const memories = yield* MemoryBackend
    const sql = yield* openOriginal(method, memoryDb)
    const columns = yield* SqlSchema.findAll({
      Request: Schema.Void,
      Result: ColumnRow,
      execute: () => sql`SELECT name FROM pragma_table_info('memories')`
    })(undefined).pipe(Effect.mapError(storageError(method)))
    const have = new Set(columns.map((c) => c.name))
    if (!have.has("id")) return yield* new InvalidInput({ method: METHOD, message: `${memoryDb} has no memories table` })
    const total = (yield* SqlSchema.single({
      Request: Schema.Void,
      Result: CountRow,
      execute: () => sql`SELECT COUNT(*) AS n FROM memories`
    })(undefined).pipe(Effect.mapError(storageError(method)))).n
    // The column list is generated from the source's schema (older versions lack some columns, read as NULL), so
    // the statement's shape is built here; every name comes from the fixed MEMORY_COLUMNS, never from input.
    const select = MEMORY_COLUMNS.map((c) => (have.has(c) ? c : `NULL AS ${c}`)).join(", ")
    const page = SqlSchema.findAll({
      Request: Schema.String,
      Result: MemoryRow,
      execute: (after) => sql.unsafe(`SELECT ${select} FROM memories WHERE id > ? ORDER BY id LIMIT ${batchSize}`, [after])
    })
    const step = (after: string, done: number) =>
      Effect.gen(function*() {
        const rows = yield* page(after).pipe(Effect.mapError(storageError(method)))
        const batch: Array<NewMemory> = []
        for (const row of rows) {
          const converted = memoryFromRow(row)
          if (Either.isLeft(converted)) {
            run.fail(run.memories, { entity: "memory", id: row.id, reason: converted.left })
            continue
          }
          const existing = yield* memories.get(MemoryId.make(converted.right.id!))
          if (Option.isSome(existing)) run.memories.skipped++
          else batch.push(converted.right)
        }
        yield* storeBatch(memories, run, batch)
        const next = done + rows.length
        const event: ImportEvent = { _tag: "Progress", phase: "memories", done: next, total }
        const last = rows[rows.length - 1]
        const more = rows.length === batchSize && next < total && last !== undefined
        return [event, more ? Option.some([last.id, next] as const) : Option.none()] as const
      })
    return Stream.paginateEffect(["", 0] as readonly [string, number], ([after, done]) => step(after, done))
  }))
