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

/**
 * A promise-returning file operation as an Effect failing with `StorageError` for `method`. Uninterruptible: a
 * promise cannot be cancelled, so an interrupted caller waits for it rather than let it race the cleanup that
 * follows (a handle closed, a log cut back); the interruption takes effect right after.
 */
export const io = <A>(method: string, run: () => Promise<A>): Effect.Effect<A, StorageError> =>
  Effect.uninterruptible(Effect.tryPromise({ try: run, catch: (cause) => new StorageError({ method, cause }) }))

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

/** Where a promotion writes its target's log before the commit: a name no workstream id can take. */
export const stagingOf = (p: Paths, target: WorkstreamId) => path.join(p.logsDir, `${STAGING}${target}`)

export const STAGING = ".promote-"

/** A workstream's summaries, beside its log (see `summaries.ts`). */
export const SUMMARIES_FILE = "summaries.json"

/** Empties a log in place, durably; nothing when it does not exist. */
export const truncateLog = (method: string, file: string, size = 0) =>
  withFile(method, file, "r+", (fh) =>
    fh === undefined ? Effect.void : io(method, async () => {
      await fh.truncate(size)
      await fh.sync()
    }))

/**
 * Replaces `dir/name` by `text` atomically and durably (temporary file, fsync, rename, directory fsync), creating
 * `dir` when missing: a reader finds the old file or the new one, never a mix.
 */
export const replaceFile = (method: string, dir: string, name: string, text: string) =>
  io(method, async () => {
    await fs.mkdir(dir, { recursive: true })
    const file = path.join(dir, name)
    const temp = `${file}.tmp`
    const fh = await fs.open(temp, "w")
    try {
      await fh.writeFile(text)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(temp, file)
    await fsyncDir(dir)
  })
