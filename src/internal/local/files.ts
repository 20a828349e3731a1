/**
 * Where the local store keeps its logs, and the Effect wrappers around the file primitives of `logfile.ts`: every
 * failure becomes the `StorageError` of the method that hit it.
 */
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { fsyncDir, isNotFound } from "../logfile.js"
import type { HandlePool } from "../logfile.js"

export interface Paths {
  readonly root: string
  readonly logsDir: string
  readonly dirOf: (id: WorkstreamId) => string
  readonly logOf: (id: WorkstreamId) => string
}

export const paths = (dir: string): Paths => {
  const root = path.resolve(dir)
  const logsDir = path.join(root, "workstreams")
  return {
    root,
    logsDir,
    dirOf: (id) => path.join(logsDir, id),
    logOf: (id) => path.join(logsDir, id, "messages.jsonl")
  }
}

/** A promise-returning file operation as an Effect failing with `StorageError` for `method`. */
export const io = <A>(method: string, run: () => Promise<A>): Effect.Effect<A, StorageError> =>
  Effect.tryPromise({ try: run, catch: (cause) => new StorageError({ method, cause }) })

/** Maps any failure of a database effect to `StorageError` for `method`. */
export const db = (method: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, StorageError, R> =>
  Effect.mapError(self, (cause) => cause instanceof StorageError ? cause : new StorageError({ method, cause }))

const describe = (e: unknown): string => e instanceof Error ? e.message : String(e)

export const closeQuietly = (fh: FileHandle | undefined) =>
  fh === undefined
    ? Effect.void
    : Effect.catchAll(
      Effect.tryPromise(() => fh.close()),
      (e) => Effect.logWarning("closing a workstream log failed", describe(e))
    )

/** Runs `use` with `file` opened (`undefined` when it does not exist), closing it afterwards. */
export const withFile = <A, E, R>(
  method: string,
  file: string,
  flags: string,
  use: (fh: FileHandle | undefined) => Effect.Effect<A, E, R>
) =>
  Effect.acquireUseRelease(
    io(method, () => fs.open(file, flags).catch((e) => isNotFound(e) ? undefined : Promise.reject(e))),
    use,
    closeQuietly
  )

/** An open log and its size at the time it was opened. */
export interface OpenLog {
  readonly fh: FileHandle
  readonly size: number
}

/**
 * Runs `use` with a pooled handle to the file now at `file` (`undefined` when it does not exist and `create` is
 * false), never one left open on a file another process has since removed.
 */
export const withPooled = <A, E, R>(
  pool: HandlePool,
  method: string,
  file: string,
  create: boolean,
  use: (log: OpenLog | undefined) => Effect.Effect<A, E, R>
) =>
  Effect.acquireUseRelease(
    io(method, () => pool.acquireCurrent(file, create)),
    (lease) => use(lease),
    (lease) =>
      lease === undefined
        ? Effect.void
        : Effect.catchAll(io(method, lease.release), (e) => Effect.logWarning("releasing a log handle failed", e.message))
  )

/** Removes a log directory (closing its pooled handle first) and makes the removal durable. */
export const removeDir = (pool: HandlePool, p: Paths, method: string, dir: string) =>
  io(method, async () => {
    await pool.retire(path.join(dir, "messages.jsonl"))
    await fs.rm(dir, { recursive: true, force: true })
    await fsyncDir(p.logsDir)
  })

/** Where a promotion writes its target's log before the commit: a name no workstream id can take. */
export const stagingOf = (p: Paths, target: WorkstreamId) => path.join(p.logsDir, `${STAGING}${target}`)

export const STAGING = ".promote-"

/** Empties a log in place, durably; nothing when it does not exist. */
export const truncateLog = (method: string, file: string, size = 0) =>
  withFile(method, file, "r+", (fh) =>
    fh === undefined ? Effect.void : io(method, async () => {
      await fh.truncate(size)
      await fh.sync()
    }))
