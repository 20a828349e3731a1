/**
 * `arawn-store import <arawn-data-dir>`: brings the original runtime's memories and workstreams into this store.
 *
 * @since 0.1.0
 */
import { Args, Command } from "@effect/cli"
import { Console, Effect, Option, Schema, Stream } from "effect"
import type { ImportPhase, ImportReport } from "../Import.js"
import { load } from "./layers.js"
import { clip, makeProgress, printJson, table } from "./output.js"
import { jsonOutput, withStore } from "./root.js"

const MAX_LISTED_FAILURES = 20

/** Some records could not be imported (the report lists them); the rest were. @category errors */
export class ImportIncomplete extends Schema.TaggedError<ImportIncomplete>()("ImportIncomplete", {
  failed: Schema.Number
}) {
  override get message(): string {
    return `${this.failed} record${this.failed === 1 ? "" : "s"} could not be imported (listed in the report); the rest were`
  }
}

/** The summary table and the failures (first few) of an import. @category formatting */
export const reportText = (r: ImportReport): string => {
  const counts = table(["", "imported", "skipped", "failed"], [
    ["memories", r.memories.imported, r.memories.skipped, r.memories.failed],
    ["workstreams", r.workstreams.imported, r.workstreams.skipped, r.workstreams.failed],
    ["messages", r.messages.imported, r.messages.skipped, r.messages.failed]
  ])
  if (r.failures.length === 0) return counts
  const listed = r.failures.slice(0, MAX_LISTED_FAILURES).map((f) => `  ${f.entity} ${f.id}: ${clip(f.reason, 100)}`)
  const more = r.failures.length > MAX_LISTED_FAILURES
    ? [`  ... and ${r.failures.length - MAX_LISTED_FAILURES} more (--json lists all)`]
    : []
  return [counts, "", "failed:", ...listed, ...more].join("\n")
}

/** `arawn-store import`. @category commands */
export const importCommand = Command.make("import", {
  source: Args.directory({ name: "arawn-data-dir", exists: "yes" }).pipe(
    Args.withDescription("The original runtime's data directory (holding memory.db, workstreams.db, workstreams/)")
  )
}, (o) =>
  withStore("create")(Effect.gen(function*() {
    const Import = yield* load("the importer", () => import("../Import.js"))
    let bar: { phase: ImportPhase; progress: ReturnType<typeof makeProgress> } | undefined
    const last = yield* Import.stream(o.source).pipe(
      Stream.tap((e) =>
        Effect.gen(function*() {
          if (e._tag !== "Progress") return
          if (bar?.phase !== e.phase) {
            if (bar !== undefined) yield* bar.progress.finish
            bar = { phase: e.phase, progress: makeProgress(e.phase.padEnd(11)) }
          }
          yield* bar.progress.update(e.done, e.total)
        })
      ),
      Stream.runLast,
      Effect.ensuring(Effect.suspend(() => (bar === undefined ? Effect.void : bar.progress.finish)))
    )
    const report = Option.flatMap(last, (e) => (e._tag === "Done" ? Option.some(e.report) : Option.none()))
    if (Option.isNone(report)) return
    if (yield* jsonOutput) yield* printJson(report.value)
    else yield* Console.log(reportText(report.value))
    if (report.value.failures.length > 0) return yield* new ImportIncomplete({ failed: report.value.failures.length })
  }))).pipe(Command.withDescription("Import an arawn data directory (memories re-embedded; re-running adds nothing twice)"))
