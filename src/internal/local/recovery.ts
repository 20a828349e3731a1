/**
 * Crash recovery when the store opens, under the write lock (so no other process is mid-write): committed
 * promotions are finished and unclaimed staging directories removed, interrupted deletes finished, workstreams the
 * index does not know adopted from their record files, prunes cut short settled, and every index whose counters
 * or byte length disagree with its log is caught up or rebuilt.
 */
import * as fs from "node:fs/promises"
import { DateTime, Effect, Option, Schema } from "effect"
import { WorkstreamId } from "../../Ids.js"
import { Workstream } from "../../Workstream.js"
import { sizeOf } from "../logfile.js"
import { finishDeletion, finishPromotions, sweepStaging } from "./cleanup.js"
import { db, io } from "./files.js"
import { finishPrune, reconcile } from "./reconcile.js"
import { readRecord } from "./record.js"
import type { Local } from "./store.js"

const isWorkstreamId = Schema.is(WorkstreamId)

/**
 * Indexes every workstream directory the index does not know but whose record file names this store's prefix (its
 * `workstreams.db` was lost, replaced or restored from an older copy): the record from the file, the messages from
 * the log. A log without a record file is reported and left for `create` with its id, which adopts it.
 */
const adoptOrphans = (local: Local, method: string) =>
  Effect.gen(function*() {
    const known = new Set<string>((yield* db(method)(local.q.openChecks)).map((c) => c.id))
    const entries = yield* io(method, () => fs.readdir(local.paths.logsDir, { withFileTypes: true }))
    const found: Array<Workstream> = []
    for (const entry of entries) {
      if (!entry.isDirectory() || known.has(entry.name) || !isWorkstreamId(entry.name)) continue
      const id = entry.name
      const record = yield* readRecord(method, local.paths.dirOf(id))
      if (Option.isNone(record)) {
        if ((yield* io(method, () => sizeOf(local.paths.logOf(id)))) > 0) {
          yield* Effect.logWarning("a workstream log has neither an index entry nor a record file; create a workstream with its id to adopt it")
            .pipe(Effect.annotateLogs({ workstream: id }))
        }
        continue
      }
      // Another store sharing the directory under another prefix owns it.
      if (record.value.prefix === local.prefix) found.push(record.value.workstream)
    }
    // A branch after the workstream it shares messages with, whose index tells its base's counters.
    const waiting = new Set(found.map((ws) => ws.id))
    const ready = (ws: Workstream) => ws.forkedFrom?.shared !== true || !waiting.has(ws.forkedFrom.workstreamId)
    while (waiting.size > 0) {
      const next = found.filter((ws) => waiting.has(ws.id) && ready(ws))
      // A loop of lineages only a damaged directory holds: adopted as they are.
      const batch = next.length > 0 ? next : found.filter((ws) => waiting.has(ws.id))
      for (const ws of batch) {
        waiting.delete(ws.id)
        yield* adopt(local, method, ws)
      }
    }
  })

/** Indexes one workstream from its record file and log. */
const adopt = (local: Local, method: string, ws: Workstream) =>
  Effect.gen(function*() {
    const id = ws.id
    yield* db(method)(local.q.insertWorkstream(ws))
    const report = yield* Effect.catchTag(reconcile(local, method, id, true), "NotFound", () => Effect.succeed(undefined))
    const indexed = yield* db(method)(local.q.row(id))
    // Appends move `updatedAt` without rewriting the record file: the log's last message says how far.
    const last = Option.flatMap(indexed, (r) => Option.fromNullable(r.workstream.lastMessageAt))
    if (Option.isSome(indexed) && Option.isSome(last) && DateTime.greaterThan(last.value, ws.updatedAt)) {
      yield* db(method)(local.q.updateMetadata(indexed.value.key, new Workstream({ ...ws, updatedAt: last.value })))
    }
    yield* Effect.logWarning("adopted a workstream the index did not know, from its record file and log")
      .pipe(Effect.annotateLogs({ workstream: id, messages: report?.indexed ?? 0 }))
  })

export const recoverOnOpen = (local: Local, method: string) =>
  local.writer.exclusive(
    method,
    Effect.gen(function*() {
      yield* finishPromotions(local, method, {})
      yield* sweepStaging(local, method)
      const deletions = yield* db(method)(local.q.deletions)
      yield* Effect.forEach(deletions, (d) => finishDeletion(local, method, d.workstream_id), { discard: true })
      yield* adoptOrphans(local, method)
      for (const ws of yield* db(method)(local.q.openChecks)) {
        // A prune cut short: rolled back or forward before the index is checked against the log.
        yield* finishPrune(local, method, ws.id)
        const lost = (ws.max_seq ?? 0) !== ws.message_count
        if (lost) {
          yield* Effect.logWarning("workstream index does not match its counters; rebuilding it from the log")
            .pipe(Effect.annotateLogs({ workstream: ws.id }))
        }
        const size = yield* io(method, () => sizeOf(local.paths.logOf(ws.id)))
        if (lost || size !== ws.log_bytes) {
          yield* Effect.catchTag(reconcile(local, method, ws.id, lost), "NotFound", () => Effect.void)
        }
      }
    }),
    true
  )
