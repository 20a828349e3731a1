/**
 * Compaction overlays: a summary stored over a range of a workstream's path, which `loadContext` shows in place of
 * the messages it covers while `loadMessages` keeps returning the originals. Nothing is deleted by summarising.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { SummaryId, WorkstreamId } from "./Ids.js"
import { ContentWithin, hasContent, isStorableText, JsonObject } from "./Json.js"
import { MAX_MESSAGE_CONTENT, Message } from "./Workstream.js"

const Seq = Schema.Int.pipe(Schema.positive())

/**
 * A summary over seqs `fromSeq..toSeq` (inclusive) of the path of `workstreamId`, the workstream it was made on.
 * Branches of that workstream cut at or after `toSeq` see it too (by position, whenever it was made).
 *
 * @category models
 */
export class Summary extends Schema.Class<Summary>("Summary")({
  id: SummaryId,
  workstreamId: WorkstreamId,
  fromSeq: Seq,
  toSeq: Seq,
  content: Schema.String,
  metadata: Schema.optional(JsonObject),
  createdAt: Schema.DateTimeUtc
}) {}

/** Summary text: not blank, at most `MAX_MESSAGE_CONTENT` characters, stored exactly by every backend. @category inputs */
export const SummaryContent = ContentWithin(MAX_MESSAGE_CONTENT).pipe(
  Schema.filter((s) => hasContent(s) || "summary content must not be empty or blank"),
  Schema.filter((s) => isStorableText(s) || "summary content must be well-formed Unicode without NUL characters")
)

/**
 * What `summarize` stores: the range (1 ≤ fromSeq ≤ toSeq), the text and optional metadata. `id` is minted unless
 * given (a retry passes the same one); `createdAt` is the Clock's unless given (a copy of a store keeps its own).
 *
 * @category inputs
 */
export const NewSummary = Schema.Struct({
  id: Schema.optional(SummaryId),
  fromSeq: Seq,
  toSeq: Seq,
  content: SummaryContent,
  metadata: Schema.optional(JsonObject),
  createdAt: Schema.optional(Schema.DateTimeUtcFromSelf)
}).pipe(Schema.filter((s) => s.fromSeq <= s.toSeq || { path: ["toSeq"], message: `toSeq ${s.toSeq} is before fromSeq ${s.fromSeq}` }))
/** @category inputs */
export type NewSummary = typeof NewSummary.Encoded

/** @category inputs */
export const ContextOptions = Schema.Struct({
  /** Only the last `limit` items (still oldest first); all of them without it. */
  limit: Schema.optional(Schema.Int.pipe(Schema.positive()))
})
/** @category inputs */
export type ContextOptions = typeof ContextOptions.Encoded

/** A message of the path that no summary covers. @category models */
export const ContextMessage = Schema.TaggedStruct("Message", { message: Message })
/** A summary standing for the messages `fromSeq..toSeq` of the path. @category models */
export const ContextSummary = Schema.TaggedStruct("Summary", { summary: Summary })

/**
 * One item of `loadContext`: `{ _tag: "Message", message }` or `{ _tag: "Summary", summary }`; encoded as such
 * objects with the tag in `_tag`.
 *
 * @category models
 */
export const ContextItem = Schema.Union(ContextMessage, ContextSummary)
/** @category models */
export type ContextItem = typeof ContextItem.Type
