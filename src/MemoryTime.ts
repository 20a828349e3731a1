/**
 * Two times on every memory: valid time (when its claim holds in the world: `validFrom`, `validTo`, given by the
 * caller or defaulting to the write) and record time (when the store learned it and when it stopped holding it:
 * `recordedAt`, `retractedAt`, from `Clock`). Reads given `asOf` return exactly what the store held at the recorded
 * instant about the valid instant.
 *
 * The storeFact rules over one key (namespace, subject, predicate), deterministic and without a model, where a
 * "live" fact is one not retracted and every interval is half-open `[from, to)`:
 *
 * | case                                                                  | what happens                                                      |
 * | --------------------------------------------------------------------- | ----------------------------------------------------------------- |
 * | the new fact gives no `validTo`                                        | it holds until the next live fact's start after its `validFrom`, else open |
 * | a live fact with the same content (trimmed) covers the new interval    | that fact is reinforced; nothing is inserted                       |
 * | a live fact overlaps and started earlier                               | its valid interval ends at the new fact's start (a supersession)  |
 * | a live fact overlaps and started at the same instant or later          | it is retracted (its record interval closes): a correction        |
 * | a live fact overlaps and ends after the new fact's explicit `validTo`  | it also keeps `[validTo, its end)` as a re-recorded fact          |
 * | a live fact is disjoint from the new interval                          | untouched: disjoint facts coexist                                  |
 * | after the write                                                        | the live fact starting last is current; every other is `superseded` |
 * | the writer's clock reads earlier than a live fact's record time         | the write is recorded at that time (and, without `validFrom`, starts there) |
 *
 * A back-dated fact (valid from before the current one's start) therefore fills the past up to the current fact's
 * start and never retires it. An interval ended once more (a later back-dated fact inside it) is retracted and
 * re-recorded with its new end, so every earlier record-time view stays exact. `retractFact` closes a fact's record
 * interval without a replacement.
 *
 * @since 0.3.0
 */
import { Schema } from "effect"
import type { DateTime } from "effect"

/** The instant of each axis a read looks at; an axis not given is now. @category models */
export const AsOf = Schema.Struct({
  /** Valid time: what held in the world at this instant. */
  valid: Schema.optional(Schema.DateTimeUtcFromSelf),
  /** Record time: as the store knew it at this instant. */
  recorded: Schema.optional(Schema.DateTimeUtcFromSelf)
})
/** @category models */
export type AsOf = typeof AsOf.Type

/** The two axes on a stored memory (absent `validFrom`/`recordedAt` mean its `createdAt`). @category models */
export const memoryTimeFields = {
  /** From when the memory's claim holds in the world. */
  validFrom: Schema.optional(Schema.DateTimeUtc),
  /** Until when it holds (exclusive); absent: open. */
  validTo: Schema.optional(Schema.DateTimeUtc),
  /** When the store learned it. */
  recordedAt: Schema.optional(Schema.DateTimeUtc),
  /** When the store stopped holding it (a correction or `retractFact`); absent: still held. */
  retractedAt: Schema.optional(Schema.DateTimeUtc),
  /** When a later fact set `validTo`; before that instant the store held `priorValidTo` (absent: open). */
  validToRecordedAt: Schema.optional(Schema.DateTimeUtc),
  priorValidTo: Schema.optional(Schema.DateTimeUtc)
}

/** The valid interval a write may give (`validTo` after `validFrom`). @category inputs */
export const validInputFields = {
  /** From when the claim holds (default: the write's `createdAt`, i.e. now). */
  validFrom: Schema.optional(Schema.DateTimeUtcFromSelf),
  /** Until when it holds, exclusive (default: open, or for a fact the next known change). */
  validTo: Schema.optional(Schema.DateTimeUtcFromSelf)
}

/** Record times an import brings along. @category inputs */
export const recordInputFields = {
  recordedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  retractedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  validToRecordedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  priorValidTo: Schema.optional(Schema.DateTimeUtcFromSelf)
}

/** What `facts` takes. @category inputs */
export const FactsOptions = Schema.Struct({
  predicate: Schema.optional(Schema.String),
  namespace: Schema.optional(Schema.String),
  /** `recorded`: as known then (default now); `valid`: only the facts holding then (default: the whole timeline). */
  asOf: Schema.optional(AsOf)
})
/** @category inputs */
export type FactsOptions = typeof FactsOptions.Encoded

/** What `get` takes. @category inputs */
export const GetOptions = Schema.Struct({ asOf: Schema.optional(AsOf) })
/** @category inputs */
export type GetOptions = typeof GetOptions.Encoded

/** The temporal shape of a memory as read (`Memory` satisfies it). @category models */
export interface Timed {
  readonly createdAt: DateTime.Utc
  readonly validFrom?: DateTime.Utc | undefined
  readonly validTo?: DateTime.Utc | undefined
  readonly recordedAt?: DateTime.Utc | undefined
  readonly retractedAt?: DateTime.Utc | undefined
  readonly validToRecordedAt?: DateTime.Utc | undefined
  readonly priorValidTo?: DateTime.Utc | undefined
}

/** One entry of a fact timeline: the memory and its valid interval as known at the recorded instant. @category models */
export interface FactEntry<M> {
  readonly memory: M
  readonly validFrom: DateTime.Utc
  /** Absent: open. */
  readonly validTo?: DateTime.Utc
  readonly recordedAt: DateTime.Utc
}
