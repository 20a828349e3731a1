/**
 * Each workstream's record beside its log, `<dir>/workstreams/<id>/workstream.json`: what the index holds that no
 * log line carries (title, summary, state, tags, default model, scratch flag, creation time, version, lineage), so
 * that `workstreams.db` can be rebuilt from the log directory alone. The directory owns it: a delete removes it
 * with the log, a fork or promotion stages it with the log. It is rewritten whole and atomically (temporary file,
 * fsync, rename) under the write lock after every change of the record, so a reader finds the old record or the new
 * one, never a mix.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { DateTime, Effect, Either, Option, Schema } from "effect"
import { SCRATCH_ID, WorkstreamId } from "../../Ids.js"
import { ForkPoint, Workstream, WorkstreamState } from "../../Workstream.js"
import { fsyncDir, isNotFound } from "../logfile.js"
import { io } from "./files.js"

export const RECORD_FILE = "workstream.json"

/** The file's fields: a `Workstream` without what the log itself tells (message count, last message time). */
const RecordFile = Schema.Struct({
  id: WorkstreamId,
  title: Schema.String,
  summary: Schema.optional(Schema.String),
  state: WorkstreamState,
  isScratch: Schema.Boolean,
  defaultModel: Schema.optional(Schema.String),
  tags: Schema.Array(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  version: Schema.NonNegativeInt,
  forkedFrom: Schema.optional(ForkPoint)
})

const RecordJson = Schema.parseJson(RecordFile, { space: 2 })
const encode = Schema.encodeSync(RecordJson)
const decode = Schema.decodeUnknownEither(RecordJson)

const fileOf = (dir: string) => path.join(dir, RECORD_FILE)

/** Writes the record of `ws` into `dir` (created when missing), atomically and durably. */
export const saveRecordIn = (method: string, dir: string, ws: Workstream) =>
  io(method, async () => {
    const text = encode({
      id: ws.id,
      title: ws.title,
      state: ws.state,
      isScratch: ws.isScratch,
      tags: ws.tags,
      createdAt: ws.createdAt,
      updatedAt: ws.updatedAt,
      version: ws.version,
      ...(ws.summary !== undefined ? { summary: ws.summary } : {}),
      ...(ws.defaultModel !== undefined ? { defaultModel: ws.defaultModel } : {}),
      ...(ws.forkedFrom !== undefined ? { forkedFrom: ws.forkedFrom } : {})
    })
    await fs.mkdir(dir, { recursive: true })
    const temp = `${fileOf(dir)}.tmp`
    const fh = await fs.open(temp, "w")
    try {
      await fh.writeFile(`${text}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(temp, fileOf(dir))
    await fsyncDir(dir)
  })

/**
 * The record in `dir` as a workstream with an empty log (the caller indexes the log); `None` when there is no
 * record file, or one that does not decode (reported: the workstream is adopted under a placeholder record).
 */
export const readRecordIn = (method: string, dir: string) =>
  Effect.gen(function*() {
    const text = yield* io(method, () => fs.readFile(fileOf(dir), "utf8").catch((e) => isNotFound(e) ? undefined : Promise.reject(e)))
    if (text === undefined) return Option.none<Workstream>()
    const decoded = decode(text)
    if (Either.isLeft(decoded)) {
      yield* Effect.logWarning("a workstream record file does not decode; its workstream gets a placeholder record")
        .pipe(Effect.annotateLogs({ file: fileOf(dir), reason: decoded.left.message }))
      return Option.none<Workstream>()
    }
    const r = decoded.right
    return Option.some(new Workstream({ ...r, messageCount: 0 }))
  })

/** The record of a log found without one (a store from before record files, or a lost file): its id as title. */
export const placeholderRecord = (id: WorkstreamId, now: DateTime.Utc): Workstream =>
  new Workstream({
    id,
    title: id === SCRATCH_ID ? "Scratch" : `Recovered ${id}`,
    state: "active",
    isScratch: id === SCRATCH_ID,
    tags: [],
    createdAt: now,
    updatedAt: now,
    messageCount: 0,
    version: 0
  })
