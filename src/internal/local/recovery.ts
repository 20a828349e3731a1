/**
 * Crash recovery when the store opens, under the write lock (so no other process is mid-write): committed
 * promotions are finished and unclaimed staging directories removed, interrupted deletes finished, logs the index
 * does not know adopted, and every index whose counters or byte length disagree with its log is caught up or
 * rebuilt.
 */
import * as fs from "node:fs/promises"
import { DateTime, Effect, Option, Schema } from "effect"
import { WorkstreamId } from "../../Ids.js"
import { Workstream } from "../../Workstream.js"
import { sizeOf } from "../logfile.js"
import { finishDeletion, finishPromotions, sweepStaging } from "./cleanup.js"
import { db, io } from "./files.js"
import { reconcile } from "./reconcile.js"
import { placeholderRecord, readRecordIn, saveRecordIn } from "./record.js"
import type { Local } from "./store.js"

const isWorkstreamId = Schema.is(WorkstreamId)

/** Marks a directory whose workstreams all have their record file (written once, for stores made before them). */
const RECORDS_MARKER = ".records"

/**
 * Writes the record file of every indexed workstream, once per directory: a store made before record files
 * existed gets them all on its first open, and is rebuildable from its directory from then on.
 */
const backfillRecords = (local: Local, method: string) =>
  Effect.gen(function*() {
    const marker = `${local.paths.logsDir}/${RECORDS_MARKER}`
    if ((yield* io(method, () => fs.stat(marker).then(() => true, () => false)))) return
    for (const check of yield* db(method)(local.q.openChecks)) {
      const found = yield* db(method)(local.q.workstream(check.id))
      if (Option.isSome(found)) yield* saveRecordIn(method, local.paths.dirOf(check.id), found.value)
    }
    yield* io(method, () => fs.writeFile(marker, ""))
  })

/**
 * Indexes every workstream directory the index does not know (its `workstreams.db` was lost, replaced or restored
 * from an older copy): the record from its file, or a placeholder when it has none, and the messages from its log.
 */
const adoptOrphans = (local: Local, method: string) =>
  Effect.gen(function*() {
    const known = new Set<string>((yield* db(method)(local.q.openChecks)).map((c) => c.id))
    const entries = yield* io(method, () => fs.readdir(local.paths.logsDir, { withFileTypes: true }))
    for (const entry of entries) {
      if (!entry.isDirectory() || known.has(entry.name) || !isWorkstreamId(entry.name)) continue
      const id = entry.name
      const dir = local.paths.dirOf(id)
      const record = yield* readRecordIn(method, dir)
      const hasLog = (yield* io(method, () => sizeOf(local.paths.logOf(id)))) > 0
      if (Option.isNone(record) && !hasLog) continue
      const now = yield* DateTime.now
      yield* db(method)(local.q.insertWorkstream(Option.getOrElse(record, () => placeholderRecord(id, now))))
      const report = yield* Effect.catchTag(reconcile(local, method, id, true), "NotFound", () => Effect.succeed(undefined))
      const indexed = yield* db(method)(local.q.row(id))
      if (Option.isSome(indexed)) {
        // Appends move `updatedAt` without rewriting the record file: the log's last message says how far. A
        // placeholder is dated by that message too, as nothing better is known.
        const last = indexed.value.workstream.lastMessageAt
        const base = Option.getOrElse(record, () => placeholderRecord(id, last ?? now))
        const updatedAt = last !== undefined && DateTime.greaterThan(last, base.updatedAt) ? last : base.updatedAt
        const ws = new Workstream({ ...base, updatedAt })
        yield* db(method)(local.q.updateMetadata(indexed.value.key, ws))
        if (Option.isNone(record)) yield* saveRecordIn(method, dir, ws)
      }
      yield* Effect.logWarning(
        Option.isSome(record)
          ? "adopted a workstream the index did not know, with its record file"
          : "adopted a workstream log the index did not know; it has no record file, so it gets a placeholder title"
      ).pipe(Effect.annotateLogs({ workstream: id, messages: report?.indexed ?? 0 }))
    }
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
      yield* backfillRecords(local, method)
      for (const ws of yield* db(method)(local.q.openChecks)) {
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
