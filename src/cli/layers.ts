/**
 * The one place the command line chooses its backends. Everything else in `src/cli` programs against the service
 * tags only. Each backend module is imported when a command first builds its layer, not when the program starts:
 * `--help` never loads SQLite, and a workstream command never opens `memory.db`.
 *
 * @since 0.1.0
 */
import { join } from "node:path"
import { Effect, Layer, Redacted } from "effect"
import * as Embedder from "../Embedder.js"
import * as MemoryBackend from "../MemoryBackend.js"
import type { WorkstreamStore } from "../WorkstreamStore.js"
import { StorageError } from "../Errors.js"

/** How the `method` of a StorageError from `load` starts. @category errors */
export const LOADING = "loading "

/** Imports a module on first use; a module that cannot load (a broken install) is a StorageError naming it. */
export const load = <A>(what: string, f: () => Promise<A>): Effect.Effect<A, StorageError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new StorageError({ method: `${LOADING}${what}`, cause }) })

/**
 * The store's memories in `<dir>/memory.db` (SQLite), embedded with the offline hashing Embedder.
 *
 * @category layers
 */
export const memories = (dir: string) =>
  Layer.unwrapEffect(
    Effect.map(
      load("the SQLite memory store", () => import("../MemoryBackend/Sqlite.js")),
      // One command runs at most one search: starting reader threads would cost more than it saves.
      (Sqlite) => Sqlite.layer({ filename: join(dir, "memory.db"), readers: 0 })
    )
  ).pipe(Layer.provide(Embedder.layerHashing))

/**
 * Where a command's store is: a directory (SQLite memories, JSONL workstreams) or a PostgreSQL database shared by
 * several machines.
 *
 * @category models
 */
export type Location =
  | { readonly _tag: "Dir"; readonly dir: string }
  | { readonly _tag: "Url"; readonly url: Redacted.Redacted<string> }

/** Whether `text` names a PostgreSQL database rather than a directory. @category models */
export const isDatabaseUrl = (text: string): boolean => /^postgres(ql)?:\/\//i.test(text)

/** The memories of a PostgreSQL store, embedded with the offline hashing Embedder. @category layers */
export const pgMemories = (url: Redacted.Redacted<string>) =>
  Layer.unwrapEffect(
    Effect.map(load("the PostgreSQL memory store", () => import("../MemoryBackend/Pg.js")), (Pg) => Pg.layer({ url }))
  ).pipe(Layer.provide(Embedder.layerHashing))

/** The memories at `at`. @category layers */
export const memoriesAt = (at: Location) => (at._tag === "Dir" ? memories(at.dir) : pgMemories(at.url))

/** The memories at `at`, confined to one namespace: the commands never see another's memories. @category layers */
export const scopedMemories = (at: Location, namespace: string) =>
  MemoryBackend.layerScoped(namespace).pipe(Layer.provide(memoriesAt(at)))

/**
 * The store's workstreams: `<dir>/workstreams.db` + `<dir>/workstreams/<id>/messages.jsonl`.
 *
 * @category layers
 */
export const workstreams = (dir: string) =>
  Layer.unwrapEffect(
    Effect.map(load("the workstream store", () => import("../WorkstreamStore/Local.js")), (Local) => Local.layer({ dir }))
  )

/** The workstreams of a PostgreSQL store. @category layers */
export const pgWorkstreams = (_url: Redacted.Redacted<string>): Layer.Layer<WorkstreamStore, StorageError> =>
  Layer.fail(new StorageError({ method: "cli.workstreams", cause: new Error("workstreams on PostgreSQL are not available yet") }))

/** The workstreams at `at`. @category layers */
export const workstreamsAt = (at: Location) => (at._tag === "Dir" ? workstreams(at.dir) : pgWorkstreams(at.url))

/** An in-process LRU SessionStore (sessions live as long as the process). @category layers */
export const sessions = Layer.unwrapEffect(
  Effect.map(load("the session cache", () => import("../SessionStore/Lru.js")), (Lru) => Lru.layer({ capacity: 10_000 }))
)

/** The whole embedded store rooted at `dir`. @category layers */
export const embedded = (dir: string) => Layer.mergeAll(memories(dir), workstreams(dir), sessions)

/** Memories and workstreams at `at` (import, export, migrate). @category layers */
export const storeAt = (at: Location) => Layer.merge(memoriesAt(at), workstreamsAt(at))
