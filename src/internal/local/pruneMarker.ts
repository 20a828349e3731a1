/**
 * The files a local prune writes beside a log (see `prune.ts`): the rewritten log before its rename,
 * `messages.jsonl.prune`, and the marker `prune.json` naming the seq the log starts after once renamed.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Effect, Either, Option, Schema } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import { fsyncDir, isNotFound } from "../logfile.js"
import { io } from "./files.js"
import type { Paths } from "./files.js"

const Marker = Schema.parseJson(Schema.Struct({ through: Schema.NonNegativeInt }))
const decodeMarker = Schema.decodeUnknownEither(Marker)
const encodeMarker = Schema.encodeSync(Marker)

export const copyOf = (p: Paths, id: WorkstreamId) => `${p.logOf(id)}.prune`
export const markerOf = (p: Paths, id: WorkstreamId) => path.join(p.dirOf(id), "prune.json")

/** Writes the marker atomically and durably. */
export const writeMarker = (method: string, file: string, through: number) =>
  io(method, async () => {
    const temp = `${file}.tmp`
    const fh = await fs.open(temp, "w")
    try {
      await fh.writeFile(`${encodeMarker({ through })}\n`)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await fs.rename(temp, file)
    await fsyncDir(path.dirname(file))
  })

/** The marker's seq; `None` when there is no marker (or a torn one, which no rename can have followed). */
export const readMarker = (method: string, file: string) =>
  Effect.map(
    io(method, () => fs.readFile(file, "utf8").catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)))),
    (text) => (text === undefined ? Option.none<number>() : Option.getRight(Either.map(decodeMarker(text), (m) => m.through)))
  )

/** Removes `files` (absent ones too) in order, each durably before the next. */
export const removeFiles = (method: string, dir: string, files: ReadonlyArray<string>) =>
  io(method, async () => {
    for (const f of files) {
      await fs.rm(f, { force: true })
      await fsyncDir(dir).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)))
    }
  })
