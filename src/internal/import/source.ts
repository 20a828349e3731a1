/**
 * Where the original runtime keeps its files, and how the import opens them (the tallies and writes every import
 * shares are in `run.ts`).
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { Option } from "effect"
import { openSqlite } from "../sqlite.js"

export { Run, storageError, Tally, tryFs } from "./run.js"

export const METHOD = "Import.run"

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

