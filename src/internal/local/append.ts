/**
 * An append, under the write lock: the log state read (and caught up) inside the lock, the batch's ids checked
 * against the workstream's, the batch encoded in the original's line format and written at the indexed end with
 * one positioned write and one fsync, then indexed in one statement (whose trigger moves the counters) committed
 * with the lock's transaction. A failure at any point cuts the log back to where the index ends.
 */
import * as fs from "node:fs/promises"
import { Effect, Option } from "effect"
import { MessageId } from "../../Ids.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Message } from "../../Workstream.js"
import type { AppendRequest } from "../../WorkstreamStore.js"
import { encodeMessage } from "../jsonl.js"
import { fsyncDir } from "../logfile.js"
import { db, io } from "./files.js"
import type { IndexEntry } from "./schema.js"
import { settledState } from "./state.js"
import type { Local } from "./store.js"

/** The batch as bytes and index entries, starting at byte `start`. */
const encode = (messages: ReadonlyArray<Message>, start: number) => {
  const encoded = messages.map(encodeMessage)
  const entries: Array<IndexEntry> = []
  let offset = start
  for (const [i, m] of messages.entries()) {
    const length = Buffer.byteLength(encoded[i]!, "utf8") - 1
    entries.push({ id: m.id, seq: m.seq, offset, length, timestampMs: m.timestamp.epochMillis, sessionId: m.sessionId ?? null })
    offset += length + 1
  }
  return { bytes: Buffer.from(encoded.join(""), "utf8"), entries }
}

/** One positioned write at `start` and one fsync; a partial write is cut back so the log ends where the index does. */
const writeAt = (local: Local, method: string, id: WorkstreamId, bytes: Buffer, start: number) =>
  io(method, async () => {
    const { dirOf, logOf, logsDir } = local.paths
    if (start === 0) await fs.mkdir(dirOf(id), { recursive: true })
    const lease = (await local.pool.acquireCurrent(logOf(id), true))!
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
    const lease = await local.pool.acquireCurrent(local.paths.logOf(id), false)
    if (lease === undefined) return
    try {
      await lease.fh.truncate(start)
      await lease.fh.sync()
    } finally {
      await lease.release()
    }
  }))

/** Appends the batch; call under the write lock. NotFound when the workstream does not exist. */
export const appendLocked = (local: Local, method: string, id: WorkstreamId, request: AppendRequest) =>
  Effect.gen(function*() {
    const state = yield* settledState(local, method, id)
    const taken = yield* db(method)(local.q.taken(state.key, request.ids))
    if (Option.isSome(taken)) return { _tag: "DuplicateId", id: MessageId.make(taken.value) } as const
    const messages = request.seal(state.message_count + 1)
    const { bytes, entries } = encode(messages, state.log_bytes)
    yield* writeAt(local, method, id, bytes, state.log_bytes)
    // A single statement is atomic on its own (see the 0002 trigger); large batches take several, inside the
    // write lock's transaction all the same.
    yield* db(method)(local.q.insertIndex(state.key, entries, request.now.epochMillis)).pipe(
      Effect.tapError(() => cutBack(local, method, id, state.log_bytes))
    )
    return { _tag: "Appended", messages } as const
  })
