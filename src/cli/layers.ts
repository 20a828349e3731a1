/**
 * The one place the command line chooses its backends. Everything else in `src/cli` programs against the service
 * tags only.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import * as Embedder from "../Embedder.js"
import { StorageError } from "../Errors.js"
import * as SqliteMemoryBackend from "../MemoryBackend/Sqlite.js"
import * as LruSessionStore from "../SessionStore/Lru.js"
import * as LocalWorkstreamStore from "../WorkstreamStore/Local.js"

/** Creates the store directory (and parents) so a first command on a fresh path works. */
const ensureDir = (dir: string) =>
  Layer.effectDiscard(
    Effect.try({
      try: () => mkdirSync(dir, { recursive: true }),
      catch: (cause) => new StorageError({ method: "cli.ensureDir", cause })
    })
  )

/**
 * The embedded store rooted at `dir`: memories in `<dir>/memory.db` (SQLite, embedded with the offline hashing
 * Embedder), workstreams in `<dir>/workstreams.db` + `<dir>/workstreams/<id>/messages.jsonl`, and an in-process LRU
 * SessionStore (sessions live as long as the process).
 *
 * @category layers
 */
export const embedded = (dir: string) =>
  Layer.mergeAll(
    SqliteMemoryBackend.layer({ filename: join(dir, "memory.db") }),
    LocalWorkstreamStore.layer({ dir }),
    LruSessionStore.layer({ capacity: 10_000 })
  ).pipe(
    Layer.provideMerge(Embedder.layerHashing),
    Layer.provideMerge(ensureDir(dir))
  )

/** Whether `embedded` keeps memories and workstreams on disk between runs. @category layers */
export const persistent = true

/** The services every command may use. @category models */
export type Services = Layer.Layer.Success<ReturnType<typeof embedded>>
