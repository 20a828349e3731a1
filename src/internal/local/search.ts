/**
 * `searchMessages` on the local store: the ranked page comes from the text and message indexes (see
 * `searchQueries.ts`), and only the page's lines are read from the logs, the way `loadMessages` reads them, each
 * checked to be the message indexed there. Reads take no lock; a line that moved (a promotion, delete or rebuild
 * meanwhile) starts the search over, and in the end it settles under the write lock.
 */
import { Effect, Either } from "effect"
import type { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { SearchHit, SearchQuery } from "../../WorkstreamStore.js"
import { parseLine, toMessage } from "../jsonl.js"
import { finishPromotions } from "./cleanup.js"
import { db } from "./files.js"
import { readLines } from "./handles.js"
import type { Queries } from "./queries.js"
import type { SearchRow } from "./searchQueries.js"
import type { Local } from "./store.js"

const ATTEMPTS = 3

/** The hits of `rows` (sorted by offset) from their lines, and the rows whose line is no longer the message indexed there. */
const hitsOf = (id: WorkstreamId, rows: ReadonlyArray<SearchRow>, lines: ReadonlyArray<Buffer>) => {
  const hits: Array<readonly [SearchRow, SearchHit]> = []
  const moved: Array<SearchRow> = []
  for (const [k, row] of rows.entries()) {
    const parsed = parseLine(lines[k]!)
    if (Either.isRight(parsed) && (row.message_id === null || parsed.right.id === row.message_id)) {
      hits.push([row, { message: toMessage(parsed.right, id, row.seq), bm25: -row.text_rank }])
    } else moved.push(row)
  }
  return { hits, moved }
}

/** The hits of one workstream's rows, in `rows` order; `undefined` when a line moved (only when not `locked`). */
const readWorkstream = (local: Local, method: string, id: WorkstreamId, rows: ReadonlyArray<SearchRow>, locked: boolean) =>
  Effect.suspend(() => {
    const sorted = [...rows].sort((a, b) => a.byte_offset - b.byte_offset)
    const ranges = sorted.map((r) => ({ offset: r.byte_offset, length: r.byte_length }))
    const file = local.paths.logOf(id)
    // A page holds a line or two per workstream: read from a log the pool holds open, at once, they cost a few
    // microseconds, and a lease around them (a scope, a reference count, a fiber step each) cost ten times that.
    const now = local.handles.readNow(file, ranges)
    if (now !== undefined) return settle(id, hitsOf(id, sorted, now), locked)
    return local.handles.use(method, file, false, (log) =>
      Effect.gen(function*() {
        if (log === undefined) return locked ? [] : undefined
        const read = yield* Effect.either(readLines(method, log, ranges))
        if (Either.isLeft(read)) return locked ? yield* read.left : undefined
        return yield* settle(id, hitsOf(id, sorted, read.right), locked)
      }))
  })

/** A workstream's hits: `undefined` when a line moved and the read was not `locked`, where nothing moves. */
const settle = (id: WorkstreamId, read: ReturnType<typeof hitsOf>, locked: boolean) => {
  if (read.moved.length === 0) return Effect.succeed(read.hits)
  if (!locked) return Effect.succeed(undefined)
  // Under the lock nothing moves: the log was edited in place, which only a full rebuild repairs.
  return Effect.as(
    Effect.forEach(read.moved, (row) =>
      Effect.logWarning("skipped an indexed line that is no longer the message indexed there; run rebuildIndex")
        .pipe(Effect.annotateLogs({ workstream: id, seq: row.seq, offset: row.byte_offset })), { discard: true }),
    read.hits
  )
}

/** The page's hits in rank order; `undefined` when a line moved. */
const readPage = (local: Local, method: string, queries: Queries, q: SearchQuery, locked: boolean) =>
  Effect.gen(function*() {
    const rows = yield* db(method)(queries.search(q))
    const byWorkstream = new Map<WorkstreamId, Array<SearchRow>>()
    for (const row of rows) {
      const list = byWorkstream.get(row.workstream_id)
      if (list === undefined) byWorkstream.set(row.workstream_id, [row])
      else list.push(row)
    }
    const found = new Map<SearchRow, SearchHit>()
    for (const [id, group] of byWorkstream) {
      const read = yield* readWorkstream(local, method, id, group, locked)
      if (read === undefined) return undefined
      for (const [row, hit] of read) found.set(row, hit)
    }
    return rows.flatMap((row) => {
      const hit = found.get(row)
      return hit === undefined ? [] : [hit]
    })
  })

/** `searchMessages`: read without the lock while lines stay put, otherwise under it. */
export const search = (local: Local, method: string, q: SearchQuery): Effect.Effect<ReadonlyArray<SearchHit>, StorageError> =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const page = yield* readPage(local, method, local.r, q, false)
      if (page !== undefined) return page
    }
    // Under the lock, a fork or promotion committed by a process that died before installing its log is finished
    // first, as any reader of that workstream would.
    return yield* local.writer.exclusive(
      method,
      Effect.zipRight(finishPromotions(local, method, {}), Effect.map(readPage(local, method, local.q, q, true), (page) => page ?? []))
    )
  })
