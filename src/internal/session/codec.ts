import { Either, ParseResult, Schema } from "effect"
import { InvalidInput, StorageError } from "../../Errors.js"
import { SessionId } from "../../Ids.js"
import { Session, Turn } from "../../Session.js"
import { decodeEither, depthProblem, formatIssues } from "../decode.js"
import type { VersionedText } from "./driver.js"
import { copyJson, jsonForm, NotJson, tooDeep } from "./json.js"

const isSessionId = Schema.is(SessionId)
const decodeSessionId = decodeEither(SessionId)

/** Validates an id; a valid one (the common case) is checked without running the decoder. */
export const decodeId = (method: string) => (id: unknown): Either.Either<SessionId, InvalidInput> =>
  isSessionId(id)
    ? Either.right(id)
    : Either.mapLeft(decodeSessionId(id), (message) => new InvalidInput({ method, message }))

// Session and Turn instances were validated field by field when they were constructed; checking the class of the
// value (what validating a Schema.Class does) is what is left to do for a put.
const validSession = Schema.validateEither(Session)

const invalid = (method: string, message: string) => Either.left(new InvalidInput({ method, message }))

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** Metadata whose JSON form is not an object (its own `toJSON` made it something else) cannot be stored. */
const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const record = (value: unknown): { readonly [key: string]: unknown } => {
  if (!isRecord(value)) {
    const e = new NotJson("must be an object of JSON values (its toJSON must not turn it into anything else)")
    e.path.push("metadata")
    throw e
  }
  return value
}

/** How a copy treats a free-form field: `turn` and `call` say where it is (-1 for the session's metadata). */
type FreeForm = (value: unknown, turn: number, call: number) => unknown

/**
 * A copy of `session` in which every array and object is new and strings and `DateTime`s (immutable) are shared,
 * free-form fields going through `freeForm`. Instances are made from their prototypes with their fields set one by
 * one, in schema order: the Schema class constructors would validate again, and `Object.assign` onto
 * `Object.create` is several times slower. It follows the fields of Session, Turn, ToolCall and ToolResult; a test
 * pins their lists so a new field gets a look here.
 */
const copySession = (session: Session, freeForm: FreeForm): Session => {
  const out: Mutable<Session> = Object.create(Session.prototype)
  out.id = session.id
  out.version = session.version
  out.workstreamId = session.workstreamId
  out.turns = session.turns.map((turn, t) => {
    const copy: Mutable<Turn> = Object.create(Turn.prototype)
    copy.id = turn.id
    copy.userMessage = turn.userMessage
    if (turn.assistantResponse !== undefined) copy.assistantResponse = turn.assistantResponse
    copy.toolCalls = turn.toolCalls.map((call, c) => ({ id: call.id, name: call.name, arguments: freeForm(call.arguments, t, c) }))
    copy.toolResults = turn.toolResults.map((r) => ({ toolCallId: r.toolCallId, success: r.success, content: r.content }))
    copy.startedAt = turn.startedAt
    if (turn.completedAt !== undefined) copy.completedAt = turn.completedAt
    return copy
  })
  out.metadata = record(freeForm(session.metadata, -1, -1))
  if (session.contextPreamble !== undefined) out.contextPreamble = session.contextPreamble
  out.createdAt = session.createdAt
  out.updatedAt = session.updatedAt
  return out
}

const fieldPath = (turn: number, call: number): ReadonlyArray<string> =>
  turn < 0 ? ["metadata"] : ["turns", String(turn), "toolCalls", String(call), "arguments"]

const toJsonForm: FreeForm = (value, turn, call) => {
  try {
    return jsonForm(value)
  } catch (e) {
    if (e instanceof NotJson) e.path.unshift(...fieldPath(turn, call))
    throw e
  }
}

/**
 * What `put` hands a driver: `session` checked against its key and the Session schema, as a private copy that
 * shares nothing mutable with the caller, its free-form fields (metadata, tool-call arguments) replaced by their
 * JSON form, so every backend keeps exactly what the JSON codec would; a value nested past `MAX_DEPTH` (or
 * cyclic, or holding a BigInt) is InvalidInput.
 */
export const prepare = (method: string, id: SessionId, session: Session): Either.Either<Session, InvalidInput> => {
  const valid = validSession(session)
  if (Either.isLeft(valid)) {
    // A schema's message prints the value it rejected, which must not be walked when it is cyclic or too deep.
    return invalid(method, `session does not fit the Session schema: ${depthProblem(session) ?? formatIssues(valid.left)}`)
  }
  const s = valid.right
  if (s.id !== id) return invalid(method, `session id ${s.id} does not match the key ${id}`)
  try {
    return Either.right(copySession(s, toJsonForm))
  } catch (e) {
    // Only the caller's value can throw here (a getter or toJSON that throws, an instance mutated out of shape).
    return invalid(method, e instanceof NotJson ? e.message : `session could not be copied: ${e instanceof Error ? e.message : String(e)}`)
  }
}

/** A detached copy of a session a driver holds (one `prepare` made): an order of magnitude cheaper than decoding. */
export const snapshot = (session: Session): Session => copySession(session, copyJson)

const encodeJson = Schema.encodeEither(Schema.parseJson(Session))
const decodeUnknown = Schema.decodeUnknownEither(Session)

/** The JSON text of a prepared session, as string backends store it. */
export const encode = (method: string, session: Session): Either.Either<string, InvalidInput> =>
  Either.mapLeft(encodeJson(session), (e) => new InvalidInput({ method, message: `session does not fit the Session schema: ${e.message}` }))

const corrupt = (method: string, where: string, why: string) =>
  Either.left(new StorageError({ method, cause: new Error(`stored value at ${where} is not a valid Session: ${why}`) }))

const parse = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (e) {
    return Either.left(e instanceof Error ? e.message : String(e))
  }
}

const freeFormTooDeep = (s: Session): ReadonlyArray<string> | undefined => {
  const meta = tooDeep(s.metadata, 0, [])
  if (meta !== undefined) return [...fieldPath(-1, -1), ...meta]
  for (const [t, turn] of s.turns.entries()) {
    for (const [c, call] of turn.toolCalls.entries()) {
      const found = tooDeep(call.arguments, 0, [])
      if (found !== undefined) return [...fieldPath(t, c), ...found]
    }
  }
  return undefined
}

/**
 * Decodes a stored text for the session `id`, found at `where` (a key, for the message). Text that does not decode
 * as a Session `put` could have written (within the depth limit, under its own id) is a StorageError naming where
 * it is: the backend holds something this store did not write, and a caller's retry cannot fix it.
 */
export const decodeStored = (
  method: string,
  id: SessionId,
  where: string,
  text: string
): Either.Either<Session, StorageError> => {
  const json = parse(text)
  if (Either.isLeft(json)) return corrupt(method, where, json.left)
  const decoded = decodeUnknown(json.right)
  if (Either.isLeft(decoded)) {
    const deep = depthProblem(json.right)
    return corrupt(method, where, deep ?? ParseResult.TreeFormatter.formatErrorSync(decoded.left))
  }
  const s = decoded.right
  if (s.id !== id) return corrupt(method, where, `it holds session ${s.id}`)
  const deep = freeFormTooDeep(s)
  if (deep !== undefined) return corrupt(method, where, `${deep.slice(0, 4).join(".")}: nested deeper than the limit`)
  return Either.right(s)
}

/**
 * Sets the version of a private copy (one `prepare` or a decode made, never a caller's value): the store decides
 * the version inside the atomic step that writes the entry.
 */
export const stamp = (session: Session, version: number): Session => {
  const out: Mutable<Session> = session
  out.version = version
  return session
}


/**
 * The JSON text of a prepared session split around its version, so a backend can write the version it decides
 * atomically (a Redis script concatenates). The Session schema encodes `id` first and `version` second, and ids
 * are UUIDs (nothing to escape), so the head is known in advance; a test pins the layout.
 */
export const encodeVersioned = (method: string, session: Session): Either.Either<VersionedText, InvalidInput> =>
  Either.flatMap(encode(method, stamp(session, 0)), (text) => {
    const head = `{"id":"${session.id}","version":`
    return text.startsWith(`${head}0,`)
      ? Either.right({ head, tail: text.slice(head.length + 1) })
      : invalid(method, "session did not encode with id and version first")
  })

/** The version a stored text carries where `encodeVersioned` put it, or undefined when it has none there. */
export const versionOf = (text: string): number | undefined => {
  const m = /^\{"id":"[^"]*","version":(\d+),/.exec(text)
  return m === null ? undefined : Number(m[1])
}
