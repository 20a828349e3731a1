/**
 * The one place the command line chooses its backends. Everything else in `src/cli` programs against the service
 * tags only. Each backend module is imported when a command first builds its layer, not when the program starts:
 * `--help` never loads SQLite, and a workstream command never opens `memory.db`.
 *
 * @since 0.1.0
 */
import { accessSync, constants, statSync } from "node:fs"
import { join } from "node:path"
import { Effect, Layer, Redacted, Schedule } from "effect"
import * as Embedder from "../Embedder.js"
import * as MemoryBackend from "../MemoryBackend.js"
import { StorageError } from "../Errors.js"

/** How the `method` of a StorageError from `load` starts. @category errors */
export const LOADING = "loading "

/** Imports a module on first use; a module that cannot load (a broken install) is a StorageError naming it. */
export const load = <A>(what: string, f: () => Promise<A>): Effect.Effect<A, StorageError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new StorageError({ method: `${LOADING}${what}`, cause }) })

/**
 * A store file that exists but holds nothing (a copy cut short, a `touch`) is not taken for a new store: opening it
 * would write an empty store over whatever was meant to be there. A new store another process is creating (several
 * servers starting on one directory) is not empty: its first writes sit in the `-wal` file beside it until a
 * checkpoint, and the moment before that file appears is covered by looking again for about a second.
 */
const checkNotEmpty = (method: string, file: string): Effect.Effect<void, StorageError> =>
  Effect.retry(Effect.suspend(() => checkNotEmptyNow(method, file)), { schedule: Schedule.spaced("50 millis"), times: 20 })

const sizeOf = (file: string): number | undefined => {
  try {
    return statSync(file).size
  } catch {
    return undefined
  }
}

const checkNotEmptyNow = (method: string, file: string): Effect.Effect<void, StorageError> => {
  if (sizeOf(file) !== 0 || (sizeOf(`${file}-wal`) ?? 0) > 0) return Effect.void
  const cause = Object.assign(new Error(`${file} is an empty file (0 bytes), not a store`), { code: EMPTY_FILE })
  return Effect.fail(new StorageError({ method, cause }))
}

/** The `code` of the cause of a StorageError for an empty store file. @category errors */
export const EMPTY_FILE = "ARAWN_EMPTY_STORE_FILE"

/** Whether a command that only reads should open `file` read-only: it exists and this process cannot write it. */
const readOnlyFile = (read: boolean, file: string): boolean => {
  if (!read) return false
  try {
    accessSync(file, constants.F_OK)
  } catch {
    return false
  }
  try {
    accessSync(file, constants.W_OK)
    return false
  } catch {
    return true
  }
}

/**
 * The store's memories in `<dir>/memory.db` (SQLite), embedded with the offline hashing Embedder; `read`: the
 * command only reads, and opens the file read-only when it cannot write it.
 *
 * @category layers
 */
export const memories = (dir: string, read = false) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const filename = join(dir, "memory.db")
      yield* checkNotEmpty("MemoryBackend.open", filename)
      const Sqlite = yield* load("the SQLite memory store", () => import("../MemoryBackend/Sqlite.js"))
      // One command runs at most one search: starting reader threads would cost more than it saves.
      return Sqlite.layer({ filename, readers: 0, readonly: readOnlyFile(read, filename) })
    })
  ).pipe(Layer.provide(Embedder.layerHashing))

/**
 * Where a command's store is: a directory (SQLite memories, JSONL workstreams; `read` when the command only
 * reads) or a PostgreSQL database shared by several machines (tables in `schema`, named with `prefix`).
 *
 * @category models
 */
export type Location =
  | { readonly _tag: "Dir"; readonly dir: string; readonly read: boolean }
  | {
    readonly _tag: "Url"
    readonly url: Redacted.Redacted<string>
    readonly schema: string | undefined
    readonly prefix: string | undefined
  }

/** A location in words, the URL's password hidden. @category models */
export const describe = (at: Location): string => {
  if (at._tag === "Dir") return `directory ${at.dir}${at.read ? " (reading)" : ""}`
  const url = Redacted.value(at.url).replace(/:\/\/([^:@/]*):[^@/]*@/, "://$1:***@")
  return `PostgreSQL ${url}, schema ${at.schema ?? "public"}, table prefix ${at.prefix ?? "arawn_store"}`
}

/** Whether `text` names a PostgreSQL database rather than a directory. @category models */
export const isDatabaseUrl = (text: string): boolean => /^postgres(ql)?:\/\//i.test(text)

const pgOptions = (at: Extract<Location, { _tag: "Url" }>) => ({
  url: at.url,
  ...(at.schema !== undefined ? { schema: at.schema } : {}),
  ...(at.prefix !== undefined ? { prefix: at.prefix } : {})
})

/** The memories of a PostgreSQL store, embedded with the offline hashing Embedder. @category layers */
export const pgMemories = (at: Extract<Location, { _tag: "Url" }>) =>
  Layer.unwrapEffect(
    Effect.map(load("the PostgreSQL memory store", () => import("../MemoryBackend/Pg.js")), (Pg) => Pg.layer(pgOptions(at)))
  ).pipe(Layer.provide(Embedder.layerHashing))

/** The memories at `at`. @category layers */
export const memoriesAt = (at: Location) => (at._tag === "Dir" ? memories(at.dir, at.read) : pgMemories(at))

/** The memories at `at`, confined to one namespace: the commands never see another's memories. @category layers */
export const scopedMemories = (at: Location, namespace: string) =>
  MemoryBackend.layerScoped(namespace).pipe(Layer.provide(memoriesAt(at)))

/**
 * The store's workstreams: `<dir>/workstreams.db` + `<dir>/workstreams/<id>/messages.jsonl`; `read` as for
 * `memories`.
 *
 * @category layers
 */
export const workstreams = (dir: string, read = false) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const index = join(dir, "workstreams.db")
      yield* checkNotEmpty("WorkstreamStore.open", index)
      const Local = yield* load("the workstream store", () => import("../WorkstreamStore/Local.js"))
      return Local.layer({ dir, readonly: readOnlyFile(read, index) })
    })
  )

/** The workstreams of a PostgreSQL store. @category layers */
export const pgWorkstreams = (at: Extract<Location, { _tag: "Url" }>) =>
  Layer.unwrapEffect(
    Effect.map(load("the PostgreSQL workstream store", () => import("../WorkstreamStore/Pg.js")), (Pg) => Pg.layer(pgOptions(at)))
  )

/** The workstreams at `at`. @category layers */
export const workstreamsAt = (at: Location) => (at._tag === "Dir" ? workstreams(at.dir, at.read) : pgWorkstreams(at))

/** An in-process LRU SessionStore (sessions live as long as the process). @category layers */
export const sessions = Layer.unwrapEffect(
  Effect.map(load("the session cache", () => import("../SessionStore/Lru.js")), (Lru) => Lru.layer({ capacity: 10_000 }))
)

/** The whole embedded store rooted at `dir`. @category layers */
export const embedded = (dir: string) => Layer.mergeAll(memories(dir), workstreams(dir), sessions)

/** Memories and workstreams at `at` (import, export, migrate). @category layers */
export const storeAt = (at: Location) => Layer.merge(memoriesAt(at), workstreamsAt(at))
