/**
 * An append: the batch encoded in the original's line format, written at the indexed end with one positioned
 * write and one fsync, then indexed in one statement (whose trigger moves the counters). A failure at any point
 * cuts the log back to where the index ends, so the two never disagree for long.
 */
import * as fs from "node:fs/promises"
import { Effect } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import type { Message } from "../../Workstream.js"
import type { AppendRequest } from "../../WorkstreamStore.js"
import { encodeMessage } from "../jsonl.js"
import { fsyncDir } from "../logfile.js"
import { db, io } from "./files.js"
import { INSERT_CHUNK } from "./queries.js"
import type { IndexEntry, LogState } from "./schema.js"
import { lockedState } from "./state.js"
import type { Local } from "./store.js"

/** The batch as bytes and index entries, starting at byte `start`. */
const encode = (messages: ReadonlyArray<Message>, start: number) => {
  const encoded = messages.map(encodeMessage)
  const entries: Array<IndexEntry> = []
  let offset = start
  for (const [i, m] of messages.entries()) {
    const length = Buffer.byteLength(encoded[i]!, "utf8") - 1
    entries.push({ seq: m.seq, offset, length, timestampMs: m.timestamp.epochMillis, sessionId: m.sessionId ?? null })
    offset += length + 1
  }
  return { bytes: Buffer.from(encoded.join(""), "utf8"), entries, end: offset }
}

/** One positioned write at `start` and one fsync; a partial write is cut back so the log ends where the index does. */
const writeAt = (local: Local, method: string, id: WorkstreamId, bytes: Buffer, start: number) =>
  io(method, async () => {
    const { dirOf, logOf, logsDir } = local.paths
    if (start === 0) await fs.mkdir(dirOf(id), { recursive: true })
    const lease = (await local.pool.acquire(logOf(id), true))!
    try {
      let written = 0
      try {
        while (written < bytes.length) {
          written += (await lease.fh.write(bytes, written, bytes.length - written, start + written)).bytesWritten
        }
        await lease.fh.sync()
      } catch (e) {
        await lease.fh.truncate(start).catch(() => undefined)
        throw e
      }
    } finally {
      await lease.release()
    }
    if (start === 0) {
      await fsyncDir(dirOf(id))
      await fsyncDir(logsDir)
    }
  })

const cutBack = (local: Local, method: string, id: WorkstreamId, start: number) =>
  Effect.ignore(io(method, async () => {
    const lease = await local.pool.acquire(local.paths.logOf(id), false)
    if (lease === undefined) return
    try {
      await lease.fh.truncate(start)
      await lease.fh.sync()
    } finally {
      await lease.release()
    }
  }))

/** Appends the batch; call with the workstream's lock held. NotFound when the workstream does not exist. */
export const appendLocked = (local: Local, method: string, id: WorkstreamId, request: AppendRequest) =>
  Effect.gen(function*() {
    const state = yield* lockedState(local, method, id)
    const messages = request.seal(state.message_count + 1)
    const { bytes, end, entries } = encode(messages, state.log_bytes)
    const forget = Effect.sync(() => local.states.delete(id))
    yield* writeAt(local, method, id, bytes, state.log_bytes).pipe(Effect.tapError(() => forget))
    const last = messages[messages.length - 1]!
    // A single statement is atomic on its own (see the 0002 trigger), so no transaction is needed.
    const index = entries.length <= INSERT_CHUNK
      ? local.q.insertIndex(state.key, entries, request.now.epochMillis)
      : local.sql.withTransaction(local.q.insertIndex(state.key, entries, request.now.epochMillis))
    yield* db(method)(index).pipe(Effect.tapError(() => Effect.zipRight(forget, cutBack(local, method, id, state.log_bytes))))
    const next: LogState = {
      key: state.key,
      message_count: last.seq,
      log_bytes: end,
      log_lines: state.log_lines + messages.length,
      last_message_at: last.timestamp.epochMillis
    }
    local.states.set(id, next)
    return messages
  })
