/**
 * Each workstream's record beside its log, `<dir>/workstreams/<id>/workstream.json`: what the index holds that no
 * log line carries (title, summary, state, tags, default model, scratch flag, creation time, version, lineage), so
 * that `workstreams.db` can be rebuilt from the log directory alone. The directory owns it: a delete removes it
 * with the log, a fork or promotion stages it with the log. It is rewritten whole and atomically (temporary file,
 * fsync, rename) under the write lock after every change of the record, so a reader finds the old record or the new
 * one, never a mix. A log without a record file (the original runtime's, or one whose file was lost) is not
 * adopted on open: `create` with its id adopts it, with the record the caller gives.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Either, Option, Schema, Struct } from "effect"
import { Workstream } from "../../Workstream.js"
import { isNotFound } from "../logfile.js"
import { db, io, replaceFile } from "./files.js"
import type { Local } from "./store.js"

export const RECORD_FILE = "workstream.json"

/**
 * The file's fields: a `Workstream` without what the log itself tells (message count, last message time), and the
 * table prefix of the index it belongs to, since stores with different prefixes may share one directory.
 */
const RecordFile = Schema.Struct({
  prefix: Schema.String,
  ...Struct.omit(Workstream.fields, "messageCount", "lastMessageAt")
})

const RecordJson = Schema.parseJson(RecordFile, { space: 2 })
const encode = Schema.encodeSync(RecordJson)
const decode = Schema.decodeUnknownEither(RecordJson)

const fileOf = (dir: string) => path.join(dir, RECORD_FILE)

/**
 * Writes the record of `ws` into its directory, or into `dir` (a staging directory that becomes it), creating the
 * directory when missing; atomically and durably. Call under the write lock, after the index took the change.
 */
export const saveRecord = (local: Local, method: string, ws: Workstream, dir = local.paths.dirOf(ws.id)) =>
  replaceFile(method, dir, RECORD_FILE, `${encode({
    prefix: local.prefix,
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
  })}\n`)

/** Writes the record of every workstream the index holds (a store made before record files). */
export const saveAllRecords = (local: Local, method: string) =>
  Effect.gen(function*() {
    for (const check of yield* db(method)(local.q.openChecks)) {
      const found = yield* db(method)(local.q.workstream(check.id))
      if (Option.isSome(found)) yield* saveRecord(local, method, found.value)
    }
  })

/**
 * The record in the workstream directory `dir`, as a workstream with an empty log (the caller indexes the log),
 * with the prefix of the index it belongs to; `None` when there is no record file, or one that does not decode.
 */
export const readRecord = (method: string, dir: string) =>
  Effect.gen(function*() {
    const text = yield* io(method, () => fs.readFile(fileOf(dir), "utf8").catch((e) => isNotFound(e) ? undefined : Promise.reject(e)))
    if (text === undefined) return Option.none()
    const decoded = decode(text)
    if (Either.isLeft(decoded)) {
      yield* Effect.logWarning("a workstream record file does not decode; its log is left for `create` with its id to adopt")
        .pipe(Effect.annotateLogs({ file: fileOf(dir), reason: decoded.left.message }))
      return Option.none()
    }
    const { prefix, ...fields } = decoded.right
    return Option.some({ prefix, workstream: new Workstream({ ...fields, messageCount: 0 }) })
  })
