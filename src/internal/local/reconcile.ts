/**
 * Bringing a workstream's index level with its log, the source of truth: lines past the indexed end are parsed and
 * indexed, malformed ones reported and skipped, a torn last line completed (when it is a whole message) or cut off.
 * When the log is shorter than the index, or the bytes the index points at changed, the index is rebuilt from
 * scratch.
 */
import type { FileHandle } from "node:fs/promises"
import { Effect, Either, Option, Stream } from "effect"
import { NotFound } from "../../Errors.js"
import type { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { parseLine } from "../jsonl.js"
import { exists, isBlank, readRanges, scanLines, sizeOf } from "../logfile.js"
import type { RawLine } from "../logfile.js"
import { finishPromotions } from "./cleanup.js"
import { db, io, withFile } from "./files.js"
import type { IndexEntry, LogCounters } from "./schema.js"
import { emptyCounters } from "./base.js"
import { copyOf, markerOf, readMarker, removeFiles } from "./pruneMarker.js"
import { saveRecord } from "./record.js"
import type { Local } from "./store.js"

/** A log line that is not a message: skipped by the index, reported, never fatal. */
export interface MalformedLine {
  /** 1-based physical line number in `messages.jsonl`. */
  readonly lineNumber: number
  /** Byte offset of the line's first byte. */
  readonly offset: number
  readonly reason: string
}

/** What a reconcile found. */
export interface RebuildReport {
  /** Messages now in the index for this workstream. */
  readonly indexed: number
  readonly malformed: ReadonlyArray<MalformedLine>
  /** A torn last line (a write cut short by a crash) that was cut off the log: where it began and its length. */
  readonly repairedTail: Option.Option<{ readonly offset: number; readonly bytes: number }>
}

const FLUSH_EVERY = 20_000

/** Whether the log still ends a line where the index ends, and the last indexed line still parses. */
const tailIntact = (local: Local, method: string, id: WorkstreamId, key: number, indexedBytes: number) =>
  Effect.gen(function*() {
    const last = yield* db(method)(local.q.lastIndexed(key))
    return yield* withFile(method, local.paths.logOf(id), "r", (fh) =>
      io(method, async () => {
        if (fh === undefined) return false
        const [newline] = await readRanges(fh, [{ offset: indexedBytes - 1, length: 1 }])
        if (newline?.[0] !== 0x0a) return false
        if (Option.isNone(last)) return true
        const [line] = await readRanges(fh, [{ offset: last.value.byte_offset, length: last.value.byte_length }])
        return line !== undefined && Either.isRight(parseLine(line))
      }))
  })

/** Why the index cannot be extended and must be rebuilt from the first line, if it must. */
const rebuildReason = (local: Local, method: string, id: WorkstreamId, key: number, size: number, indexed: number) =>
  Effect.gen(function*() {
    if (size < indexed) return Option.some("workstream log is shorter than its index; rebuilding the index")
    if (size > indexed && indexed > 0 && !(yield* tailIntact(local, method, id, key, indexed))) {
      // The bytes the index points at changed (the log was edited or replaced): only a full pass is trustworthy.
      return Option.some("workstream log no longer matches its index; rebuilding the index")
    }
    return Option.none<string>()
  })

/**
 * Brings the index of `id` level with its log (from scratch when `full`). Call under the write lock: no other
 * connection then writes a log, so bytes past the indexed end are a crash's leftovers, never a write in flight.
 */
export const reconcile = (
  local: Local,
  method: string,
  id: WorkstreamId,
  full: boolean
): Effect.Effect<RebuildReport, NotFound | StorageError> =>
  Effect.zipRight(finishPrune(local, method, id), reconcileIndex(local, method, id, full))

/** `reconcile` without settling a prune first. */
const reconcileIndex = (
  local: Local,
  method: string,
  id: WorkstreamId,
  full: boolean
): Effect.Effect<RebuildReport, NotFound | StorageError> =>
  Effect.gen(function*() {
      local.states.delete(id)
      yield* finishPromotions(local, method, { id })
      const found = yield* db(method)(local.q.logState(id))
      if (Option.isNone(found)) return yield* new NotFound({ entity: "workstream", id })
      const key = found.value.key
      let counters: LogCounters = found.value
      const size = yield* io(method, () => sizeOf(local.paths.logOf(id)))
      const reason = full ? Option.none<string>() : yield* rebuildReason(local, method, id, key, size, counters.log_bytes)
      if (Option.isSome(reason)) {
        yield* Effect.logWarning(reason.value)
          .pipe(Effect.annotateLogs({ workstream: id, logBytes: size, indexedBytes: counters.log_bytes }))
      }
      if (full || Option.isSome(reason)) {
        // A branch's log starts after its fork point: its first line is message base + 1.
        counters = yield* emptyCounters(local, method, found.value)
        yield* db(method)(local.sql.withTransaction(Effect.zipRight(local.q.clearIndex(key), local.q.setCounters(key, counters))))
      }
      if (size === counters.log_bytes) {
        return { indexed: counters.message_count, malformed: [], repairedTail: Option.none() }
      }
      return yield* withFile(method, local.paths.logOf(id), "r+", (fh) =>
        fh === undefined
          ? Effect.succeed<RebuildReport>({ indexed: counters.message_count, malformed: [], repairedTail: Option.none() })
          : indexTail(local, method, id, key, fh, counters, size))
    })

/**
 * Settles what a prune of `id` left behind; under the write lock. Without a marker, a stray copy goes. With one: a
 * copy still there means the rename never happened (both go, the marker first: the log is whole); otherwise the log starts after the
 * marker's seq, and unless a commit says so already, the index is rebuilt from the log at that start. The marker
 * goes only once the read connection sees that commit.
 */
export const finishPrune = (local: Local, method: string, id: WorkstreamId): Effect.Effect<void, StorageError> =>
  Effect.gen(function*() {
    const marker = yield* readMarker(method, markerOf(local.paths, id))
    const copy = copyOf(local.paths, id)
    const copied = yield* io(method, () => exists(copy))
    const dir = local.paths.dirOf(id)
    if (Option.isNone(marker)) {
      if (copied) yield* removeFiles(method, dir, [copy])
      return
    }
    const state = yield* db(method)(local.q.logState(id))
    if (Option.isNone(state) || copied) return yield* removeFiles(method, dir, [markerOf(local.paths, id), copy])
    local.states.delete(id)
    const committed = yield* db(method)(local.r.logState(id))
    if (Option.isSome(committed) && committed.value.pruned_through >= marker.value) {
      return yield* removeFiles(method, dir, [markerOf(local.paths, id)])
    }
    if (state.value.pruned_through >= marker.value) return
    yield* Effect.logWarning("a prune was cut short after its log was rewritten; rebuilding the index from the log")
      .pipe(Effect.annotateLogs({ workstream: id, prunedThrough: marker.value }))
    yield* db(method)(local.q.setPrunedThrough(state.value.key, marker.value))
    yield* Effect.catchTag(reconcileIndex(local, method, id, true), "NotFound", () => Effect.void)
    yield* saveFromIndex(local, method, id)
  })

/** Rewrites the record file from the index. */
export const saveFromIndex = (local: Local, method: string, id: WorkstreamId) =>
  Effect.flatMap(db(method)(local.q.workstream(id)), Option.match({
    onNone: () => Effect.void,
    onSome: (ws) => saveRecord(local, method, ws)
  }))

/** What `indexTail` carries from line to line. */
interface Progress {
  counters: LogCounters
  pending: Array<IndexEntry>
  readonly malformed: Array<MalformedLine>
  repairedTail: RebuildReport["repairedTail"]
}

/** Indexes the lines of `fh` from the indexed end to `size`, committing every `FLUSH_EVERY` lines. */
const indexTail = (
  local: Local,
  method: string,
  id: WorkstreamId,
  key: number,
  fh: FileHandle,
  start: LogCounters,
  size: number
) =>
  Effect.gen(function*() {
    const p: Progress = { counters: start, pending: [], malformed: [], repairedTail: Option.none() }
    const flush = Effect.suspend(() => {
      const batch = p.pending
      p.pending = []
      return db(method)(local.sql.withTransaction(Effect.zipRight(local.q.insertIndex(key, batch), local.q.setCounters(key, p.counters))))
    })
    yield* Stream.runForEach(scanLines(method, fh, start.log_bytes, size), ({ lines }) =>
      Effect.gen(function*() {
        for (const line of lines) {
          const rare = indexLine(method, id, fh, line, p)
          if (rare !== undefined) yield* rare
        }
        if (p.pending.length >= FLUSH_EVERY) yield* flush
      }))
    yield* flush
    return { indexed: p.counters.message_count, malformed: p.malformed, repairedTail: p.repairedTail }
  })

/**
 * Adds one physical line to `p`: indexed, skipped as blank, reported as malformed, or repaired as a torn tail.
 * Synchronous for the common case (a rebuild visits every line); returns the Effect a rare case still has to run.
 */
const indexLine = (
  method: string,
  id: WorkstreamId,
  fh: FileHandle,
  line: RawLine,
  p: Progress
): Effect.Effect<void, StorageError> | undefined => {
  const parsed = line.terminated ? undefined : parseLine(line.bytes)
  if (parsed !== undefined && Either.isLeft(parsed)) return cutTornTail(method, id, fh, line, p)
  const s = p.counters
  const lineNumber = s.log_lines + 1
  const next = line.offset + line.bytes.length + 1
  // The whole message made it to disk, only its newline did not: keep it.
  const completed = line.terminated ? undefined : io(method, async () => {
    await fh.write(Buffer.from("\n"), 0, 1, line.offset + line.bytes.length)
    await fh.sync()
  })
  if (isBlank(line.bytes)) {
    p.counters = { ...s, log_lines: lineNumber, log_bytes: next }
    return completed
  }
  const result = parsed ?? parseLine(line.bytes)
  if (Either.isLeft(result)) {
    p.malformed.push({ lineNumber, offset: line.offset, reason: result.left })
    p.counters = { ...s, log_lines: lineNumber, log_bytes: next }
    return Effect.logWarning("skipped a malformed line in a workstream log")
      .pipe(Effect.annotateLogs({ workstream: id, lineNumber, offset: line.offset, reason: result.left }))
  }
  const seq = s.message_count + 1
  p.pending.push({
    seq,
    offset: line.offset,
    length: line.bytes.length,
    timestampMs: result.right.timestampMs,
    sessionId: result.right.sessionId ?? null,
    id: result.right.id,
    role: result.right.role,
    content: result.right.content
  })
  p.counters = { message_count: seq, log_bytes: next, log_lines: lineNumber, last_message_at: result.right.timestampMs }
  return completed
}

/** Cuts an unterminated last line that is not a whole message off the log. */
const cutTornTail = (method: string, id: WorkstreamId, fh: FileHandle, line: RawLine, p: Progress) =>
  Effect.gen(function*() {
    yield* io(method, async () => {
      await fh.truncate(line.offset)
      await fh.sync()
    })
    p.repairedTail = Option.some({ offset: line.offset, bytes: line.bytes.length })
    yield* Effect.logWarning("removed a torn last line from a workstream log (a write cut short by a crash)")
      .pipe(Effect.annotateLogs({ workstream: id, offset: line.offset, bytes: line.bytes.length }))
  })
