/**
 * `arawn-store import <arawn-data-dir>` / `import --dump FILE`: brings the original runtime's memories and
 * workstreams, or a dump of any store, into this store.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option, Schema, Stream } from "effect"
import { InvalidInput } from "../Errors.js"
import type { ImportEvent, ImportPhase, ImportReport } from "../Import.js"
import { load } from "./layers.js"
import { clip, makeProgress, printJson, table } from "./output.js"
import { jsonOutput, withMemories, withStore } from "./root.js"

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
    ["messages", r.messages.imported, r.messages.skipped, r.messages.failed],
    ...(r.summaries !== undefined ? [["summaries", r.summaries.imported, r.summaries.skipped, r.summaries.failed]] : [])
  ])
  if (r.failures.length === 0) return counts
  const listed = r.failures.slice(0, MAX_LISTED_FAILURES).map((f) => `  ${f.entity} ${f.id}: ${clip(f.reason, 100)}`)
  const more = r.failures.length > MAX_LISTED_FAILURES
    ? [`  ... and ${r.failures.length - MAX_LISTED_FAILURES} more (--json lists all)`]
    : []
  return [counts, "", "failed:", ...listed, ...more].join("\n")
}

/**
 * Runs an import stream: a progress bar per phase on stderr, then the report (a table, or JSON with `--json`);
 * fails with ImportIncomplete when some records could not be imported.
 *
 * @category commands
 */
export const reportImport = <E, R>(events: Stream.Stream<ImportEvent, E, R>) =>
  Effect.gen(function*() {
    let bar: { phase: ImportPhase; progress: ReturnType<typeof makeProgress> } | undefined
    const last = yield* events.pipe(
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
  })

/** `import --mcp-memory FILE`: only the memories are opened, confined to the namespace the command line names. */
const importGraph = (file: string) =>
  withMemories("create")(Effect.flatMap(
    load("the MCP memory importer", () => import("./mcpImport.js")),
    (McpImport) => McpImport.importMcpMemory(file)
  ))

/** `arawn-store import`. @category commands */
export const importCommand = Command.make("import", {
  source: Args.directory({ name: "arawn-data-dir", exists: "yes" }).pipe(
    Args.withDescription("The original runtime's data directory (holding memory.db, workstreams.db, workstreams/)"),
    Args.optional
  ),
  dump: Options.file("dump", { exists: "yes" }).pipe(
    Options.withDescription("A dump written by 'arawn-store export' (any backend's) instead of a data directory"),
    Options.optional
  ),
  mcpMemory: Options.file("mcp-memory", { exists: "yes" }).pipe(
    Options.withDescription("A memory.jsonl of the reference MCP memory server, kept as 'mcp --compat server-memory' keeps it"),
    Options.optional
  )
}, (o) =>
  [o.source, o.dump, o.mcpMemory].filter(Option.isSome).length !== 1
    ? new InvalidInput({ method: "import", message: "give one of: an arawn data directory, --dump FILE, --mcp-memory FILE" })
    : Option.isSome(o.mcpMemory)
    ? importGraph(o.mcpMemory.value)
    : withStore("create")(Effect.gen(function*() {
      if (Option.isSome(o.dump)) {
        const Dump = yield* load("the dump reader", () => import("../Dump.js"))
        return yield* reportImport(Dump.importDumpFile(o.dump.value))
      }
      const Import = yield* load("the importer", () => import("../Import.js"))
      return yield* reportImport(Import.stream(Option.getOrThrow(o.source)))
    }))).pipe(Command.withDescription(
    "Import an arawn data directory (memories re-embedded), a dump (--dump) or an MCP memory.jsonl (--mcp-memory); " +
      "re-running adds nothing twice"
  ))
