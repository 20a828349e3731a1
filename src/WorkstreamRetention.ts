/**
 * Retention of workstream messages: the policy a workstream or a tag carries, and what `prune` reports.
 *
 * A policy keeps the last `maxMessages` messages of a workstream and those younger than `maxAge`; `prune` removes
 * the rest, only ever a prefix of a workstream's own log, and only what a summary covers on every path that reads
 * it. A workstream's own policy overrides its tags' policies; among several tags, each limit is the strictest (the
 * smallest) any of them sets.
 *
 * @since 0.1.0
 */
import { Duration, Option, ParseResult, Schema } from "effect"
import { WorkstreamId } from "./Ids.js"

/** A duration as text (`"30 days"`, `"12 hours"`, as `Duration.decode` reads it) in whole milliseconds. */
const DurationText = Schema.transformOrFail(Schema.String, Schema.NonNegativeInt, {
  strict: true,
  decode: (text, _, ast) =>
    Option.match(Duration.decodeUnknown(text), {
      onNone: () => ParseResult.fail(new ParseResult.Type(ast, text, `${JSON.stringify(text)} is not a duration such as "30 days"`)),
      onSome: (d) =>
        Duration.isFinite(d)
          ? ParseResult.succeed(Math.round(Duration.toMillis(d)))
          : ParseResult.fail(new ParseResult.Type(ast, text, "maxAge must be finite"))
    }),
  encode: (ms) => ParseResult.succeed(`${ms} millis`)
})

/** Milliseconds, or a duration as text; decoded to milliseconds. @category models */
export const MaxAge = Schema.Union(Schema.NonNegativeInt, DurationText)

/**
 * What a workstream keeps: its last `maxMessages` messages and every message younger than `maxAge` (milliseconds,
 * or text such as `"30 days"`). A message either limit keeps stays; an absent limit keeps everything.
 *
 * @category models
 */
export const RetentionPolicy = Schema.Struct({
  maxAge: Schema.optional(MaxAge),
  maxMessages: Schema.optional(Schema.NonNegativeInt)
})
/** @category models */
export type RetentionPolicy = typeof RetentionPolicy.Type

/** A policy's target: one workstream, or every workstream carrying a tag (e.g. `namespace:<ns>`). @category inputs */
export const RetentionTarget = Schema.Union(
  Schema.Struct({ workstreamId: WorkstreamId }),
  Schema.Struct({ tag: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)) })
)
/** @category inputs */
export type RetentionTarget = typeof RetentionTarget.Type

/** How many messages one `prune` call removes at most, when no `budget` is given. @category models */
export const DEFAULT_PRUNE_BUDGET = 100_000

/** @category inputs */
export const PruneOptions = Schema.Struct({
  /** Only this workstream (its policy, or its tags'); every workstream a policy applies to otherwise. */
  workstreamId: Schema.optional(WorkstreamId),
  /** At most this many messages removed by this call (default `DEFAULT_PRUNE_BUDGET`). */
  budget: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => DEFAULT_PRUNE_BUDGET })
})
/** @category inputs */
export type PruneOptions = typeof PruneOptions.Encoded

/** One workstream `prune` removed messages from. @category models */
export interface Pruned {
  readonly workstreamId: WorkstreamId
  /** Its messages up to this seq are gone now (`Workstream.prunedThrough`). */
  readonly through: number
  /** How many messages this call removed. */
  readonly removed: number
  /** Bytes of log or rows this call freed, as far as the backend can tell (0 when it cannot). */
  readonly bytes: number
}

/** A workstream whose policy wants more removed than `prune` may remove, and why. @category models */
export interface Refused {
  readonly workstreamId: WorkstreamId
  readonly reason: string
}

/** What one `prune` call did. @category models */
export interface PruneReport {
  readonly pruned: ReadonlyArray<Pruned>
  readonly refused: ReadonlyArray<Refused>
  /** Messages removed in all. */
  readonly removed: number
  /** false: the budget ran out before every policy was met; call again (a call is idempotent and resumes). */
  readonly done: boolean
}
