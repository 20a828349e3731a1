/**
 * Import of the original runtime's data directory (`memory.db`, `workstreams.db` and the
 * `workstreams/<id>/messages.jsonl` logs) into this store, re-embedding every memory with the current `Embedder`.
 * Re-running an import adds nothing twice: memories whose id exists are skipped, and so are log lines whose message
 * id the target workstream already holds. Log lines are read by the same codec as the local store's
 * (`src/internal/jsonl.ts`: RFC 3339 timestamps only, UUID message ids), a chunk at a time.
 *
 * @since 0.1.0
 */
import { existsSync, statSync } from "node:fs"
import { join } from "node:path"
import { Effect, Option, Stream } from "effect"
import { InvalidInput } from "./Errors.js"
import type { WorkstreamId } from "./Ids.js"
import { memoryPhase } from "./internal/import/memories.js"
import { messagePhase } from "./internal/import/messages.js"
import { logIds, METHOD, Run, tryFs } from "./internal/import/source.js"
import { workstreamPhase } from "./internal/import/workstreams.js"
import type { MemoryBackend, WriteError } from "./MemoryBackend.js"
import type { WorkstreamStore } from "./WorkstreamStore.js"

export { memoryFromRow } from "./internal/import/memories.js"
export { messageFromLine } from "./internal/import/messages.js"
export { workstreamFromRow } from "./internal/import/workstreams.js"

export type { ImportCounts, ImportEvent, ImportFailure, ImportPhase, ImportReport } from "./internal/import/events.js"
import type { ImportEvent, ImportReport } from "./internal/import/events.js"

/** @category options */
export interface ImportOptions {
  /** Memories per `storeMany` call (one embed call and one transaction each); default 128. */
  readonly batchSize?: number
  /** Messages per `storeMessages` call; default 500. */
  readonly messageBatchSize?: number
}

/** Failures that stop an import: an unreadable source or a failing target store. @category errors */
export type ImportError = WriteError

/**
 * Imports the data directory `dataDir`, emitting progress per phase (memories, workstreams, messages) and, last,
 * the report. Requires `MemoryBackend` and `WorkstreamStore`. A directory with neither `memory.db` nor
 * `workstreams.db` nor any log is InvalidInput; records that cannot be converted are counted as failed with a
 * reason and the import goes on; a failing target store stops it.
 *
 * @category import
 */
export const stream = (
  dataDir: string,
  options: ImportOptions = {}
): Stream.Stream<ImportEvent, ImportError, MemoryBackend | WorkstreamStore> =>
  Stream.unwrap(Effect.gen(function*() {
    const batchSize = Math.max(1, options.batchSize ?? 128)
    const messageBatch = Math.max(1, options.messageBatchSize ?? 500)
    const memoryDb = join(dataDir, "memory.db")
    const workstreamDb = join(dataDir, "workstreams.db")
    const isDir = yield* tryFs(METHOD, () => existsSync(dataDir) && statSync(dataDir).isDirectory())
    if (!isDir) return yield* new InvalidInput({ method: METHOD, message: `${dataDir} is not a directory` })
    const hasMemories = existsSync(memoryDb)
    const hasWorkstreams = existsSync(workstreamDb)
    const orphanLogs = yield* tryFs(METHOD, () => logIds(dataDir))
    if (!hasMemories && !hasWorkstreams && orphanLogs.length === 0) {
      return yield* new InvalidInput({
        method: METHOD,
        message: `${dataDir} holds no memory.db, workstreams.db or workstreams/<id>/messages.jsonl: is it an arawn data directory?`
      })
    }
    const run = new Run()
    /** Workstreams whose logs the message phase reads (imported or already present). */
    const targets: Array<WorkstreamId> = []
    const memories: Stream.Stream<ImportEvent, ImportError, MemoryBackend> = hasMemories
      ? memoryPhase(memoryDb, batchSize, run)
      : Stream.empty
    return memories.pipe(
      Stream.concat(workstreamPhase(hasWorkstreams ? workstreamDb : undefined, orphanLogs, run, targets)),
      Stream.concat(Stream.suspend(() => messagePhase(dataDir, targets, messageBatch, run))),
      Stream.concat(Stream.sync((): ImportEvent => ({ _tag: "Done", report: run.report() })))
    )
  }))
/**
 * Runs the whole import and returns its report (see `stream` for progress).
 *
 * @category import
 */
export const run = (
  dataDir: string,
  options: ImportOptions = {}
): Effect.Effect<ImportReport, ImportError, MemoryBackend | WorkstreamStore> =>
  stream(dataDir, options).pipe(
    Stream.runLast,
    Effect.flatMap(Option.match({
      onSome: (e) => Effect.succeed(e._tag === "Done" ? e.report : emptyReport),
      onNone: () => Effect.succeed(emptyReport)
    }))
  )

const emptyReport: ImportReport = {
  memories: { imported: 0, skipped: 0, failed: 0 },
  workstreams: { imported: 0, skipped: 0, failed: 0 },
  messages: { imported: 0, skipped: 0, failed: 0 },
  failures: []
}
