/**
 * What every phase of an import shares: the source's files, the running tallies and failures, and how a source
 * read failure becomes a `StorageError`.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { ImportCounts, ImportFailure, ImportReport } from "../../Import.js"
import { openSqlite } from "../sqlite.js"

export const METHOD = "Import.run"

export const storageError = (method: string) => (cause: unknown) =>
  cause instanceof StorageError ? cause : new StorageError({ method, cause })

export const tryFs = <A>(method: string, f: () => A) => Effect.try({ try: f, catch: storageError(method) })

/** The original's SQLite files are read-only sources: never written, never switched to WAL. */
export const openOriginal = (method: string, filename: string) =>
  openSqlite(method, { filename, readonly: true, disableWAL: true })

/** Where the original keeps a workstream's log: `workstreams/<id>/`, or `workstreams/workstreams/<id>/` with its defaults. */
const logDirs = (dataDir: string) => [join(dataDir, "workstreams"), join(dataDir, "workstreams", "workstreams")]

export const findLog = (dataDir: string, id: string): Option.Option<string> =>
  Option.fromNullable(logDirs(dataDir).map((d) => join(d, id, "messages.jsonl")).find((p) => existsSync(p)))

/** Ids of every directory holding a `messages.jsonl`. */
export const logIds = (dataDir: string): Array<string> =>
  logDirs(dataDir).flatMap((d) =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory() && existsSync(join(d, e.name, "messages.jsonl")))
        .map((e) => e.name)
      : []
  )

export class Tally {
  imported = 0
  skipped = 0
  failed = 0
  counts(): ImportCounts {
    return { imported: this.imported, skipped: this.skipped, failed: this.failed }
  }
}

/** The state of one import run, filled in by its phases. */
export class Run {
  readonly failures: Array<ImportFailure> = []
  readonly memories = new Tally()
  readonly workstreams = new Tally()
  readonly messages = new Tally()

  fail(tally: Tally, failure: ImportFailure): void {
    tally.failed++
    this.failures.push(failure)
  }

  report(): ImportReport {
    return {
      memories: this.memories.counts(),
      workstreams: this.workstreams.counts(),
      messages: this.messages.counts(),
      failures: this.failures
    }
  }
}
