/**
 * The one place the command line chooses its backends. Everything else in `src/cli` programs against the service
 * tags only.
 *
 * @since 0.1.0
 */
import { mkdirSync } from "node:fs"
import { Effect, Layer } from "effect"
import * as Embedder from "../Embedder.js"
import { StorageError } from "../Errors.js"
import * as MemoryBackend from "../MemoryBackend.js"
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
 * The embedded store rooted at `dir`: MemoryBackend (with the offline hashing Embedder), WorkstreamStore
 * (`<dir>/workstreams.db` + `<dir>/workstreams/<id>/messages.jsonl`) and an in-process LRU SessionStore.
 *
 * IN-MEMORY STAND-IN: until the SQLite memory backend is available, memories use the in-process test double, so
 * they do not survive the process. Its persistent wiring is `<dir>/memory.db`.
 *
 * @category layers
 */
export const embedded = (dir: string) =>
  Layer.mergeAll(
    MemoryBackend.layerMemory,
    LocalWorkstreamStore.layer({ dir }),
    LruSessionStore.layer({ capacity: 10_000 })
  ).pipe(
    Layer.provideMerge(Embedder.layerHashing),
    Layer.provideMerge(ensureDir(dir))
  )

/** Whether `embedded` keeps memories on disk between runs (false while the in-memory stand-in is wired). @category layers */
export const persistent = false

/** The services every command may use. @category models */
export type Services = Layer.Layer.Success<ReturnType<typeof embedded>>
