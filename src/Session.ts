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
  workstreamId: WorkstreamId,
  turns: Schema.Array(Turn),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  contextPreamble: Schema.optional(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
}) {}

/** The JSON text form of a session, as stored by string backends (Redis). @category codecs */
export const SessionJson = Schema.parseJson(Session)
