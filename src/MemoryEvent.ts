/**
 * A memory's change history: what happened to it, in order, each with the `Clock` time of the write that did it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { MemoryId } from "./Ids.js"
import { JsonValue } from "./Json.js"

/** The memory was stored (`imported` when it came from another store with its own history). @category models */
export const Stored = Schema.TaggedStruct("stored", {
  at: Schema.DateTimeUtc,
  imported: Schema.optional(Schema.Boolean),
  /** The valid interval it was stored with (`validTo` absent: open). */
  validFrom: Schema.optional(Schema.DateTimeUtc),
  validTo: Schema.optional(Schema.DateTimeUtc),
  /** A fact re-recorded with a shorter interval: the retracted fact it continues. */
  revises: Schema.optional(MemoryId)
})

/** One field an update changed, with its JSON form before and after (absent when the field was unset). @category models */
export const FieldChange = Schema.Struct({
  field: Schema.String,
  before: Schema.optional(JsonValue),
  after: Schema.optional(JsonValue)
})
/** @category models */
export type FieldChange = typeof FieldChange.Type

/** `update` changed these fields. @category models */
export const Updated = Schema.TaggedStruct("updated", {
  at: Schema.DateTimeUtc,
  changes: Schema.Array(FieldChange)
})

/** `storeFact` stated the same fact again; `reinforcementCount` is the count after it. @category models */
export const Reinforced = Schema.TaggedStruct("reinforced", {
  at: Schema.DateTimeUtc,
  reinforcementCount: Schema.NonNegativeInt
})

/** `storeFact` replaced this fact with memory `by`. @category models */
export const Superseded = Schema.TaggedStruct("superseded", {
  at: Schema.DateTimeUtc,
  by: MemoryId,
  /** Its valid interval ended here (it still held before). */
  validTo: Schema.optional(Schema.DateTimeUtc),
  /** Its record interval closed: the store no longer holds it at all (a correction). */
  retracted: Schema.optional(Schema.Boolean)
})

/** `retractFact` closed this memory's record interval without a replacement. @category models */
export const Retracted = Schema.TaggedStruct("retracted", {
  at: Schema.DateTimeUtc
})

/** One entry of `history(id)`. @category models */
export const MemoryEvent = Schema.Union(Stored, Updated, Reinforced, Superseded, Retracted)
/** @category models */
export type MemoryEvent = typeof MemoryEvent.Type

/** The JSON text form stored by SQL backends. @category codecs */
export const MemoryEventJson = Schema.parseJson(MemoryEvent)
