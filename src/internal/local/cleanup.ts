/**
 * Finishing the multi-step operations a crash can interrupt, always under the write lock: a promotion committed
 * in SQLite whose target log is still in its staging directory or whose source log is not yet emptied; a staging
 * directory no commit claims (the crash came first: removed); a delete whose log directory may remain.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import { exists, fsyncDir } from "../logfile.js"
import { db, io, STAGING, stagingOf, SUMMARIES_FILE, truncateLog } from "./files.js"
import { removeDir } from "./handles.js"
import type { Local } from "./store.js"

export interface PromotionScope {
  /** Only promotions into or out of this workstream. */
  readonly id?: WorkstreamId
  /** Skip the warning (the caller's own promotion). */
  readonly quiet?: boolean
  /** Called between the steps (crash tests). */
  readonly reached?: (step: "renamed") => Effect.Effect<void>
}

/** Moves a committed promotion's staged log into place, unless it is there already. */
const install = (local: Local, method: string, target: WorkstreamId) =>
  io(method, async () => {
    const staged = stagingOf(local.paths, target)
    if (!(await exists(staged))) return
    if (await exists(local.paths.dirOf(target))) {
      await fs.rm(staged, { recursive: true, force: true })
    } else {
      await fs.rename(staged, local.paths.dirOf(target))
    }
    await fsyncDir(local.paths.logsDir)
  })

/** The step after a promotion's commit: the target's log moved into place, then the source's log emptied. */
export const finishPromotion = (local: Local, method: string, target: WorkstreamId, source: WorkstreamId, reached: (step: "renamed") => Effect.Effect<void> = () => Effect.void) =>
  Effect.gen(function*() {
    local.states.delete(target)
    local.states.delete(source)
    yield* install(local, method, target)
    yield* reached("renamed")
    yield* truncateLog(method, local.paths.logOf(source))
    // Its summaries went with its messages (staged beside the log).
    yield* io(method, () => fs.rm(path.join(local.paths.dirOf(source), SUMMARIES_FILE), { force: true }))
    yield* db(method)(local.q.forgetPromotion(target))
  })

/** The step after a fork's commit: its log moved into place (its source is never touched). */
const finishFork = (local: Local, method: string, target: WorkstreamId) =>
  Effect.gen(function*() {
    local.states.delete(target)
    yield* install(local, method, target)
    yield* db(method)(local.q.forgetPromotion(target))
  })

/**
 * Completes committed promotions and forks (within `where`); rolls back `writing` ones, which only stores before
 * staging made. Only a row still present is finished: once someone finished it, the source may hold new messages.
 */
export const finishPromotions = (local: Local, method: string, where: PromotionScope) =>
  Effect.gen(function*() {
    for (const p of yield* db(method)(local.q.promotions)) {
      if (where.id !== undefined && p.source_id !== where.id && p.target_id !== where.id) continue
      if (p.state === "committed") yield* finishPromotion(local, method, p.target_id, p.source_id, where.reached)
      else if (p.state === "forked") yield* finishFork(local, method, p.target_id)
      else {
        yield* removeDir(local.handles, local.paths, method, local.paths.dirOf(p.target_id))
        yield* db(method)(local.q.forgetPromotion(p.target_id))
      }
      if (where.quiet === true) continue
      yield* Effect.logWarning(
        p.state === "forked"
          ? "finished an interrupted fork (completed)"
          : `finished an interrupted scratch promotion (${p.state === "committed" ? "completed" : "rolled back"})`
      ).pipe(Effect.annotateLogs({ source: p.source_id, target: p.target_id }))
    }
  })

/** Removes staging directories no committed promotion claims: what a crash before a promotion's commit left. */
export const sweepStaging = (local: Local, method: string) =>
  Effect.gen(function*() {
    const claimed = new Set((yield* db(method)(local.q.promotions)).map((p) => `${STAGING}${p.target_id}`))
    const names = yield* io(method, () => fs.readdir(local.paths.logsDir))
    for (const name of names) {
      if (!name.startsWith(STAGING) || claimed.has(name)) continue
      yield* removeDir(local.handles, local.paths, method, `${local.paths.logsDir}/${name}`)
      yield* Effect.logWarning("removed the staging directory of a promotion that never committed")
        .pipe(Effect.annotateLogs({ directory: name }))
    }
  })

/** Removes the log directory of a deleted workstream, then its deletion record. */
export const finishDeletion = (local: Local, method: string, id: WorkstreamId) =>
  Effect.zipRight(Effect.sync(() => local.states.delete(id)), Effect.zipRight(removeDir(local.handles, local.paths, method, local.paths.dirOf(id)), db(method)(local.q.unmarkDeleting(id))))
