/**
 * An append, under the write lock: the log state read (and caught up) inside the lock, the batch's ids checked
 * against the workstream's, the batch encoded in the original's line format and written at the indexed end with
 * one positioned write and one fsync, then indexed in one statement (whose trigger moves the counters) committed
 * with the lock's transaction. A failure at any point cuts the log back to where the index ends: reads serve only
 * what is indexed, so an append is visible when, and only when, its commit succeeded.
 */
import { fstatSync, statSync, writeSync } from "node:fs"
import * as fs from "node:fs/promises"
import { Effect, Either, Option, Schema } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import type { Message } from "../../Workstream.js"
import type { NotFound, StorageError } from "../../Errors.js"
import type { AppendRequest, AppendResult } from "../../WorkstreamStore.js"
import { encodeMessage } from "../jsonl.js"
import { fsyncDir, isNotFound } from "../logfile.js"
import { db, io } from "./files.js"
import type { OpenLog } from "./handles.js"
import type { DirectTx } from "./direct.js"
import type { IndexEntry, LogState } from "./schema.js"
import { LogStateRow } from "./schema.js"
import { readIndexed } from "./read.js"
import { reconcile } from "./reconcile.js"
import { requireLogState } from "./state.js"
import type { Local } from "./store.js"
import { DECLINED } from "./writer.js"

/** The batch as bytes and index entries, starting at byte `start`. */
const encode = (messages: ReadonlyArray<Message>, start: number) => {
  const encoded = messages.map(encodeMessage)
  const entries: Array<IndexEntry> = []
  let offset = start
  for (const [i, m] of messages.entries()) {
    const length = Buffer.byteLength(encoded[i]!, "utf8") - 1
    entries.push({
      id: m.id,
      seq: m.seq,
      offset,
      length,
      timestampMs: m.timestamp.epochMillis,
      sessionId: m.sessionId ?? null,
      role: m.role,
      content: m.content
    })
    offset += length + 1
  }
  return { bytes: Buffer.from(encoded.join(""), "utf8"), entries }
}

/**
 * Up to this many bytes are written in the caller's thread: a copy into the page cache of microseconds, where a
 * hop to libuv's thread pool and back costs more than the copy (the fsync that follows always goes there).
 */
const SYNC_WRITE_BYTES = 1 << 20

/** One positioned write at `start` and one fsync; a partial write is cut back so the log ends where the index does. */
const writeBytes = async (log: OpenLog, bytes: Buffer, start: number) => {
  let written = 0
  try {
    while (written < bytes.length) {
      written += bytes.length <= SYNC_WRITE_BYTES
        ? writeSync(log.fh.fd, bytes, written, bytes.length - written, start + written)
        : (await log.fh.write(bytes, written, bytes.length - written, start + written)).bytesWritten
    }
    await log.fh.sync()
  } catch (e) {
    await log.fh.truncate(start).catch(() => undefined)
    throw e
  }
}

/** `writeBytes`, and a new log's directory entries made durable. */
const writeAt = (local: Local, method: string, id: WorkstreamId, log: OpenLog, bytes: Buffer, start: number) =>
  io(method, async () => {
    const { dirOf, logsDir } = local.paths
    await writeBytes(log, bytes, start)
    if (start === 0) {
      await fsyncDir(dirOf(id))
      await fsyncDir(logsDir)
    }
  })

/**
 * Takes back the bytes a failed append wrote from `start` on, under the write lock again: when the index still ends
 * at `start`, whatever lies past it was never acknowledged, and is cut off. When it ends elsewhere, another process
 * took the lock in between (SQLite releases it on a commit refused for a full disk) and indexed those bytes; they
 * stay, as any crash's leftovers would.
 */
const takeBack = (local: Local, method: string, id: WorkstreamId, start: number) =>
  Effect.gen(function*() {
    local.states.delete(id)
    const state = yield* db(method)(local.q.logState(id))
    if (Option.isNone(state) || state.value.log_bytes !== start) return
    yield* local.handles.use(method, local.paths.logOf(id), false, (log) =>
      log === undefined || log.size <= start ? Effect.void : io(method, async () => {
        await log.fh.truncate(start)
        await log.fh.sync()
      }))
  })

/**
 * The log opened for writing and the log state, once the index is level with the log (a crashed writer may have
 * left lines past the indexed end).
 */
const openForAppend = (local: Local, method: string, id: WorkstreamId, use: (log: OpenLog, state: LogState) => Effect.Effect<AppendResult, StorageError>) =>
  Effect.gen(function*() {
    const first = local.states.get(id) ?? (yield* requireLogState(local, method, id))
    if (first.log_bytes === 0) yield* io(method, () => fs.mkdir(local.paths.dirOf(id), { recursive: true }))
    const attempt = (state: LogState, settle: boolean): Effect.Effect<AppendResult, StorageError | NotFound> =>
      local.handles.use(method, local.paths.logOf(id), true, (log) =>
        log!.size === state.log_bytes || !settle ? use(log!, state) : Effect.succeed(undefined)).pipe(
          Effect.flatMap((done) =>
            done !== undefined ? Effect.succeed(done) : Effect.zipRight(
              Effect.zipRight(Effect.sync(() => local.states.delete(id)), reconcile(local, method, id, false)),
              Effect.flatMap(requireLogState(local, method, id), (settled) => attempt(settled, false))
            )
          )
        )
    return yield* attempt(first, true)
  })

const decodeLogState = Schema.decodeUnknownEither(LogStateRow)

/**
 * The common append as one transaction of the direct connection (see `Writer.direct`): the log state read under the
 * lock, the log checked to be the file at its path and to end where the index does, then written, fsynced and
 * indexed. Anything else (a new or missing log, a retry naming ids, a log to settle first) is declined, having
 * written nothing, for the write connection's path to do.
 */
const appendDirect = (local: Local, id: WorkstreamId, request: AppendRequest, log: OpenLog, wrote: (start: number) => void) =>
async (tx: DirectTx): Promise<AppendResult | typeof DECLINED> => {
  if (request.given.length > 0) return DECLINED
  const row = tx.get(local.q.logStateStatement, [id])
  if (row === undefined) return DECLINED
  const decoded = decodeLogState(row)
  if (Either.isLeft(decoded)) throw decoded.left
  const state = decoded.right
  if (state.log_bytes === 0) return DECLINED
  // Synchronous on purpose: cached metadata syscalls of microseconds, cheaper than libuv's thread pool.
  const opened = fstatSync(log.fh.fd)
  const current = statIfExists(local.paths.logOf(id))
  if (current === undefined || current.ino !== opened.ino || current.dev !== opened.dev || opened.size !== state.log_bytes) {
    return DECLINED
  }
  const messages = request.seal(state.message_count + 1)
  const { bytes, entries } = encode(messages, state.log_bytes)
  wrote(state.log_bytes)
  // The log state cache belongs to the write connection's path; this append moves what it would hold.
  local.states.delete(id)
  await writeBytes(log, bytes, state.log_bytes)
  for (const [statement, params] of local.q.indexStatements(state.key, entries, request.now.epochMillis)) tx.run(statement, params)
  return { _tag: "Appended", messages }
}

const statIfExists = (file: string) => {
  try {
    return statSync(file)
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

/**
 * Appends the batch under the write lock; NotFound when the workstream does not exist. A batch whose index
 * statement or commit fails is cut off the log again (see `takeBack`), so no read ever serves it. The common case
 * runs on the direct connection; the rest, and whatever it declines, on the write connection.
 */
export const append = (local: Local, method: string, id: WorkstreamId, request: AppendRequest) => {
  // Where this append's bytes begin once it writes them: what a failure takes back.
  let start: number | undefined
  const undo = Effect.suspend(() => start === undefined ? Effect.void : takeBack(local, method, id, start))
  const direct = local.handles.use(method, local.paths.logOf(id), false, (log) =>
    log === undefined ? Effect.succeed(Option.none<AppendResult>()) : local.writer.direct(method, appendDirect(local, id, request, log, (at) => {
      start = at
    }), undo))
  return Effect.flatMap(direct, (done) => Option.isSome(done) ? Effect.succeed(done.value) : appendLocked(local, method, id, request))
}

/** The append on the write connection, under `Writer.exclusive`. */
const appendLocked = (local: Local, method: string, id: WorkstreamId, request: AppendRequest) => {
  let start: number | undefined
  const locked = openForAppend(local, method, id, (log, state) =>
    Effect.gen(function*() {
      if (request.given.length > 0) {
        yield* db(method)(local.q.indexIds(state.key))
        const taken = yield* db(method)(local.q.taken(state.key, request.given))
        if (taken.length > 0) return { _tag: "Taken", messages: yield* readIndexed(method, id, log, taken) } as const
      }
      const messages = request.seal(state.message_count + 1)
      const { bytes, entries } = encode(messages, state.log_bytes)
      start = state.log_bytes
      yield* writeAt(local, method, id, log, bytes, state.log_bytes)
      // A single statement is atomic on its own (see the 0002 trigger); large batches take several, inside the
      // write lock's transaction all the same.
      yield* db(method)(local.q.insertIndex(state.key, entries, request.now.epochMillis))
      const last = messages[messages.length - 1]!
      // What the 0002 trigger just wrote; if the commit fails, the writer empties the cache.
      local.states.set(id, {
        ...state,
        message_count: last.seq,
        log_bytes: state.log_bytes + bytes.length,
        log_lines: state.log_lines + messages.length,
        last_message_at: last.timestamp.epochMillis
      })
      return { _tag: "Appended", messages } as const
    }))
  const undo = Effect.suspend(() => start === undefined ? Effect.void : takeBack(local, method, id, start))
  return local.writer.exclusive(method, locked, false, undo)
}
