/**
 * Read-only connections on worker threads, so the vector and text halves of a hybrid search run at the same time
 * (WAL lets readers proceed beside each other and beside a writer) and the caller's event loop stays free while
 * SQLite works. better-sqlite3 is synchronous: on the main thread two queries always run one after the other.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { Deferred, Effect, Exit } from "effect"
import type { Scope } from "effect"
import { getLoadablePath } from "sqlite-vec"

/** A statement's rows and its run time on the reader, in microseconds. */
export interface Answer {
  readonly rows: ReadonlyArray<unknown>
  readonly micros: number
}

/** A statement compiled to its SQL text and bound values. */
export type Compiled = readonly [sql: string, params: ReadonlyArray<unknown>]

export interface ReadPool {
  /** The rows of one read-only statement, run on the least busy worker, and how long it ran there (microseconds). */
  readonly all: (statement: Compiled) => Effect.Effect<Answer, Error>
}

/**
 * The most of the file a reader maps. Every page a connection touches through its map stays in the process's RSS,
 * and each connection has its own map: a search rescoring a few hundred random rows faults in whole neighbourhoods
 * of the float table, so with the store's full map every reader (and the main connection) grew towards a copy of the
 * file (100k x 384: 633 MB peak RSS over 200 searches per mode, 1.8x the raw store's). Past this prefix a reader
 * reads pages through SQLite's bounded page cache. A store this size or smaller is mapped whole, as before.
 */
export const READER_MAP_BYTES = 128 * 1024 * 1024

// Plain JavaScript evaluated in each worker: statements are prepared once and kept, like the main connection's.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads")
const Database = require(workerData.driver)
const db = new Database(workerData.filename, { readonly: true, fileMustExist: true })
db.loadExtension(workerData.extension)
db.pragma("busy_timeout = " + workerData.busyMs)
db.pragma("mmap_size = " + workerData.mmapSize)
const cache = new Map()
parentPort.on("message", ({ id, sql, params }) => {
  try {
    let statement = cache.get(sql)
    if (statement === undefined) {
      if (cache.size >= 200) cache.delete(cache.keys().next().value)
      statement = db.prepare(sql)
      cache.set(sql, statement)
    }
    const t0 = performance.now()
    const rows = statement.all(...params)
    parentPort.postMessage({ id, rows, micros: (performance.now() - t0) * 1000 })
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) })
  }
})
`

type Reply = { readonly id: number; readonly rows?: ReadonlyArray<unknown>; readonly micros?: number; readonly error?: string }

const isReply = (u: unknown): u is Reply => typeof u === "object" && u !== null && "id" in u && typeof u.id === "number"

/** One reader thread and the answers it owes, each a `Deferred` its caller awaits. */
interface Reader {
  readonly worker: Worker
  readonly pending: Map<number, Deferred.Deferred<Answer, Error>>
  stopped: boolean
}

const startReader = (workerData: Record<string, unknown>): Reader => {
  const reader: Reader = { worker: new Worker(WORKER, { eval: true, workerData }), pending: new Map(), stopped: false }
  // A stopped reader answers nothing more: what it was asked fails, so callers fall back to their connection.
  const stop = (reason: string) => {
    reader.stopped = true
    for (const waiting of reader.pending.values()) Deferred.unsafeDone(waiting, Exit.fail(new Error(reason)))
    reader.pending.clear()
  }
  // Readers never keep the process alive on their own.
  reader.worker.unref()
  reader.worker.on("message", (reply: unknown) => {
    if (!isReply(reply)) return
    const waiting = reader.pending.get(reply.id)
    if (waiting === undefined) return
    reader.pending.delete(reply.id)
    Deferred.unsafeDone(
      waiting,
      reply.error !== undefined || reply.rows === undefined
        ? Exit.fail(new Error(reply.error ?? "the reader returned no rows"))
        : Exit.succeed({ rows: reply.rows, micros: reply.micros ?? 0 })
    )
  })
  reader.worker.on("error", () => stop("reader thread failed"))
  reader.worker.on("exit", () => stop("reader thread exited"))
  return reader
}

/**
 * Starts `size` readers on `filename` for the life of the scope. The file must exist (the store has opened and
 * migrated it first). A query a reader cannot answer fails with an `Error`; the caller runs it on its own
 * connection instead. An interrupted caller stops waiting at once; its reader's answer, when it comes, is dropped.
 */
export const makeReadPool = (
  filename: string,
  options: { readonly size: number; readonly busyMs: number; readonly mmapSize: number }
): Effect.Effect<ReadPool, never, Scope.Scope> =>
  Effect.gen(function*() {
    const require = createRequire(import.meta.url)
    const workerData = {
      driver: require.resolve("better-sqlite3"),
      extension: getLoadablePath(),
      filename,
      busyMs: options.busyMs,
      mmapSize: Math.min(options.mmapSize, READER_MAP_BYTES)
    }
    const readers = yield* Effect.forEach(Array.from({ length: Math.max(1, options.size) }), () =>
      Effect.acquireRelease(
        Effect.sync(() => startReader(workerData)),
        (reader) => Effect.promise(() => reader.worker.terminate())
      ))
    let next = 0
    const all: ReadPool["all"] = ([sql, params]) =>
      Effect.suspend(() => {
        const live = readers.filter((r) => !r.stopped)
        if (live.length === 0) return Effect.fail(new Error("no reader thread is running"))
        const reader = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
        const id = next++
        return Effect.flatMap(Deferred.make<Answer, Error>(), (answer) => {
          reader.pending.set(id, answer)
          reader.worker.postMessage({ id, sql, params })
          return Effect.ensuring(Deferred.await(answer), Effect.sync(() => reader.pending.delete(id)))
        })
      })
    return { all }
  })
