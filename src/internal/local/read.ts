/**
 * Reads: the index finds the matching lines, one positioned read per run of nearby lines fetches them, and each is
 * parsed by the log codec. A read trusts the index only when the log is exactly as long as the index says.
 */
import { Effect, Either, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Message } from "../../Workstream.js"
import type { LoadQuery } from "../../WorkstreamStore.js"
import { parseLine, toMessage } from "../jsonl.js"
import { readRanges } from "../logfile.js"
import { db, io, withPooled } from "./files.js"
import { reconcile } from "./reconcile.js"
import type { IndexRow, LogState } from "./schema.js"
import { currentState, lockedState } from "./state.js"
import type { Local } from "./store.js"

/** The messages of `rows`; a line that no longer parses is skipped with a warning (rebuildIndex repairs it). */
const decodeRows = (id: WorkstreamId, rows: ReadonlyArray<IndexRow>, buffers: ReadonlyArray<Buffer>) =>
  Effect.gen(function*() {
    const out: Array<Message> = []
    for (const [i, row] of rows.entries()) {
      const parsed = parseLine(buffers[i]!)
      if (Either.isRight(parsed)) out.push(toMessage(parsed.right, id, row.seq))
      else {
        yield* Effect.logWarning("skipped an indexed line that no longer parses; run rebuildIndex")
          .pipe(Effect.annotateLogs({ workstream: id, seq: row.seq, offset: row.byte_offset, reason: parsed.left }))
      }
    }
    return out
  })

/**
 * The matching messages when the log is exactly as long as the index says; `None` when it is not. Without the lock
 * (`unlocked`), a read that fails is also `None`: a promotion or delete may have cut the log between the size
 * check and the read, and the caller retries under the lock, where a failure is real.
 */
const readIndexed = (local: Local, method: string, id: WorkstreamId, state: LogState, query: LoadQuery, unlocked: boolean) =>
  withPooled(local.pool, method, local.paths.logOf(id), false, (fh) =>
    Effect.gen(function*() {
      const size = fh === undefined ? 0 : (yield* io(method, () => fh.stat())).size
      if (size !== state.log_bytes) return Option.none<ReadonlyArray<Message>>()
      if (fh === undefined) return Option.some<ReadonlyArray<Message>>([])
      const found = yield* db(method)(local.q.indexRows({ key: state.key, query }))
      const rows = query.limit === undefined ? found : [...found].reverse()
      const read = yield* Effect.either(io(method, () =>
        readRanges(fh, rows.map((r) => ({ offset: r.byte_offset, length: r.byte_length })))))
      if (Either.isLeft(read)) {
        if (unlocked) return Option.none<ReadonlyArray<Message>>()
        return yield* read.left
      }
      return Option.some<ReadonlyArray<Message>>(yield* decodeRows(id, rows, read.right))
    }))

/** `loadMessages`: the fast path without the lock, and the settled one under it when the log and index disagree. */
export const load = (local: Local, method: string, id: WorkstreamId, query: LoadQuery) =>
  Effect.gen(function*() {
    const fast = yield* readIndexed(local, method, id, yield* currentState(local, method, id), query, true)
    if (Option.isSome(fast)) return fast.value
    // The log and the index disagree (an append in flight, or a crash left a tail): settle it under the lock.
    return yield* local.locks.withLock(id)(Effect.gen(function*() {
      yield* reconcile(local, method, id, false)
      const settled = yield* readIndexed(local, method, id, yield* lockedState(local, method, id), query, false)
      if (Option.isSome(settled)) return settled.value
      return yield* new StorageError({ method, cause: new Error(`the log of ${id} changed while it was being read`) })
    }))
  })
