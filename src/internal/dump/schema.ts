/** The lines of a dump (see `Dump`). */
import { Schema } from "effect"
import { Memory } from "../../Memory.js"
import { MemoryEvent } from "../../MemoryEvent.js"
import { Workstream } from "../../Workstream.js"
import { Summary } from "../../WorkstreamContext.js"

/** The `kind` of a dump's first line. @category constants */
export const FORMAT = "arawn-store-dump"

/** The first line: what the file is, its version and when it was written. @category models */
export const DumpHeader = Schema.Struct({
  kind: Schema.Literal(FORMAT),
  version: Schema.Literal(1),
  exportedAt: Schema.DateTimeUtc
})

/** A memory with its whole history. @category models */
export const DumpMemory = Schema.Struct({
  kind: Schema.Literal("memory"),
  memory: Memory,
  history: Schema.Array(MemoryEvent)
})

/** A workstream's record (its messages follow it, in seq order). @category models */
export const DumpWorkstream = Schema.Struct({
  kind: Schema.Literal("workstream"),
  workstream: Workstream
})

/** A message: its seq and the log line the original runtime (and the local store) writes for it. @category models */
export const DumpMessage = Schema.Struct({
  kind: Schema.Literal("message"),
  seq: Schema.Int.pipe(Schema.positive()),
  line: Schema.Record({ key: Schema.String, value: Schema.Unknown })
})

/**
 * A summary made on the workstream before it (after that workstream's messages, so what it covers is there when it
 * is read back). @category models
 */
export const DumpSummary = Schema.Struct({
  kind: Schema.Literal("summary"),
  summary: Summary
})

/** Any line after the header. @category models */
export const DumpRecord = Schema.Union(DumpMemory, DumpWorkstream, DumpMessage, DumpSummary)
/** @category models */
export type DumpRecord = typeof DumpRecord.Type
