/**
 * Where a memory came from: a session message, a file, a web page, the user or the system, for provenance and
 * staleness checks. Re-exported by `Memory`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** @category models */
export const SessionCitation = Schema.TaggedStruct("session", {
  sessionId: Schema.String,
  messageIndex: Schema.NonNegativeInt,
  timestamp: Schema.DateTimeUtc
})
/** @category models */
export const FileCitation = Schema.TaggedStruct("file", {
  path: Schema.String,
  lineStart: Schema.optional(Schema.Int),
  lineEnd: Schema.optional(Schema.Int),
  commitHash: Schema.optional(Schema.String),
  contentHash: Schema.optional(Schema.String),
  mtime: Schema.optional(Schema.DateTimeUtc)
})
/** @category models */
export const WebCitation = Schema.TaggedStruct("web", {
  url: Schema.String,
  fetchedAt: Schema.DateTimeUtc,
  title: Schema.optional(Schema.String),
  contentHash: Schema.optional(Schema.String),
  etag: Schema.optional(Schema.String)
})
/** @category models */
export const UserCitation = Schema.TaggedStruct("user", {
  sessionId: Schema.String,
  statedAt: Schema.DateTimeUtc
})
/** @category models */
export const SystemCitation = Schema.TaggedStruct("system", {
  derivedAt: Schema.DateTimeUtc,
  method: Schema.String
})
/** Where a memory came from, for staleness checks and provenance. @category models */
export const Citation = Schema.Union(SessionCitation, FileCitation, WebCitation, UserCitation, SystemCitation)
/** @category models */
export type Citation = typeof Citation.Type
