/**
 * Reads: the index finds the matching lines, one positioned read per run of nearby lines fetches them, and each is
 * parsed by the log codec and checked to be the message the index names. Reads take no lock: they see the index as
 * of one committed write (a batch is in the index whole or not at all), and since the bytes of committed lines
 * never change in place, a line that does not match means a promotion, delete or rebuild moved the log meanwhile;
 * the read then starts over, and in the end reads under the write lock. Reads serve the index only and never settle
 * the log: lines past the indexed end are left to writers.
 */
import { Effect, Either, Option } from "effect"
import type { StorageError } from "../../Errors.js"
import type { NotFound } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Message } from "../../Workstream.js"
import type { LoadedLog, LoadQuery } from "../../WorkstreamStore.js"
import { parseLine, toMessage } from "../jsonl.js"
import { db } from "./files.js"
import { readLines } from "./handles.js"
import type { OpenLog } from "./handles.js"
import type { Queries } from "./queries.js"
import { finishPromotions } from "./cleanup.js"
import { finishPrune } from "./reconcile.js"
import type { IndexRow } from "./schema.js"
import { requireLogState } from "./state.js"
import type { Local } from "./store.js"

type Read =
  /** Every line matched: the messages, and where a branch's earlier messages live. */
  | { readonly _tag: "Read"; readonly log: LoadedLog }
  /** The log is shorter than the index, or a line is not the message indexed there. */
  | { readonly _tag: "Moved" }

const MOVED: Read = { _tag: "Moved" }
const ATTEMPTS = 3

/** The messages of `rows`; `None` at the first line that is not the message indexed there (unless `lenient`). */
const decodeRows = (id: WorkstreamId, rows: ReadonlyArray<IndexRow>, buffers: ReadonlyArray<Buffer>, lenient: boolean) =>
  Effect.gen(function*() {
    const out: Array<Message> = []
    for (const [i, row] of rows.entries()) {
      const parsed = parseLine(buffers[i]!)
      const matches = Either.isRight(parsed) && (row.message_id === null || parsed.right.id === row.message_id)
      if (Either.isRight(parsed) && matches) out.push(toMessage(parsed.right, id, row.seq))
      else if (!lenient) return Option.none<ReadonlyArray<Message>>()
      else {
        // Under the lock nothing moves: the log was edited in place, which only a full rebuild repairs.
        yield* Effect.logWarning("skipped an indexed line that is no longer the message indexed there; run rebuildIndex")
          .pipe(Effect.annotateLogs({ workstream: id, seq: row.seq, offset: row.byte_offset }))
      }
    }
    return Option.some<ReadonlyArray<Message>>(out)
  })

/** The messages of `rows` in `log`, read under the write lock (where nothing moves). */
export const readIndexed = (method: string, id: WorkstreamId, log: OpenLog, rows: ReadonlyArray<IndexRow>) =>
  Effect.gen(function*() {
    const buffers = yield* readLines(method, log, rows.map((r) => ({ offset: r.byte_offset, length: r.byte_length })))
    return Option.getOrElse(yield* decodeRows(id, rows, buffers, true), () => [])
  })

/** One read through `queries` (the read connection, or the write connection under the lock when `locked`). */
const readOnce = (local: Local, method: string, id: WorkstreamId, query: LoadQuery, queries: Queries, locked: boolean) =>
  Effect.gen(function*() {
    const state = yield* requireLogState(local, method, id, queries)
    const inherits = state.inherits_from === null ? undefined : { workstreamId: state.inherits_from, seq: state.fork_seq }
    const readOf = (messages: ReadonlyArray<Message>): Read => ({ _tag: "Read", log: { messages, inherits } })
    return yield* local.handles.use(method, local.paths.logOf(id), false, (log) =>
      Effect.gen(function*() {
        const size = log?.size ?? 0
        if (size < state.log_bytes && !locked) return MOVED
        if (log === undefined || state.message_count === state.base) return readOf([])
        const found = yield* db(method)(queries.indexRows({ key: state.key, query }))
        const ordered = query.limit === undefined ? found : [...found].reverse()
        // Under the lock nothing moves: a log shorter than its index was cut outside the store. The lines it still
        // holds are served; only a rebuild (on open, or rebuildIndex) can repair the rest.
        const rows = size < state.log_bytes ? ordered.filter((r) => r.byte_offset + r.byte_length <= size) : ordered
        if (rows.length < ordered.length) {
          yield* Effect.logWarning("a workstream log is shorter than its index; run rebuildIndex")
            .pipe(Effect.annotateLogs({ workstream: id, logBytes: size, indexedBytes: state.log_bytes }))
        }
        const read = yield* Effect.either(readLines(method, log, rows.map((r) => ({ offset: r.byte_offset, length: r.byte_length }))))
        if (Either.isLeft(read)) return locked ? yield* read.left : MOVED
        const messages = yield* decodeRows(id, rows, read.right, locked)
        return Option.match(messages, {
          onNone: (): Read => MOVED,
          onSome: readOf
        })
      }))
  })

/**
 * The read under the write lock, where nothing moves; what it finds is final. A promotion or fork another writer
 * committed but has not yet moved into place is finished first, as every writer would.
 */
const settledRead = (local: Local, method: string, id: WorkstreamId, query: LoadQuery) =>
  local.writer.exclusive(
    method,
    Effect.gen(function*() {
      yield* finishPromotions(local, method, { id })
      yield* finishPrune(local, method, id)
      const read = yield* readOnce(local, method, id, query, local.q, true)
      return read._tag === "Read" ? read.log : { messages: [], inherits: undefined }
    })
  )

/**
 * `loadMessages`: what the index holds, never more. Lines past the indexed end are an append in flight, one that
 * failed, or a crash's leftovers; none of them was acknowledged, so reads leave them to the next writer (the next
 * append to the workstream, or the next open), and never write to settle them.
 */
export const load = (
  local: Local,
  method: string,
  id: WorkstreamId,
  query: LoadQuery
): Effect.Effect<LoadedLog, NotFound | StorageError> =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const read = yield* readOnce(local, method, id, query, local.r, false)
      if (read._tag === "Read") return read.log
    }
    return yield* settledRead(local, method, id, query)
  })
