/**
 * The one loop behind `promoteScratch` and `fork`: a log, or a prefix of it, copied line by line into a new file
 * with each line rewritten, indexed as it goes, and fsynced at the end. Each batch of lines is read, rewritten and
 * written as its own step, so an interrupted caller stops between batches, and both files close however the copy
 * ends.
 */
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import { Effect, Option, Stream } from "effect"
import type { StorageError } from "../../Errors.js"
import { closeQuietly, io, withFile } from "./files.js"
import type { IndexEntry } from "./schema.js"

/** What a copy wrote: the messages' index entries (offsets in the copy), its bytes and its lines. */
export interface Copied {
  readonly entries: ReadonlyArray<IndexEntry>
  readonly bytes: number
  readonly lines: number
}

/** What one source line becomes in the copy. */
export type LineCopy =
  /** A line of the copy (newline included); a message when `message` is given (its offset and length are the copy's). */
  | { readonly _tag: "Line"; readonly bytes: Buffer; readonly message?: Omit<IndexEntry, "offset" | "length"> }
  /** Not copied. */
  | { readonly _tag: "Skip" }
  /** The source is no longer what its index said: the copy is abandoned. */
  | { readonly _tag: "Abandon" }

export const SKIP: LineCopy = { _tag: "Skip" }
export const ABANDON: LineCopy = { _tag: "Abandon" }

export interface CopyOptions<L> {
  /** The log copied; a missing one copies as empty. */
  readonly from: string
  /** The copy, created or emptied first. */
  readonly to: string
  /** The source's lines, batch by batch. */
  readonly read: (source: FileHandle) => Stream.Stream<ReadonlyArray<L>, StorageError>
  /** One line's copy, given how many messages the copy holds before it. */
  readonly rewrite: (line: L, messages: number) => LineCopy
  /** Reading stops once the copy holds this many messages. */
  readonly limit?: number
}

interface Progress {
  readonly entries: Array<IndexEntry>
  bytes: number
  lines: number
  abandoned: boolean
}

/** The batch's bytes, its messages added to `p`; `undefined` when a line abandons the copy. */
const rewriteBatch = <L>(options: CopyOptions<L>, batch: ReadonlyArray<L>, p: Progress): Buffer | undefined => {
  const parts: Array<Buffer> = []
  for (const line of batch) {
    if (options.limit !== undefined && p.entries.length >= options.limit) break
    const copy = options.rewrite(line, p.entries.length)
    if (copy._tag === "Abandon") return undefined
    if (copy._tag === "Skip") continue
    if (copy.message !== undefined) p.entries.push({ ...copy.message, offset: p.bytes, length: copy.bytes.length - 1 })
    parts.push(copy.bytes)
    p.bytes += copy.bytes.length
    p.lines++
  }
  return Buffer.concat(parts)
}

/** Writes all of `buf` at the end of what `out` holds. */
const writeAll = (method: string, out: FileHandle, buf: Buffer) =>
  io(method, async () => {
    let done = 0
    while (done < buf.length) done += (await out.write(buf, done, buf.length - done)).bytesWritten
  })

/** Copies `options.from` to `options.to`, durably; `None` when a line abandoned the copy. */
export const copyLog = <L>(method: string, options: CopyOptions<L>): Effect.Effect<Option.Option<Copied>, StorageError> =>
  withFile(method, options.from, "r", (source) =>
    Effect.acquireUseRelease(
      io(method, () => fs.open(options.to, "w")),
      (out) =>
        Effect.gen(function*() {
          const p: Progress = { entries: [], bytes: 0, lines: 0, abandoned: false }
          const full = () => options.limit !== undefined && p.entries.length >= options.limit
          if (source !== undefined && !full()) {
            yield* Stream.runForEachWhile(options.read(source), (batch) => {
              const buf = rewriteBatch(options, batch, p)
              if (buf === undefined) {
                p.abandoned = true
                return Effect.succeed(false)
              }
              return Effect.as(writeAll(method, out, buf), !full())
            })
          }
          if (p.abandoned) return Option.none<Copied>()
          yield* io(method, () => out.sync())
          return Option.some<Copied>({ entries: p.entries, bytes: p.bytes, lines: p.lines })
        }),
      closeQuietly
    )).pipe(Effect.withSpan("WorkstreamStore.local.copyLog", { attributes: { "arawn.method": method } }))
