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
import * as SessionStore from "../SessionStore.js"
import * as WorkstreamStore from "../WorkstreamStore.js"

/** Creates the store directory (and parents) so a first command on a fresh path works. */
const ensureDir = (dir: string) =>
  Layer.effectDiscard(
    Effect.try({
      try: () => mkdirSync(dir, { recursive: true }),
      catch: (cause) => new StorageError({ method: "cli.ensureDir", cause })
    })
  )

/**
 * The embedded store rooted at `dir`: MemoryBackend (with the offline hashing Embedder), WorkstreamStore and
 * SessionStore.
 *
 * IN-MEMORY STAND-INS: until the SQLite memory backend, the local JSONL workstream store and the LRU session cache
 * are available, this wires the in-process test doubles, so nothing survives the process. The persistent wiring is
 * `<dir>/memory.db`, `<dir>` for workstreams (`workstreams.db` + `workstreams/`) and the LRU cache.
 *
 * @category layers
 */
export const embedded = (dir: string) =>
  Layer.mergeAll(MemoryBackend.layerMemory, WorkstreamStore.layerMemory, SessionStore.layerMemory).pipe(
    Layer.provideMerge(Embedder.layerHashing),
    Layer.provideMerge(ensureDir(dir))
  )

/** Whether `embedded` keeps data on disk between runs (false while the in-memory stand-ins are wired). @category layers */
export const persistent = false

/** The services every command may use. @category models */
export type Services = Layer.Layer.Success<ReturnType<typeof embedded>>
