/**
 * The line format of a workstream's `messages.jsonl`, exactly as the original runtime writes it: one JSON object per
 * line with the fields `id, workstream_id, session_id, role, content, timestamp, metadata` in that order,
 * `session_id` null when absent, `metadata` a JSON *string* omitted when absent, and RFC 3339 UTC timestamps.
 */
import { isUtf8 } from "node:buffer"
import { DateTime, Either, Schema } from "effect"
import { MessageId, SessionId } from "../Ids.js"
import type { WorkstreamId } from "../Ids.js"
import { Message, MessageRole } from "../Workstream.js"
import * as Json from "../Json.js"

/** The fields of one log line as stored, before interpretation. */
export const LogLine = Schema.Struct({
  id: MessageId,
  workstream_id: Schema.String,
  session_id: Schema.optionalWith(Schema.NullOr(SessionId), { default: () => null }),
  role: MessageRole,
  content: Schema.String,
  timestamp: Schema.String,
  metadata: Schema.optional(Schema.NullOr(Schema.String))
})
export type LogLine = typeof LogLine.Type

const decodeLine = Schema.decodeUnknownEither(LogLine)

// The original writes chrono's RFC 3339 with 0, 3, 6 or 9 fractional digits; any 0-9 are accepted.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i

/** Epoch milliseconds of an RFC 3339 timestamp (sub-millisecond digits truncated), or undefined when invalid. */
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
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3))
  const zone = m[8]!
  const offset = zone.toUpperCase() === "Z"
    ? 0
    : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000
  const at = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), millis) - offset
  return Number.isFinite(at) ? at : undefined
}

/** What a valid line contributes to the index, plus the decoded fields for callers that want the message. */
export interface ParsedLine {
  /** The JSON object as read, every field kept in its order (unknown fields included). */
  readonly raw: Record<string, unknown>
  readonly line: LogLine
  readonly timestampMs: number
  readonly metadata: Json.JsonObject | undefined
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Parses one line (without its newline). `Left` carries the reason it is malformed. A `metadata` string that is not a
 * JSON object is kept under `{ raw }` rather than dropped, so nothing the original wrote is lost.
 */
export const parseLine = (bytes: Buffer): Either.Either<ParsedLine, string> => {
  if (!isUtf8(bytes)) return Either.left("not valid UTF-8")
  let json: unknown
  try {
    json = JSON.parse(bytes.toString("utf8"))
  } catch (e) {
    return Either.left(`not JSON: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (!isRecord(json)) return Either.left("not a JSON object")
  const decoded = decodeLine(json)
  if (Either.isLeft(decoded)) return Either.left(`not a message: ${decoded.left.message.split("\n").join(" ")}`)
  const line = decoded.right
  const timestampMs = parseTimestamp(line.timestamp)
  if (timestampMs === undefined) return Either.left(`bad timestamp ${JSON.stringify(line.timestamp)}`)
  let metadata: Json.JsonObject | undefined
  if (line.metadata !== undefined && line.metadata !== null) {
    try {
      const parsed = Json.parse(line.metadata)
      metadata = Json.isObject(parsed) ? parsed : { raw: line.metadata }
    } catch {
      metadata = { raw: line.metadata }
    }
  }
  return Either.right({ raw: json, line, timestampMs, metadata })
}

/** The message a parsed line holds, as a message of `wsId` (the directory wins over a stale `workstream_id`). */
export const toMessage = (parsed: ParsedLine, wsId: WorkstreamId, seq: number): Message =>
  // Every field was validated by LogLine and the timestamp parser, so re-validating in the constructor is skipped.
  new Message(
    {
      id: parsed.line.id,
      workstreamId: wsId,
      seq,
      role: parsed.line.role,
      content: parsed.line.content,
      timestamp: DateTime.unsafeMake(parsed.timestampMs),
      ...(parsed.line.session_id !== null ? { sessionId: parsed.line.session_id } : {}),
      ...(parsed.metadata !== undefined ? { metadata: parsed.metadata } : {})
    },
    true
  )

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
 * One line (with its trailing newline) in the original's field order. Throws when metadata cannot be JSON-encoded
 * (a BigInt, a cycle). Ids, the workstream id, the role and the timestamp are schema-checked to need no escaping, so
 * only content and metadata go through `JSON.stringify`; the result equals `JSON.stringify` of the whole object.
 */
export const encodeMessage = (m: Message): string =>
  `{"id":"${m.id}","workstream_id":"${m.workstreamId}","session_id":${
    m.sessionId === undefined ? "null" : `"${m.sessionId}"`
  },"role":"${m.role}","content":${JSON.stringify(m.content)},"timestamp":"${formatTimestamp(m.timestamp)}"${
    m.metadata === undefined ? "" : `,"metadata":${JSON.stringify(JSON.stringify(m.metadata))}`
  }}\n`

/**
 * The same line with `workstream_id` replaced and every other field (the exact timestamp text, fields this version
 * does not know) kept in place.
 * Used when messages move to another workstream.
 */
export const rewriteWorkstreamId = (parsed: ParsedLine, wsId: WorkstreamId): string =>
  // Spreading keeps the key order, and assigning an existing key keeps its position.
  JSON.stringify({ ...parsed.raw, workstream_id: wsId }) + "\n"
