import { Either, ParseResult, Schema } from "effect"
import { InvalidInput, StorageError } from "../../Errors.js"
import { SessionId } from "../../Ids.js"
import { Session, Turn } from "../../Session.js"
import { decodeEither, depthProblem, formatIssues } from "../decode.js"
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

/**
 * What `put` hands a driver: `session` checked against its key and the Session schema, as a private copy that
 * shares nothing mutable with the caller. Typed fields are copied as they are (strings and `DateTime`s are
 * immutable); free-form fields (metadata, tool-call arguments) are replaced by their JSON form, so every backend
 * keeps exactly what the JSON codec would, and a value nested past `MAX_DEPTH` (or cyclic, or holding a BigInt) is
 * InvalidInput. Instances are built from their prototypes: the Schema class constructors would validate again, at
 * several times the cost of the copy.
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
    return Either.right(Object.assign(Object.create(Session.prototype), s, {
      turns: s.turns.map((turn, t) =>
        Object.assign(Object.create(Turn.prototype), turn, {
          toolCalls: turn.toolCalls.map((call, c) => ({
            ...call,
            arguments: jsonForm(call.arguments, ["turns", String(t), "toolCalls", String(c), "arguments"])
          })),
          toolResults: turn.toolResults.map((result) => ({ ...result }))
        })
      ),
      metadata: jsonForm(s.metadata, ["metadata"])
    }))
  } catch (e) {
    // Only the caller's value can throw here (a getter or toJSON that throws, an instance mutated out of shape).
    return invalid(method, e instanceof NotJson ? e.message : `session could not be copied: ${e instanceof Error ? e.message : String(e)}`)
  }
}

const copyTurn = (turn: Turn): Turn =>
  Object.assign(Object.create(Turn.prototype), turn, {
    toolCalls: turn.toolCalls.map((call) => ({ ...call, arguments: copyJson(call.arguments) })),
    toolResults: turn.toolResults.map((result) => ({ ...result }))
  })

/**
 * A detached copy of a session a driver holds (one `prepare` made): every array and object is new, strings and
 * `DateTime`s are shared. An order of magnitude cheaper than decoding JSON again. It follows the shape of
 * `Session` and `Turn`; a test pins their field lists so a new field gets a look here and in `prepare`.
 */
export const snapshot = (session: Session): Session =>
  Object.assign(Object.create(Session.prototype), session, {
    turns: session.turns.map(copyTurn),
    metadata: copyJson(session.metadata)
  })

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
  const meta = tooDeep(s.metadata, 0, ["metadata"])
  if (meta !== undefined) return meta
  for (const [t, turn] of s.turns.entries()) {
    for (const [c, call] of turn.toolCalls.entries()) {
      const found = tooDeep(call.arguments, 0, ["turns", String(t), "toolCalls", String(c), "arguments"])
      if (found !== undefined) return found
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
