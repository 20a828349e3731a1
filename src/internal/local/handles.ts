/**
 * Open handles to logs, reused across appends and reads so a call pays no open/close: an `RcMap` keyed by path,
 * so concurrent callers share one open (single flight) and a handle closes only when retired (a delete, a stale
 * identity, eviction past `capacity`) and its last user is done. Each use holds its lease in a scope, so an
 * interrupted caller releases it too.
 */
import { constants as fsConstants, fstatSync, statSync } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import { Data, Duration, Effect, Either, RcMap } from "effect"
import type { Scope } from "effect"
import { StorageError } from "../../Errors.js"
import * as path from "node:path"
import { fsyncDir, isNotFound, readRanges, readRangesSync } from "../logfile.js"
import type { Range } from "../logfile.js"
import { closeQuietly, io } from "./files.js"
import type { Paths } from "./files.js"

/** An open log and its size at the time it was leased. */
export interface OpenLog {
  readonly fh: FileHandle
  readonly size: number
}

export interface Handles {
  /**
   * Runs `use` with a handle to the file now at `file` (created when `create`; `undefined` when it does not exist
   * and `create` is false), never one left open on a file another process has since removed or replaced.
   */
  readonly use: <A, E, R>(
    method: string,
    file: string,
    create: boolean,
    use: (log: OpenLog | undefined) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | StorageError, R>
  /** Forgets `file`'s handle: closed now, or when its last user is done. */
  readonly retire: (file: string) => Effect.Effect<void>
  /**
   * The bytes of `ranges` (sorted by offset) of the file now at `file`, read at once in the caller's turn when the
   * pool holds its handle open, the handle is still that file's and the ranges are small; `undefined` otherwise (or
   * when the read fails), and `use` then reads them. No lease is needed: nothing runs beside a read that never
   * yields, and a retired handle leaves the pool before its close starts.
   */
  readonly readNow: (file: string, ranges: ReadonlyArray<Range>) => Array<Buffer> | undefined
}

/** A pooled handle and the identity of the file it opened (read once, when it was opened). */
interface Held {
  readonly fh: FileHandle
  readonly ino: number
  readonly dev: number
}

/** The file was not there to open. */
class Missing extends Data.TaggedError("Missing") {}

const statIfExists = (file: string) => {
  try {
    return Either.right(statSync(file))
  } catch (e) {
    return isNotFound(e) ? Either.right(undefined) : Either.left(e)
  }
}

const ATTEMPTS = 3

/** The pool for the life of the scope; `readOnly` opens for reading only (a store this process may not write). */
export const makeHandles = (capacity: number, readOnly: boolean): Effect.Effect<Handles, never, Scope.Scope> =>
  Effect.gen(function*() {
    const flags = readOnly ? fsConstants.O_RDONLY : fsConstants.O_RDWR
    // The handles the map holds open now, for `readNow`.
    const opened = new Map<string, Held>()
    const map = yield* RcMap.make({
      lookup: (file: string) =>
        Effect.acquireRelease(
          Effect.tryPromise({
            try: async (): Promise<Held> => {
              const fh = await fs.open(file, flags)
              // Synchronous on purpose: a cached metadata syscall of microseconds, cheaper than libuv's thread pool.
              const { dev, ino } = fstatSync(fh.fd)
              const held = { fh, ino, dev }
              opened.set(file, held)
              return held
            },
            catch: (cause) => isNotFound(cause) ? new Missing() : new StorageError({ method: "WorkstreamStore.open", cause })
          }),
          (held) =>
            Effect.suspend(() => {
              if (opened.get(file) === held) opened.delete(file)
              return closeQuietly(held.fh)
            })
        ),
      // Kept until retired: eviction below bounds how many stay open.
      idleTimeToLive: Duration.infinity
    })
    // Most recently used last, so eviction takes the oldest.
    const recent = new Map<string, true>()

    const retire = (file: string) =>
      Effect.suspend(() => {
        recent.delete(file)
        return RcMap.invalidate(map, file)
      })

    const touch = (file: string) =>
      Effect.suspend(() => {
        recent.delete(file)
        recent.set(file, true)
        const over = recent.size - capacity
        if (over <= 0) return Effect.void
        return Effect.forEach(Array.from(recent.keys()).slice(0, over), retire, { discard: true })
      })

    /** One lease of the handle now at `file`, or why there is none. */
    const lease = (method: string, file: string) =>
      Effect.gen(function*() {
        const got = yield* Effect.either(RcMap.get(map, file))
        if (Either.isLeft(got)) {
          // A failed open stays in the map as a failure: dropped, so the next caller opens anew.
          yield* retire(file)
          if (got.left._tag === "Missing") return { _tag: "Missing" } as const
          return yield* new StorageError({ method, cause: got.left.cause })
        }
        yield* touch(file)
        const held = got.right
        const current = statIfExists(file)
        if (Either.isLeft(current)) return yield* new StorageError({ method, cause: current.left })
        const st = current.right
        if (st !== undefined && st.ino === held.ino && st.dev === held.dev) {
          return { _tag: "Open", log: { fh: held.fh, size: st.size } } as const
        }
        yield* retire(file)
        return st === undefined ? { _tag: "Missing" } as const : { _tag: "Stale" } as const
      })

    /** `f` with a lease; a stale handle is retired and the file opened again, a missing one created when `create`. */
    const use = <A, E, R>(
      method: string,
      file: string,
      create: boolean,
      f: (log: OpenLog | undefined) => Effect.Effect<A, E, R>,
      n = 0
    ): Effect.Effect<A, E | StorageError, R> =>
      Effect.flatMap(
        Effect.scoped(Effect.flatMap(lease(method, file), (got): Effect.Effect<Either.Either<A, "Missing" | "Stale">, E, R> =>
          got._tag === "Open" ? Effect.map(f(got.log), Either.right) : Effect.succeed(Either.left(got._tag)))),
        (got): Effect.Effect<A, E | StorageError, R> => {
          if (Either.isRight(got)) return Effect.succeed(got.right)
          if (got.left === "Missing" && (!create || readOnly)) return f(undefined)
          if (n + 1 >= ATTEMPTS) {
            return new StorageError({ method, cause: new Error(`${file} was replaced ${ATTEMPTS} times while it was being opened`) })
          }
          if (got.left === "Stale") return use(method, file, create, f, n + 1)
          // Created here, then opened through the pool like any other log.
          return Effect.zipRight(
            io(method, async () => (await fs.open(file, fsConstants.O_RDWR | fsConstants.O_CREAT)).close()),
            use(method, file, create, f, n + 1)
          )
        }
      )

    const readNow = (file: string, ranges: ReadonlyArray<Range>): Array<Buffer> | undefined => {
      const held = opened.get(file)
      if (held === undefined || bytesOf(ranges) > SYNC_BYTES) return undefined
      const current = statIfExists(file)
      if (Either.isLeft(current) || current.right?.ino !== held.ino || current.right.dev !== held.dev) return undefined
      try {
        const read = readRangesSync(held.fh.fd, ranges)
        // Most recently used, as a lease would make it (eviction waits for the next lease).
        recent.delete(file)
        recent.set(file, true)
        return read
      } catch {
        return undefined
      }
    }

    return { use: (method, file, create, f) => use(method, file, create, f), retire, readNow }
  })

/** Removes a log directory (retiring its pooled handle first) and makes the removal durable. */
export const removeDir = (handles: Handles, p: Paths, method: string, dir: string) =>
  Effect.zipRight(
    handles.retire(path.join(dir, "messages.jsonl")),
    io(method, async () => {
      await fs.rm(dir, { recursive: true, force: true })
      await fsyncDir(p.logsDir)
    })
  )

/** Pages up to this many bytes are read in the caller's thread (see `readRangesSync`); larger reads go to the pool. */
const SYNC_BYTES = 1024 * 1024

/** The bytes of `ranges` (sorted by offset) of an open log. */
export const readLines = (method: string, log: OpenLog, ranges: ReadonlyArray<Range>): Effect.Effect<Array<Buffer>, StorageError> =>
  bytesOf(ranges) <= SYNC_BYTES
    ? Effect.try({ try: () => readRangesSync(log.fh.fd, ranges), catch: (cause) => new StorageError({ method, cause }) })
    : io(method, () => readRanges(log.fh, ranges))

const bytesOf = (ranges: ReadonlyArray<Range>) => {
  let bytes = 0
  for (const r of ranges) bytes += r.length
  return bytes
}
