/**
 * The live agent session that `SessionStore` caches: its turns, tool calls and results.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { SessionId, TurnId, WorkstreamId } from "./Ids.js"

/** @category models */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  arguments: Schema.Unknown
})

/** @category models */
export const ToolResult = Schema.Struct({
  toolCallId: Schema.String,
  success: Schema.Boolean,
  content: Schema.String
})

/** @category models */
export class Turn extends Schema.Class<Turn>("Turn")({
  id: TurnId,
  userMessage: Schema.String,
  assistantResponse: Schema.optional(Schema.String),
  toolCalls: Schema.Array(ToolCall),
  toolResults: Schema.Array(ToolResult),
  startedAt: Schema.DateTimeUtc,
  completedAt: Schema.optional(Schema.DateTimeUtc)
}) {}

/** @category models */
export class Session extends Schema.Class<Session>("Session")({
  id: SessionId,
  /**
   * How many times a store has written this session: 1 after the first put, one more on each put since (0 on a
   * session never stored, the constructor's default). The store sets it on every put, whatever the session given
   * carries; a compare-and-set put names the version it read. It restarts at 1 once the session was removed or
   * expired. Stored text keeps it second, right after `id` (Redis scripts read it there).
   */
  version: Schema.NonNegativeInt.pipe(Schema.propertySignature, Schema.withConstructorDefault(() => 0)),
  workstreamId: WorkstreamId,
  turns: Schema.Array(Turn),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  contextPreamble: Schema.optional(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

/** The JSON text form of a session, as stored by string backends (Redis). @category codecs */
export const SessionJson = Schema.parseJson(Session)
