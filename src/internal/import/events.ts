/**
 * What an import reports: its phases, counts, failures and progress events. They live below both the `Import`
 * module and the phases that produce them; `Import` re-exports every one.
 */

/** @category models */
export type ImportPhase = "memories" | "workstreams" | "messages"

/** @category models */
export interface ImportCounts {
  readonly imported: number
  readonly skipped: number
  readonly failed: number
}

/** One record that could not be imported, and why. @category models */
export interface ImportFailure {
  readonly entity: "memory" | "workstream" | "message" | "summary"
  /** The record's id in the source, or `<workstream>:<line>` for a log line. */
  readonly id: string
  readonly reason: string
}

/** @category models */
export interface ImportReport {
  readonly memories: ImportCounts
  readonly workstreams: ImportCounts
  readonly messages: ImportCounts
  /** Summaries (compaction overlays) of a dump; present when it held any. */
  readonly summaries?: ImportCounts
  /** Every failure (the counts above include them). */
  readonly failures: ReadonlyArray<ImportFailure>
}

/**
 * What `stream` emits: progress within a phase (memories and workstreams count records, messages count bytes of the
 * logs read), then the report once.
 *
 * @category models
 */
export type ImportEvent =
  | { readonly _tag: "Progress"; readonly phase: ImportPhase; readonly done: number; readonly total: number }
  | { readonly _tag: "Done"; readonly report: ImportReport }
