/**
 * The one codec of a workstream log line, `messages.jsonl`, exactly as the original runtime writes it: one JSON
 * object per line with the fields `id, workstream_id, session_id, role, content, timestamp, metadata` in that order,
 * `session_id` null when absent, `metadata` a JSON *string* omitted when absent, and RFC 3339 UTC timestamps. The
 * local store and `Import` read lines through `parseLine` only, so they agree on what a message is:
 * - `id` must be a UUID (any case; read as lowercase), `role` one of the roles, `content` a string;
 * - `timestamp` must be RFC 3339 (`2026-03-06T03:03:16.601287Z`, any offset, 0-9 fraction digits), nothing else;
 * - a `session_id` that is not a UUID is not a session: the message has none, and the text is kept as
 *   `metadata.session_id` (unless the metadata has that key already);
 * - `metadata` that is not a JSON object (other JSON, or not JSON) is kept as `{ raw: <the text> }`.
 */
import { isUtf8 } from "node:buffer"
import { DateTime, Either, Schema } from "effect"
import { MessageId, SessionId } from "../Ids.js"
import type { WorkstreamId } from "../Ids.js"
import { Message, MessageRole } from "../Workstream.js"
import type { NewMessage } from "../Workstream.js"
import * as Json from "../Json.js"

/** The fields of one log line as stored, before interpretation. */
const LogLine = Schema.Struct({
  id: Schema.String,
  workstream_id: Schema.String,
  session_id: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  role: MessageRole,
  content: Schema.String,
  timestamp: Schema.String,
  metadata: Schema.optional(Schema.NullOr(Schema.String))
})

const decodeLine = Schema.decodeUnknownEither(LogLine)
const isRole = Schema.is(MessageRole)

/**
 * `LogLine`'s checks written out for a well-formed line, which is every line a store reads back: decoding through
 * the schema costs several times the line's `JSON.parse`, on every message a read returns. Anything they do not
 * accept goes through the schema, which decides and says why.
 */
const plainLine = (json: Record<string, unknown>): typeof LogLine.Type | undefined => {
  const { content, id, metadata, role, session_id, timestamp, workstream_id } = json
  if (typeof id !== "string" || typeof workstream_id !== "string" || typeof content !== "string" || typeof timestamp !== "string") {
    return undefined
  }
  if (session_id !== undefined && session_id !== null && typeof session_id !== "string") return undefined
  if (metadata !== undefined && metadata !== null && typeof metadata !== "string") return undefined
  if (!isRole(role)) return undefined
  return { id, workstream_id, session_id: session_id ?? null, role, content, timestamp, ...(metadata !== undefined ? { metadata } : {}) }
}
const isMessageId = Schema.is(MessageId)
const isSessionId = Schema.is(SessionId)

// The original writes chrono's RFC 3339 with 0, 3, 6 or 9 fractional digits; any 0-9 are accepted.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const daysIn = (year: number, month: number) =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS[month - 1]!

/** Epoch milliseconds of an RFC 3339 timestamp (sub-millisecond digits truncated), or undefined when it is not one. */
export const parseTimestamp = (text: string): number | undefined => {
  const m = TIMESTAMP.exec(text)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 60) {
    return undefined
  }
  const zone = m[8]!
  if (zone.length > 1 && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return undefined
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3))
  const offset = zone.length === 1
    ? 0
    : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000
  // A leap second (:60) reads as the last millisecond-aligned instant of its minute's 59th second.
  const at = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), millis) - offset
  return Number.isFinite(at) ? at : undefined
}

/** A valid line: what the index needs and everything a message is made of. */
export interface ParsedLine {
  /** The JSON object as read, every field kept in its order (unknown fields included). */
  readonly raw: Record<string, unknown>
  readonly id: MessageId
  readonly role: MessageRole
  readonly content: string
  readonly timestampMs: number
  readonly sessionId: SessionId | undefined
  readonly metadata: Json.JsonObject | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const metadataOf = (text: string | null | undefined): Json.JsonObject | undefined => {
  if (text === undefined || text === null) return undefined
  try {
    const parsed = Json.parse(text)
    return Json.isObject(parsed) ? parsed : { raw: text }
  } catch {
    return { raw: text }
  }
}

/** Parses one line (without its newline). `Left` carries the reason it is malformed. */
export const parseLine = (bytes: Buffer): Either.Either<ParsedLine, string> => {
  if (!isUtf8(bytes)) return Either.left("not valid UTF-8")
  let json: unknown
  try {
    json = JSON.parse(bytes.toString("utf8"))
  } catch (e) {
    return Either.left(`not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!isRecord(json)) return Either.left("not a JSON object")
  let line = plainLine(json)
  if (line === undefined) {
    const decoded = decodeLine(json)
    if (Either.isLeft(decoded)) return Either.left(`not a message: ${decoded.left.message.split("\n").join(" ")}`)
    line = decoded.right
  }
  const id = line.id.toLowerCase()
  if (!isMessageId(id)) return Either.left(`not a message: id ${JSON.stringify(line.id)} is not a UUID`)
  const timestampMs = parseTimestamp(line.timestamp)
  if (timestampMs === undefined) return Either.left(`bad timestamp ${JSON.stringify(line.timestamp)} (RFC 3339 required)`)
  const session = line.session_id?.toLowerCase() ?? null
  const sessionId = session !== null && isSessionId(session) ? session : undefined
  let metadata = metadataOf(line.metadata)
  if (line.session_id !== null && sessionId === undefined && metadata?.["session_id"] === undefined) {
    metadata = { ...metadata, session_id: line.session_id }
  }
  return Either.right({ raw: json, id, role: line.role, content: line.content, timestampMs, sessionId, metadata })
}

/** The message a parsed line holds, as a message of `wsId` (the directory wins over a stale `workstream_id`). */
export const toMessage = (parsed: ParsedLine, wsId: WorkstreamId, seq: number): Message =>
  // Every field was validated by LogLine and the rules above, so re-validating in the constructor is skipped.
  new Message(
    {
      id: parsed.id,
      workstreamId: wsId,
      seq,
      role: parsed.role,
      content: parsed.content,
      timestamp: DateTime.unsafeMake(parsed.timestampMs),
      ...(parsed.sessionId !== undefined ? { sessionId: parsed.sessionId } : {}),
      ...(parsed.metadata !== undefined ? { metadata: parsed.metadata } : {})
    },
    true
  )

/** The message a parsed line holds, as input that keeps its id, timestamp, session and metadata (for imports). */
export const toNewMessage = (parsed: ParsedLine): NewMessage => ({
  id: parsed.id,
  role: parsed.role,
  content: parsed.content,
  timestamp: DateTime.unsafeMake(parsed.timestampMs),
  ...(parsed.sessionId !== undefined ? { sessionId: parsed.sessionId } : {}),
  ...(parsed.metadata !== undefined ? { metadata: parsed.metadata } : {})
})

let lastMillis = Number.NaN
let lastText = ""

/** UTC with a trailing `Z`, e.g. `2026-03-06T03:03:16.601Z` (a batch shares one timestamp, so the last is memoised). */
export const formatTimestamp = (t: DateTime.Utc): string => {
  if (t.epochMillis !== lastMillis) {
    lastText = DateTime.formatIso(t)
    lastMillis = t.epochMillis
  }
  return lastText
}

/**
 * One line (with its trailing newline) in the original's field order. Ids, the workstream id, the role and the
 * timestamp are schema-checked to need no escaping, so only content and metadata go through `JSON.stringify`; the
 * result equals `JSON.stringify` of the whole object.
 */
export const encodeMessage = (m: Message): string =>
  `{"id":"${m.id}","workstream_id":"${m.workstreamId}","session_id":${
    m.sessionId === undefined ? "null" : `"${m.sessionId}"`
  },"role":"${m.role}","content":${JSON.stringify(m.content)},"timestamp":"${formatTimestamp(m.timestamp)}"${
    m.metadata === undefined ? "" : `,"metadata":${JSON.stringify(JSON.stringify(m.metadata))}`
  }}\n`

/**
 * The same line with `workstream_id` replaced and every other field (the exact timestamp text, fields this version
 * does not know) kept in place. Used when messages move to another workstream.
 */
export const rewriteWorkstreamId = (parsed: ParsedLine, wsId: WorkstreamId): string =>
  // Spreading keeps the key order, and assigning an existing key keeps its position.
  JSON.stringify({ ...parsed.raw, workstream_id: wsId }) + "\n"

/**
 * A line (its JSON object as read) as a copy under a new message id in another workstream, every other field kept
 * in place (forks).
 */
export const rewriteAsCopy = (raw: Record<string, unknown>, wsId: WorkstreamId, id: MessageId): string =>
  JSON.stringify({ ...raw, id, workstream_id: wsId }) + "\n"
