/**
 * A workstream's summaries on the local store: `<dir>/workstreams/<id>/summaries.json`, beside its log and record,
 * rewritten whole and atomically (temporary file, fsync, rename) under the write lock for each new summary. The
 * file, not the index, is where summaries live: the JSONL log keeps its original line format, and an index rebuilt
 * or adopted from the directory loses nothing, since it never held them. The directory owns the file: a delete
 * removes it with the log, a promotion stages it (rewritten for its new workstream) with the log.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Either, Option, Schema } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { Summary } from "../../WorkstreamContext.js"
import type { SummaryResult } from "../workstreamDriver.js"
import { isNotFound } from "../logfile.js"
import { finishPromotions } from "./cleanup.js"
import { db, io, replaceFile, SUMMARIES_FILE } from "./files.js"
import type { Local } from "./store.js"

const SummariesJson = Schema.parseJson(Schema.Struct({ summaries: Schema.Array(Summary) }), { space: 2 })
const encode = Schema.encodeSync(SummariesJson)
const decode = Schema.decodeUnknownEither(SummariesJson)

/** The summaries in the workstream directory `dir`; none when it has no file. A file that does not decode fails. */
export const readSummaries = (method: string, dir: string) =>
  Effect.gen(function*() {
    const file = path.join(dir, SUMMARIES_FILE)
    const text = yield* io(method, () => fs.readFile(file, "utf8").catch((e) => isNotFound(e) ? undefined : Promise.reject(e)))
    if (text === undefined) return []
    const decoded = decode(text)
    if (Either.isLeft(decoded)) {
      return yield* new StorageError({ method, cause: new Error(`${file} does not decode: ${decoded.left.message}`) })
    }
    return decoded.right.summaries
  })

/** Writes `summaries` as the whole file of the workstream directory `dir` (a staging directory, for a promotion). */
export const saveSummaries = (method: string, dir: string, summaries: ReadonlyArray<Summary>) =>
  replaceFile(method, dir, SUMMARIES_FILE, `${encode({ summaries })}\n`)

/** `Driver.writeSummary`: under the write lock, checked against the index's count and the file's ids. */
export const writeSummary = (local: Local, method: string, summary: Summary) =>
  local.writer.exclusive(method, Effect.gen(function*(): Effect.fn.Return<SummaryResult, StorageError> {
    const id = summary.workstreamId
    // A fork or promotion committed into this id moves its directory into place first (it must not find one here).
    yield* finishPromotions(local, method, { id })
    const state = yield* db(method)(local.q.logState(id))
    if (Option.isNone(state)) return { _tag: "NotFound" }
    const dir = local.paths.dirOf(id)
    const stored = yield* readSummaries(method, dir)
    const taken = stored.find((s) => s.id === summary.id)
    if (taken !== undefined) return { _tag: "Taken", summary: taken }
    if (state.value.message_count < summary.toSeq) return { _tag: "OutOfRange", count: state.value.message_count }
    yield* saveSummaries(method, dir, [...stored, summary])
    return { _tag: "Written", summary }
  }))

/** `Driver.summaries`: each file read on its own, without the lock (each is replaced whole). */
export const summariesOf = (local: Local, method: string, ids: ReadonlyArray<WorkstreamId>) =>
  Effect.map(Effect.forEach(ids, (id) => readSummaries(method, local.paths.dirOf(id))), (all) => all.flat())
