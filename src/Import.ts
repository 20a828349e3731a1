/**
 * Import of the original runtime's data directory (`memory.db`, `workstreams.db` and the
 * `workstreams/<id>/messages.jsonl` logs) into this store, re-embedding every memory with the current `Embedder`.
 * Re-running an import adds nothing twice: memories whose id exists are skipped, and only the messages past a
 * workstream's current count are appended.
 *
 * @since 0.1.0
 */
import { openSqlite } from "./internal/sqlite.js"
import { SqlSchema } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { DateTime, Effect, Either, Option, Schema, Stream } from "effect"
import type { ParseError } from "effect/ParseResult"
import { InvalidInput, StorageError } from "./Errors.js"
import { MemoryId, MessageId, SCRATCH_ID, SessionId, WorkstreamId } from "./Ids.js"
import { JsonObject } from "./Json.js"
import type { JsonValue } from "./Json.js"
import { Citation, ConfidenceSource, ContentType } from "./Memory.js"
import type { MetadataInput, NewMemory } from "./Memory.js"
import { MemoryBackend } from "./MemoryBackend.js"
import type { WriteError } from "./MemoryBackend.js"
import { MessageRole, WorkstreamState } from "./Workstream.js"
import type { NewMessage, NewWorkstream } from "./Workstream.js"
import { WorkstreamStore } from "./WorkstreamStore.js"

/** @category models */
export type ImportPhase = "memories" | "workstreams" | "messages"

/** @category models */
export interface ImportCounts {
  readonly imported: number
  readonly skipped: number
  readonly failed: number
}

/** One record that could not be imported, and why. @category models */
export interface ImportFailure {
  readonly entity: "memory" | "workstream" | "message"
  /** The record's id in the source, or `<workstream>:<line>` for a log line. */
  readonly id: string
  readonly reason: string
}

/** @category models */
export interface ImportReport {
  readonly memories: ImportCounts
  readonly workstreams: ImportCounts
  readonly messages: ImportCounts
  /** Every failure (the counts above include them). */
  readonly failures: ReadonlyArray<ImportFailure>
}

/** What `stream` emits: progress within a phase, then the report once. @category models */
export type ImportEvent =
  | { readonly _tag: "Progress"; readonly phase: ImportPhase; readonly done: number; readonly total: number }
  | { readonly _tag: "Done"; readonly report: ImportReport }

/** @category options */
export interface ImportOptions {
  /** Memories per `storeMany` call (one embed call and one transaction each); default 128. */
  readonly batchSize?: number
  /** Messages per `storeMessages` call; default 500. */
  readonly messageBatchSize?: number
}

/** Failures that stop an import: an unreadable source or a failing target store. @category errors */
export type ImportError = WriteError

const METHOD = "Import.run"

// ---------------------------------------------------------------------------------------------------------------
// Source rows

/** The columns of `memories` this import reads; older schema versions lack some, which then read as NULL. */
const MEMORY_COLUMNS = [
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

const MemoryRow = Schema.Struct({
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
type MemoryRow = typeof MemoryRow.Type

const WorkstreamRow = Schema.Struct({
  id: Schema.String,
  title: NullableString,
  summary: NullableString,
  is_scratch: NullableNumber,
  state: NullableString,
  default_model: NullableString
})
type WorkstreamRow = typeof WorkstreamRow.Type

const TagRow = Schema.Struct({ workstream_id: Schema.String, tag: Schema.String })
const ColumnRow = Schema.Struct({ name: Schema.String })
const CountRow = Schema.Struct({ n: Schema.Number })

/** One line of a `messages.jsonl` log, as the original writes it. */
const LogLine = Schema.parseJson(Schema.Struct({
  id: Schema.String,
  workstream_id: Schema.optional(NullableString),
  session_id: Schema.optional(NullableString),
  role: MessageRole,
  content: Schema.String,
  timestamp: Schema.String,
  metadata: Schema.optional(NullableString)
}))

const decodeJsonObject = Schema.decodeUnknownEither(Schema.parseJson(JsonObject))

// ---------------------------------------------------------------------------------------------------------------
// Conversions (pure)

const isMemoryId = Schema.is(MemoryId)
const isSessionId = Schema.is(SessionId)
const isMessageId = Schema.is(MessageId)
const isContentType = Schema.is(ContentType)
const isSource = Schema.is(ConfidenceSource)
const isState = Schema.is(WorkstreamState)
const isWorkstreamId = Schema.is(WorkstreamId)

/** An RFC 3339 timestamp (any offset, any fraction digits) as a UTC instant. */
const parseTime = (text: string | null | undefined): Option.Option<DateTime.Utc> =>
  text === null || text === undefined ? Option.none() : DateTime.make(text).pipe(Option.map(DateTime.toUtc))

const iso = (text: unknown): unknown => {
  if (typeof text !== "string") return text
  return Option.match(parseTime(text), { onNone: () => text, onSome: DateTime.formatIso })
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

  const tags = Array.isArray(m["tags"])
    ? Array.from(new Set(m["tags"].filter((t): t is string => typeof t === "string").map((t) => t.trim()).filter((t) => t !== "")))
    : []
  const lineRange = m["line_range"]
  const range = Array.isArray(lineRange) && lineRange.length === 2 &&
      lineRange.every((n) => Number.isInteger(n) && (n as number) >= 0)
    ? [lineRange[0] as number, lineRange[1] as number] as const
    : undefined
  if (lineRange !== undefined && range === undefined) extra["line_range"] = lineRange

  let citation: Option.Option<typeof Citation.Encoded> = Option.none()
  if (row.citation !== null) {
    const parsed = decodeJsonObject(row.citation)
    citation = Either.isRight(parsed) ? convertCitation(parsed.right) : Option.none()
    // A citation this store cannot represent is kept verbatim rather than failing the whole memory.
    if (Option.isNone(citation)) extra["citation"] = row.citation
  }

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
    ...(range !== undefined ? { lineRange: range } : {})
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

/**
 * One log line as a `NewMessage` keeping its id, timestamp and metadata (the original stores metadata as a JSON
 * string; it becomes an object). A non-UUID session id moves into the metadata.
 *
 * @category conversions
 */
/**
 * A stable UUID (version-5 layout) for a log line whose own id is missing or not a UUID: the same workstream and
 * line always give the same id, so importing the log again skips it.
 *
 * @category conversions
 */
export const derivedMessageId = (workstream: string, lineNumber: number): MessageId => {
  const h = createHash("sha256").update(`arawn-import:${workstream}:${lineNumber}`).digest("hex")
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  return MessageId.make(`${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`)
}

export const messageFromLine = (line: string): Either.Either<NewMessage, string> => {
  const decoded = Schema.decodeUnknownEither(LogLine)(line)
  if (Either.isLeft(decoded)) return Either.left("not a message record (malformed JSON or missing fields)")
  const l = decoded.right
  const timestamp = parseTime(l.timestamp)
  if (Option.isNone(timestamp)) return Either.left(`timestamp ${JSON.stringify(l.timestamp)} is not an RFC 3339 timestamp`)
  const metadata: Record<string, JsonValue> = {}
  if (l.metadata !== undefined && l.metadata !== null) {
    const parsed = decodeJsonObject(l.metadata)
    if (Either.isRight(parsed)) Object.assign(metadata, parsed.right)
    else metadata["metadata"] = l.metadata
  }
  const rawSession = l.session_id ?? undefined
  const sessionId = rawSession !== undefined && isSessionId(rawSession.toLowerCase()) ? rawSession.toLowerCase() : undefined
  if (rawSession !== undefined && sessionId === undefined) metadata["session_id"] = rawSession
  const id = l.id.toLowerCase()
  if (!isMessageId(id)) metadata["original_id"] = l.id
  return Either.right({
    role: l.role,
    content: l.content,
    timestamp: timestamp.value,
    ...(isMessageId(id) ? { id } : {}),
    ...(sessionId !== undefined ? { sessionId } : {}),
    ...(Object.keys(metadata).length > 0 ? { metadata } : {})
  })
}

/** The original's workstream row as a `NewWorkstream` (a blank title becomes "Untitled"). @category conversions */
export const workstreamFromRow = (row: WorkstreamRow, tags: ReadonlyArray<string>): NewWorkstream => ({
  id: row.id,
  title: row.title !== null && row.title.trim().length > 0 ? row.title.slice(0, 512) : "Untitled",
  state: row.state !== null && isState(row.state) ? row.state : "active",
  tags: Array.from(new Set(tags.map((t) => t.trim()).filter((t) => t !== ""))),
  ...(row.summary !== null ? { summary: row.summary } : {}),
  ...(row.default_model !== null ? { defaultModel: row.default_model } : {})
})

// ---------------------------------------------------------------------------------------------------------------
// The import

const storageError = (method: string) => (cause: SqlError | ParseError | unknown) => new StorageError({ method, cause })

const tryFs = <A>(method: string, f: () => A) => Effect.try({ try: f, catch: storageError(method) })

const openOriginal = (method: string, filename: string) => openSqlite(method, { filename, readonly: true, disableWAL: true })

/** Where the original keeps a workstream's log: `workstreams/<id>/`, or `workstreams/workstreams/<id>/` with its defaults. */
const logDirs = (dataDir: string) => [join(dataDir, "workstreams"), join(dataDir, "workstreams", "workstreams")]

const findLog = (dataDir: string, id: string): Option.Option<string> =>
  Option.fromNullable(logDirs(dataDir).map((d) => join(d, id, "messages.jsonl")).find((p) => existsSync(p)))

const logIds = (dataDir: string): Array<string> =>
  logDirs(dataDir).flatMap((d) =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(d, e.name, "messages.jsonl")))
        .map((e) => e.name)
      : []
  )

const countLines = (path: string): number => {
  const buf = readFileSync(path)
  let n = 0
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++
  return buf.length > 0 && buf[buf.length - 1] !== 10 ? n + 1 : n
}

class Tally {
  imported = 0
  skipped = 0
  failed = 0
  counts(): ImportCounts {
    return { imported: this.imported, skipped: this.skipped, failed: this.failed }
  }
}

/**
 * Imports the data directory `dataDir`, emitting progress per phase (memories, workstreams, messages) and, last,
 * the report. Requires `MemoryBackend` and `WorkstreamStore`. A directory with neither `memory.db` nor
 * `workstreams.db` nor any log is InvalidInput; records that cannot be converted are counted as failed with a
 * reason and the import goes on; a failing target store stops it.
 *
 * @category import
 */
export const stream = (
  dataDir: string,
  options: ImportOptions = {}
): Stream.Stream<ImportEvent, ImportError, MemoryBackend | WorkstreamStore> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const batchSize = Math.max(1, options.batchSize ?? 128)
    const messageBatch = Math.max(1, options.messageBatchSize ?? 500)
    const memories = yield* MemoryBackend
    const workstreams = yield* WorkstreamStore
    const memoryDb = join(dataDir, "memory.db")
    const workstreamDb = join(dataDir, "workstreams.db")
    const isDir = yield* tryFs(METHOD, () => existsSync(dataDir) && statSync(dataDir).isDirectory())
    if (!isDir) {
      return yield* new InvalidInput({ method: METHOD, message: `${dataDir} is not a directory` })
    }
    const hasMemories = existsSync(memoryDb)
    const hasWorkstreams = existsSync(workstreamDb)
    const orphanCandidates = yield* tryFs(METHOD, () => logIds(dataDir))
    if (!hasMemories && !hasWorkstreams && orphanCandidates.length === 0) {
      return yield* new InvalidInput({
        method: METHOD,
        message: `${dataDir} holds no memory.db, workstreams.db or workstreams/<id>/messages.jsonl: is it an arawn data directory?`
      })
    }

    const failures: Array<ImportFailure> = []
    const mem = new Tally()
    const ws = new Tally()
    const msg = new Tally()
    const fail = (tally: Tally, failure: ImportFailure) => {
      tally.failed++
      failures.push(failure)
    }

    // --- memories -------------------------------------------------------------------------------------------
    const memoryPhase: Stream.Stream<ImportEvent, ImportError> = !hasMemories ? Stream.empty : Stream.unwrapScoped(
      Effect.gen(function*() {
        const sql = yield* openOriginal("Import.memories", memoryDb)
        const columns = yield* SqlSchema.findAll({
          Request: Schema.Void,
          Result: ColumnRow,
          execute: () => sql`SELECT name FROM pragma_table_info('memories')`
        })(undefined).pipe(Effect.mapError(storageError("Import.memories")))
        const have = new Set(columns.map((c) => c.name))
        if (!have.has("id")) {
          return yield* new InvalidInput({ method: METHOD, message: `${memoryDb} has no memories table` })
        }
        // Column names come from the fixed list above, never from input.
        const select = MEMORY_COLUMNS.map((c) => (have.has(c) ? c : `NULL AS ${c}`)).join(", ")
        const total = (yield* SqlSchema.single({
          Request: Schema.Void,
          Result: CountRow,
          execute: () => sql`SELECT COUNT(*) AS n FROM memories`
        })(undefined).pipe(Effect.mapError(storageError("Import.memories")))).n
        const page = SqlSchema.findAll({
          Request: Schema.String,
          Result: MemoryRow,
          execute: (after) =>
            sql.unsafe(`SELECT ${select} FROM memories WHERE id > ? ORDER BY id LIMIT ${batchSize}`, [after])
        })

        const storeBatch = (batch: ReadonlyArray<NewMemory>): Effect.Effect<void, ImportError> =>
          batch.length === 0 ? Effect.void : memories.storeMany(batch).pipe(
            Effect.map((ids) => void (mem.imported += ids.length)),
            // One bad record must not sink its batch: retry one by one to name it.
            Effect.catchTag("InvalidInput", () =>
              Effect.forEach(batch, (m) =>
                memories.store(m).pipe(
                  Effect.map(() => void mem.imported++),
                  Effect.catchTag("InvalidInput", (e) =>
                    Effect.sync(() => fail(mem, { entity: "memory", id: m.id ?? "?", reason: e.message }))
                  )
                ), { discard: true }))
          )

        const step = (after: string, done: number) =>
          Effect.gen(function*() {
            const rows = yield* page(after).pipe(Effect.mapError(storageError("Import.memories")))
            const batch: Array<NewMemory> = []
            for (const row of rows) {
              const converted = memoryFromRow(row)
              if (Either.isLeft(converted)) {
                fail(mem, { entity: "memory", id: row.id, reason: converted.left })
                continue
              }
              const existing = yield* memories.get(MemoryId.make(converted.right.id!))
              if (Option.isSome(existing)) mem.skipped++
              else batch.push(converted.right)
            }
            yield* storeBatch(batch)
            const next = done + rows.length
            const event: ImportEvent = { _tag: "Progress", phase: "memories", done: next, total }
            const last = rows[rows.length - 1]
            return [event, rows.length < batchSize || next >= total || last === undefined ? Option.none() : Option.some([last.id, next] as const)] as const
          })

        return Stream.paginateEffect(["", 0] as readonly [string, number], ([after, done]) => step(after, done))
      })
    )

    // --- workstreams ----------------------------------------------------------------------------------------
    /** Workstreams whose logs the message phase reads (imported or already present). */
    const targets: Array<WorkstreamId> = []

    const importWorkstream = (input: NewWorkstream, sourceId: string) =>
      Effect.gen(function*() {
        const isScratch = sourceId === SCRATCH_ID
        if (!isWorkstreamId(sourceId)) {
          return fail(ws, { entity: "workstream", id: sourceId, reason: `id ${JSON.stringify(sourceId)} cannot be a directory name` })
        }
        const id = WorkstreamId.make(sourceId)
        const existing = yield* workstreams.get(id)
        targets.push(id)
        if (Option.isSome(existing)) return void ws.skipped++
        if (isScratch) yield* workstreams.ensureScratch()
        else {
          const created = yield* Effect.either(workstreams.create(input))
          if (Either.isLeft(created)) {
            targets.pop()
            return fail(ws, { entity: "workstream", id: sourceId, reason: created.left.message })
          }
        }
        ws.imported++
      })

    const workstreamPhase: Stream.Stream<ImportEvent, ImportError> = Stream.unwrapScoped(
      Effect.gen(function*() {
        const rows: Array<{ readonly input: NewWorkstream; readonly id: string }> = []
        if (hasWorkstreams) {
          const sql = yield* openOriginal("Import.workstreams", workstreamDb)
          const wsRows = yield* SqlSchema.findAll({
            Request: Schema.Void,
            Result: WorkstreamRow,
            execute: () =>
              sql`SELECT id, title, summary, is_scratch, state, default_model FROM workstreams ORDER BY created_at, id`
          })(undefined).pipe(Effect.mapError(storageError("Import.workstreams")))
          const tagRows = yield* SqlSchema.findAll({
            Request: Schema.Void,
            Result: TagRow,
            execute: () => sql`SELECT workstream_id, tag FROM workstream_tags ORDER BY tag`
          })(undefined).pipe(Effect.mapError(storageError("Import.workstreams")))
          for (const row of wsRows) {
            const tags = tagRows.filter((t) => t.workstream_id === row.id).map((t) => t.tag)
            const id = row.is_scratch === 1 ? SCRATCH_ID : row.id
            rows.push({ input: workstreamFromRow({ ...row, id }, tags), id })
          }
        }
        // A log whose workstream row is missing is still a conversation worth keeping.
        const known = new Set(rows.map((r) => r.id))
        for (const id of orphanCandidates) {
          if (known.has(id)) continue
          known.add(id)
          rows.push({ input: { id, title: `Imported workstream ${id}` }, id })
        }
        const total = rows.length
        return Stream.fromIterable(rows.entries()).pipe(
          Stream.mapEffect(([i, r]) =>
            Effect.as(importWorkstream(r.input, r.id), { _tag: "Progress", phase: "workstreams", done: i + 1, total } as const)
          )
        )
      })
    )

    // --- messages -------------------------------------------------------------------------------------------
    const importLog = (id: WorkstreamId, path: string) =>
      Effect.gen(function*() {
        const text = yield* tryFs("Import.messages", () => readFileSync(path, "utf8"))
        const lines = text.split("\n")
        const valid: Array<NewMessage> = []
        lines.forEach((line, i) => {
          if (line.trim() === "") return
          const m = messageFromLine(line)
          if (Either.isLeft(m)) fail(msg, { entity: "message", id: `${id}:${i + 1}`, reason: m.left })
          // A line without a usable id gets one derived from its place, so a re-run recognises it too.
          else valid.push(m.right.id !== undefined ? m.right : { ...m.right, id: derivedMessageId(id, i + 1) })
        })
        // Re-runs are decided by message id, not by count: the target may hold messages of its own (scratch
        // often does), and those must not hide the same number of the original's.
        const present = new Set<string>(
          (yield* workstreams.loadMessages(id).pipe(Effect.catchTag("NotFound", () => Effect.succeed([])))).map((m) => m.id)
        )
        const fresh = valid.filter((m) => !present.has(m.id!))
        msg.skipped += valid.length - fresh.length
        for (let i = 0; i < fresh.length; i += messageBatch) {
          const stored = yield* Effect.either(workstreams.storeMessages(id, fresh.slice(i, i + messageBatch)))
          if (Either.isRight(stored)) msg.imported += stored.right.length
          else if (stored.left._tag === "StorageError") return yield* stored.left
          else {
            // Later messages cannot be appended past a gap without breaking the re-run rule: stop this log here.
            const reason = `${fresh.length - i} messages not appended: ${stored.left.message}`
            fail(msg, { entity: "message", id: `${id}`, reason })
            msg.failed += fresh.length - i - 1
            break
          }
        }
        return lines.length
      })

    const messagePhase: Stream.Stream<ImportEvent, ImportError> = Stream.unwrap(
      Effect.gen(function*() {
        const logs = yield* tryFs("Import.messages", () =>
          targets.flatMap((id) =>
            Option.match(findLog(dataDir, id), { onNone: () => [], onSome: (path) => [{ id, path, lines: countLines(path) }] })
          ))
        const total = logs.reduce((n, l) => n + l.lines, 0)
        return Stream.fromIterable(logs).pipe(
          Stream.mapAccumEffect(0, (done, log) =>
            Effect.map(importLog(log.id, log.path), () => {
              const next = done + log.lines
              return [next, { _tag: "Progress", phase: "messages", done: next, total } as const]
            }))
        )
      })
    )

    const done = Stream.sync((): ImportEvent => ({
      _tag: "Done",
      report: { memories: mem.counts(), workstreams: ws.counts(), messages: msg.counts(), failures }
    }))

    return memoryPhase.pipe(Stream.concat(workstreamPhase), Stream.concat(messagePhase), Stream.concat(done))
  }))

/**
 * Runs the whole import and returns its report (see `stream` for progress).
 *
 * @category import
 */
export const run = (
  dataDir: string,
  options: ImportOptions = {}
): Effect.Effect<ImportReport, ImportError, MemoryBackend | WorkstreamStore> =>
  stream(dataDir, options).pipe(
    Stream.runLast,
    Effect.flatMap(Option.match({
      onSome: (e) => Effect.succeed(e._tag === "Done" ? e.report : emptyReport),
      onNone: () => Effect.succeed(emptyReport)
    }))
  )

const emptyReport: ImportReport = {
  memories: { imported: 0, skipped: 0, failed: 0 },
  workstreams: { imported: 0, skipped: 0, failed: 0 },
  messages: { imported: 0, skipped: 0, failed: 0 },
  failures: []
}
