/**
 * Plain file primitives for append-only JSONL logs: chunked line scanning, positioned range reads, directory fsync.
 * Promise-based; the store wraps each call in an Effect with its method name.
 */
import type { FileHandle } from "node:fs/promises"
import { constants as fsConstants, fstatSync, statSync } from "node:fs"
import * as fs from "node:fs/promises"

/** One physical line: its byte offset, its bytes without the newline, and whether a newline ended it. */
export interface RawLine {
  readonly offset: number
  readonly bytes: Buffer
  readonly terminated: boolean
}

const NEWLINE = 0x0a

/**
 * Reads `[start, end)` of a file chunk by chunk and hands back complete lines; the last call returns the trailing
 * bytes without a newline (a torn line) as `terminated: false`, then `undefined`.
 */
export class LineScanner {
  private pos: number
  private carry: Buffer = Buffer.alloc(0)
  private carryOffset: number
  private done = false

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
    private readonly chunkSize = 4 * 1024 * 1024
  ) {
    this.pos = start
    this.carryOffset = start
  }

  /** The byte offset up to which the file has been read. */
  get position(): number {
    return this.pos
  }

  async next(): Promise<ReadonlyArray<RawLine> | undefined> {
    if (this.done) return undefined
    if (this.pos >= this.end) {
      this.done = true
      return this.carry.length > 0 ? [{ offset: this.carryOffset, bytes: this.carry, terminated: false }] : undefined
    }
    // A line longer than a chunk makes the carry grow; reading at least that much again keeps the cost linear.
    const want = Math.min(Math.max(this.chunkSize, this.carry.length), this.end - this.pos)
    const chunk = Buffer.allocUnsafe(want)
    const { bytesRead } = await this.fh.read(chunk, 0, want, this.pos)
    if (bytesRead === 0) throw new Error(`log ended at byte ${this.pos}, expected ${this.end}`)
    this.pos += bytesRead
    const data = this.carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([this.carry, chunk.subarray(0, bytesRead)])
    const base = this.carryOffset
    const lines: Array<RawLine> = []
    let from = 0
    for (let nl = data.indexOf(NEWLINE, from); nl !== -1; nl = data.indexOf(NEWLINE, from)) {
      lines.push({ offset: base + from, bytes: data.subarray(from, nl), terminated: true })
      from = nl + 1
    }
    this.carry = data.subarray(from)
    this.carryOffset = base + from
    return lines
  }
}

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

/**
 * Reads the given ranges (sorted by offset), one positioned read per run of nearby lines (adjacent, or at most 64 KiB
 * apart), and returns each line's bytes in order.
 */
export const readRanges = async (fh: FileHandle, ranges: ReadonlyArray<Range>): Promise<Array<Buffer>> => {
  const out: Array<Buffer> = []
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
    const size = end - first.offset
    const buf = Buffer.allocUnsafe(size)
    let got = 0
    while (got < size) {
      const { bytesRead } = await fh.read(buf, got, size - got, first.offset + got)
      if (bytesRead === 0) throw new Error(`log is shorter than its index (wanted byte ${first.offset + size})`)
      got += bytesRead
    }
    for (let k = i; k < j; k++) {
      const r = ranges[k]!
      out.push(buf.subarray(r.offset - first.offset, r.offset - first.offset + r.length))
    }
    i = j
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
export const sizeOf = async (file: string): Promise<number> => {
  try {
    return (await fs.stat(file)).size
  } catch (e) {
    if (isNotFound(e)) return 0
    throw e
  }
}

const statIfExists = (file: string) => {
  try {
    return statSync(file)
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

/** Whether a Node error is ENOENT. */
export const isNotFound = (e: unknown): boolean =>
  typeof e === "object" && e !== null && "code" in e && e.code === "ENOENT"

interface PoolEntry {
  readonly handle: Promise<FileHandle>
  users: number
  retired: boolean
  /** The opened file's identity, read once after opening. */
  identity?: { readonly ino: number; readonly dev: number }
}

/**
 * Open read-write handles to logs, reused across appends and reads so a call pays no open/close. Handles are
 * reference-counted: retiring one (delete, eviction) closes it once its last user is done.
 */
export class HandlePool {
  private readonly entries = new Map<string, PoolEntry>()

  /** `readOnly`: handles open for reading only (a store this process may not write), never creating a file. */
  constructor(private readonly capacity: number, private readonly readOnly = false) {}

  /** A handle to `file` (created when `create`), or `undefined` when it does not exist and `create` is false. */
  async acquire(file: string, create: boolean): Promise<{ readonly fh: FileHandle; readonly release: () => Promise<void> } | undefined> {
    for (;;) {
      let entry = this.entries.get(file)
      if (entry === undefined) {
        const flags = this.readOnly
          ? fsConstants.O_RDONLY
          : create
          ? fsConstants.O_RDWR | fsConstants.O_CREAT
          : fsConstants.O_RDWR
        // Counted as used before the first await, so another caller's eviction cannot close it under us.
        entry = { handle: fs.open(file, flags), users: 1, retired: false }
        this.entries.set(file, entry)
      } else {
        // Most recently used last, so eviction takes the oldest.
        this.entries.delete(file)
        this.entries.set(file, entry)
        entry.users++
      }
      const current = entry
      let fh: FileHandle
      try {
        fh = await current.handle
      } catch (e) {
        current.users--
        if (this.entries.get(file) === current) this.entries.delete(file)
        // An open without O_CREAT that this caller joined found no file: a creating caller opens it anew.
        if (isNotFound(e)) {
          if (create) continue
          return undefined
        }
        throw e
      }
      await this.evict()
      let released = false
      return {
        fh,
        release: async () => {
          if (released) return
          released = true
          current.users--
          if (current.retired && current.users === 0) await fh.close()
        }
      }
    }
  }

  /**
   * `acquire`, but never a handle to a file no longer at `file` (another process deleted or replaced it since the
   * handle was opened): one `stat` of the path is compared with the handle's identity (read once when it was
   * opened), and a stale handle is retired. Returns the file's size from that `stat` as well.
   */
  async acquireCurrent(
    file: string,
    create: boolean
  ): Promise<{ readonly fh: FileHandle; readonly size: number; readonly release: () => Promise<void> } | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = await this.acquire(file, create)
      if (lease === undefined) return undefined
      const entry = this.entries.get(file)
      // Synchronous on purpose: a stat is a cached metadata syscall of microseconds, while a round trip through
      // libuv's thread pool costs far more on a loaded machine, on every append and read.
      const held = entry?.identity ?? fstatSync(lease.fh.fd)
      if (entry !== undefined) entry.identity = held
      const current = statIfExists(file)
      if (current !== undefined && current.ino === held.ino && current.dev === held.dev) return { ...lease, size: current.size }
      await lease.release()
      await this.retire(file)
      if (current === undefined && !create) return undefined
    }
    throw new Error(`${file} was replaced three times while it was being opened`)
  }

  /** Forgets `file`'s handle, closing it now or when its last user releases it. */
  async retire(file: string): Promise<void> {
    const entry = this.entries.get(file)
    if (entry === undefined) return
    this.entries.delete(file)
    entry.retired = true
    if (entry.users === 0) await (await entry.handle.catch(() => undefined))?.close()
  }

  async closeAll(): Promise<void> {
    await Promise.all(Array.from(this.entries.keys(), (file) => this.retire(file)))
  }

  private async evict(): Promise<void> {
    for (const file of this.entries.keys()) {
      if (this.entries.size <= this.capacity) return
      await this.retire(file)
    }
  }
}
