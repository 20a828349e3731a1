/**
 * Read-only connections on worker threads, so the vector and text halves of a hybrid search run at the same time
 * (WAL lets readers proceed beside each other and beside a writer) and the caller's event loop stays free while
 * SQLite works. better-sqlite3 is synchronous: on the main thread two queries always run one after the other.
 */
import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import { Effect } from "effect"
import type { Scope } from "effect"
import { getLoadablePath } from "sqlite-vec"

/** A statement compiled to its SQL text and bound values. */
export type Compiled = readonly [sql: string, params: ReadonlyArray<unknown>]

export interface ReadPool {
  /** The rows of one read-only statement, run on the least busy worker. */
  readonly all: (statement: Compiled) => Effect.Effect<ReadonlyArray<unknown>, Error>
}

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
    parentPort.postMessage({ id, rows: statement.all(...params) })
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) })
  }
})
`

type Reply = { readonly id: number; readonly rows?: ReadonlyArray<unknown>; readonly error?: string }

const isReply = (u: unknown): u is Reply => typeof u === "object" && u !== null && "id" in u && typeof u.id === "number"

/** One reader thread and the queries it owes answers to. */
class Reader {
  readonly pending = new Map<number, (reply: Reply) => void>()
  stopped = false

  constructor(readonly worker: Worker) {
    // Readers never keep the process alive on their own.
    worker.unref()
    worker.on("message", (reply: unknown) => {
      if (!isReply(reply)) return
      const resolve = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      resolve?.(reply)
    })
    worker.on("error", () => this.stop("reader thread failed"))
    worker.on("exit", () => this.stop("reader thread exited"))
  }

  /** A stopped reader answers nothing more: what it was asked fails, so callers fall back to their connection. */
  private stop(reason: string) {
    this.stopped = true
    for (const [id, resolve] of this.pending) resolve({ id, error: reason })
    this.pending.clear()
  }
}

/**
 * Starts `size` readers on `filename` for the life of the scope. The file must exist (the store has opened and
 * migrated it first). A query a reader cannot answer fails with an `Error`; the caller runs it on its own
 * connection instead.
 */
export const makeReadPool = (
  filename: string,
  options: { readonly size: number; readonly busyMs: number; readonly mmapSize: number }
): Effect.Effect<ReadPool, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => {
        const require = createRequire(import.meta.url)
        const workerData = {
          driver: require.resolve("better-sqlite3"),
          extension: getLoadablePath(),
          filename,
          busyMs: options.busyMs,
          mmapSize: options.mmapSize
        }
        return Array.from({ length: Math.max(1, options.size) }, () => new Reader(new Worker(WORKER, { eval: true, workerData })))
      }),
      (readers) => Effect.promise(() => Promise.all(readers.map((r) => r.worker.terminate())))
    ),
    (readers): ReadPool => {
      let next = 0
      return {
        all: ([sql, params]) =>
          Effect.async<ReadonlyArray<unknown>, Error>((resume) => {
            const live = readers.filter((r) => !r.stopped)
            if (live.length === 0) return resume(Effect.fail(new Error("no reader thread is running")))
            const reader = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
            const id = next++
            reader.pending.set(id, (reply) =>
              resume(
                reply.error !== undefined || reply.rows === undefined
                  ? Effect.fail(new Error(reply.error ?? "the reader returned no rows"))
                  : Effect.succeed(reply.rows)
              ))
            reader.worker.postMessage({ id, sql, params })
          })
      }
    }
  )
