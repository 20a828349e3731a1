/**
 * Plain file primitives for append-only JSONL logs: chunked line scanning, positioned range reads, directory fsync.
 * Promise-based; the store wraps each call in an Effect with its method name; `scanLines` streams a log's lines.
 */
import { readSync } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import { Effect, Option, Stream } from "effect"
import { StorageError } from "../Errors.js"

/** One physical line: its byte offset, its bytes without the newline, and whether a newline ended it. */
export interface RawLine {
  readonly offset: number
  readonly bytes: Buffer
  readonly terminated: boolean
}

const NEWLINE = 0x0a

/** Where a scan of `[start, end)` stands: the offset read up to, and the bytes after the last newline. */
interface Scan {
  readonly pos: number
  readonly carry: Buffer
  readonly carryOffset: number
  readonly done: boolean
}

/**
 * The next complete lines of a scan and the scan after them; the last call returns the trailing bytes without a
 * newline (a torn line) as `terminated: false`, then `undefined`.
 */
const nextLines = async (fh: FileHandle, s: Scan, end: number, chunkSize: number): Promise<readonly [ReadonlyArray<RawLine>, Scan] | undefined> => {
  if (s.done) return undefined
  if (s.pos >= end) {
    const tail: ReadonlyArray<RawLine> = [{ offset: s.carryOffset, bytes: s.carry, terminated: false }]
    return s.carry.length > 0 ? [tail, { ...s, carry: Buffer.alloc(0), done: true }] : undefined
  }
  // A line longer than a chunk makes the carry grow; reading at least that much again keeps the cost linear.
  const want = Math.min(Math.max(chunkSize, s.carry.length), end - s.pos)
  const chunk = Buffer.allocUnsafe(want)
  const { bytesRead } = await fh.read(chunk, 0, want, s.pos)
  if (bytesRead === 0) throw new Error(`log ended at byte ${s.pos}, expected ${end}`)
  const data = s.carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([s.carry, chunk.subarray(0, bytesRead)])
  const lines: Array<RawLine> = []
  let from = 0
  for (let nl = data.indexOf(NEWLINE, from); nl !== -1; nl = data.indexOf(NEWLINE, from)) {
    lines.push({ offset: s.carryOffset + from, bytes: data.subarray(from, nl), terminated: true })
    from = nl + 1
  }
  return [lines, { pos: s.pos + bytesRead, carry: data.subarray(from), carryOffset: s.carryOffset + from, done: false }]
}

/** The lines of one chunk, and the byte offset read up to once they were. */
export interface LineBatch {
  readonly lines: ReadonlyArray<RawLine>
  readonly position: number
}

/**
 * The lines of `[start, end)` of `fh`, one batch per chunk read (the last one a torn line without its newline, if
 * the range ends in one). Each read is uninterruptible (a promise cannot be cancelled, and the handle may close
 * right after); an interruption stops the stream between chunks.
 */
export const scanLines = (
  method: string,
  fh: FileHandle,
  start: number,
  end: number,
  chunkSize = 4 * 1024 * 1024
): Stream.Stream<LineBatch, StorageError> =>
  Stream.unfoldEffect<Scan, LineBatch, StorageError, never>({ pos: start, carry: Buffer.alloc(0), carryOffset: start, done: false }, (scan) =>
    Effect.map(
      Effect.uninterruptible(
        Effect.tryPromise({ try: () => nextLines(fh, scan, end, chunkSize), catch: (cause) => new StorageError({ method, cause }) })
      ),
      (next) => Option.map(Option.fromNullable(next), ([lines, after]) => [{ lines, position: after.pos }, after] as const)
    ))

/** Whether a line holds only spaces, tabs and carriage returns (the original skips such lines). */
export const isBlank = (bytes: Buffer): boolean => {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false
  return true
}

/** A byte range of one line (newline excluded). */
export interface Range {
  readonly offset: number
  readonly length: number
}

const MAX_COALESCED = 8 * 1024 * 1024
const MAX_GAP = 64 * 1024

/** The runs of `ranges` (sorted by offset) read together: adjacent lines, or at most 64 KiB apart. */
const runsOf = (ranges: ReadonlyArray<Range>): Array<{ readonly from: number; readonly to: number; readonly size: number }> => {
  const runs: Array<{ from: number; to: number; size: number }> = []
  let i = 0
  while (i < ranges.length) {
    const first = ranges[i]!
    let j = i + 1
    let end = first.offset + first.length
    while (j < ranges.length) {
      const r = ranges[j]!
      // Nearby lines are read together: one larger read beats many small ones (e.g. a session's scattered lines).
      if (r.offset - end > MAX_GAP || r.offset + r.length - first.offset > MAX_COALESCED) break
      end = r.offset + r.length
      j++
    }
    runs.push({ from: i, to: j, size: end - first.offset })
    i = j
  }
  return runs
}

const shortLog = (at: number) => new Error(`log is shorter than its index (wanted byte ${at})`)

const sliceRun = (out: Array<Buffer>, ranges: ReadonlyArray<Range>, from: number, to: number, buf: Buffer) => {
  const base = ranges[from]!.offset
  for (let k = from; k < to; k++) {
    const r = ranges[k]!
    out.push(buf.subarray(r.offset - base, r.offset - base + r.length))
  }
}

/**
 * Reads the given ranges (sorted by offset), one positioned read per run of nearby lines (adjacent, or at most 64 KiB
 * apart), and returns each line's bytes in order.
 */
export const readRanges = async (fh: FileHandle, ranges: ReadonlyArray<Range>): Promise<Array<Buffer>> => {
  const out: Array<Buffer> = []
  for (const { from, size, to } of runsOf(ranges)) {
    const offset = ranges[from]!.offset
    const buf = Buffer.allocUnsafe(size)
    let got = 0
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, offset + got)
      if (bytesRead === 0) throw shortLog(offset + size)
      got += bytesRead
    }
    sliceRun(out, ranges, from, to, buf)
  }
  return out
}

/**
 * `readRanges` in the caller's thread, for a page of lines: a few kilobytes from the page cache take microseconds,
 * far less than a hop to libuv's thread pool and back per run.
 */
export const readRangesSync = (fd: number, ranges: ReadonlyArray<Range>): Array<Buffer> => {
  const out: Array<Buffer> = []
  for (const { from, size, to } of runsOf(ranges)) {
    const offset = ranges[from]!.offset
    const buf = Buffer.allocUnsafe(size)
    let got = 0
    while (got < size) {
      const bytesRead = readSync(fd, buf, got, size - got, offset + got)
      if (bytesRead === 0) throw shortLog(offset + size)
      got += bytesRead
    }
    sliceRun(out, ranges, from, to, buf)
  }
  return out
}

/** Makes a directory entry (a created or renamed file) durable. */
export const fsyncDir = async (dir: string): Promise<void> => {
  const fh = await fs.open(dir, "r")
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Size of a file, 0 when it does not exist. */
/** Whether `file` exists (a missing one is false; any other failure is thrown): a plain awaited step of an `io` operation. */
export const exists = async (file: string): Promise<boolean> => {
  try {
    await fs.stat(file)
    return true
  } catch (e) {
    if (isNotFound(e)) return false
    throw e
  }
}

export const sizeOf = async (file: string): Promise<number> => {
  try {
    return (await fs.stat(file)).size
  } catch (e) {
    if (isNotFound(e)) return 0
    throw e
  }
}

/** Whether a Node error is ENOENT. */
export const isNotFound = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "code" in e && e.code === "ENOENT"
