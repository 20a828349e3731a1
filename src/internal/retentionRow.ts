/**
 * One retention policy as both SQL stores keep it (`<prefix>_workstream_retention`: kind, target and the two
 * limits), and its mapping to and from the service's `RetentionTarget` / `RetentionPolicy`.
 */
import { Schema } from "effect"
import { WorkstreamId } from "../Ids.js"
import type { RetentionPolicy, RetentionTarget } from "../WorkstreamRetention.js"
import type { RetentionEntry } from "./workstreamDriver.js"

/** A row of `<prefix>_workstream_retention`. */
export const RetentionRow = Schema.Struct({
  kind: Schema.Literal("workstream", "tag"),
  target: Schema.String,
  max_age_ms: Schema.NullOr(Schema.NonNegativeInt),
  max_messages: Schema.NullOr(Schema.NonNegativeInt)
})

/** The row key of a target. */
export const keyOf = (target: RetentionTarget) =>
  "workstreamId" in target ? { kind: "workstream", target: target.workstreamId } : { kind: "tag", target: target.tag }

export const policyOf = (row: typeof RetentionRow.Type): RetentionPolicy => ({
  ...(row.max_age_ms !== null ? { maxAge: row.max_age_ms } : {}),
  ...(row.max_messages !== null ? { maxMessages: row.max_messages } : {})
})

export const entryOf = (row: typeof RetentionRow.Type): RetentionEntry => ({
  target: row.kind === "workstream" ? { workstreamId: WorkstreamId.make(row.target) } : { tag: row.target },
  policy: policyOf(row)
})
