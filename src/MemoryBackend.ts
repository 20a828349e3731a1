/**
 * Long-term memory: store, update and delete memories, and search them by meaning and by words.
 *
 * The contract lives here once: `make(driver)` turns a backend's storage primitives (a `Driver`, see
 * `arawn-store/MemoryBackend/Driver`) into the service, and `makeEncoded(driver)` does the same for the fewer
 * primitives of an `EncodedDriver`. The kernel owns input decoding, ids and time, embedding and vector checks, the
 * storeFact decision, update ordering, the search pipeline (candidates, fusion, score contract, page) and the spans.
 * `layerMemory` is such a driver too. The service's shape and options live in `MemoryBackend/Service` (re-exported
 * here), below both this module and the kernel.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { Embedder } from "./Embedder.js"
import { EmbeddingSpace } from "./Errors.js"
import type { InvalidInput, StorageError } from "./Errors.js"
import { makeMemoryDriver } from "./internal/memoryInProcess.js"
import { fromEncoded } from "./internal/memoryEncoded.js"
import { makeKernel, resolveOptions } from "./internal/memoryKernel.js"
import { UNSCOPED } from "./internal/memoryScope.js"
import type { Driver, EncodedDriver } from "./MemoryBackend/Driver.js"
import type { MemoryBackendService, Options } from "./MemoryBackend/Service.js"

export type { MemoryBackendService, Options, WriteError } from "./MemoryBackend/Service.js"

/** @category services */
export class MemoryBackend extends Context.Tag("arawn-store/MemoryBackend")<MemoryBackend, MemoryBackendService>() {}

export { MemoryIdTaken } from "./MemoryBackend/Driver.js"
export type {
  Driver,
  EncodedChange,
  EncodedDriver,
  EncodedMemory,
  FactKey,
  FactWrite,
  ListPosition,
  NewRow,
  Occupied,
  PendingVector,
  ReindexDriver,
  Rewrite
} from "./MemoryBackend/Driver.js"

/**
 * Builds the MemoryBackend on a driver: everything that does not depend on storage happens once, in the kernel, for
 * every backend. Requires the `Embedder` whose space the driver was built for.
 *
 * @category constructors
 */
export const make = (driver: Driver, options: Options = {}): Effect.Effect<MemoryBackend["Type"], InvalidInput, Embedder> =>
  Effect.flatMap(Embedder, (embedder) => Effect.map(resolveOptions(options), (resolved) => makeKernel(driver, embedder, resolved)))

/**
 * Builds the MemoryBackend on an encoded driver (rows, history, vectors and metadata as the kernel encodes them):
 * the kernel adds the row codec, filters, exact vector and BM25 search, the embedding state (recorded on first use)
 * and a resumable reindex. Requires the `Embedder` whose vectors the store holds.
 *
 * @category constructors
 */
export const makeEncoded = (
  driver: EncodedDriver,
  options: Options = {}
): Effect.Effect<MemoryBackend["Type"], InvalidInput | StorageError, Embedder> =>
  Effect.flatMap(Embedder, (embedder) =>
    Effect.flatMap(
      fromEncoded(driver, new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })),
      (decoded) => make(decoded, options)
    ))

/**
 * An in-process MemoryBackend over a `Map`, with exact cosine search and an in-process BM25: the test double for
 * callers' own specs, built on the same kernel as every backend. Requires an `Embedder`.
 *
 * @category constructors
 */
export const makeMemory = (options: Options = {}): Effect.Effect<MemoryBackend["Type"], InvalidInput, Embedder> =>
  Effect.flatMap(Embedder, (embedder) => make(makeMemoryDriver(embedder), options))

/**
 * The in-memory MemoryBackend (see `makeMemory`): the name is awkward for a memory store, but every service calls
 * its test double `layerMemory`. Requires an `Embedder` (e.g. `Embedder.layerHashing`).
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<MemoryBackend, never, Embedder> = Layer.effect(
  MemoryBackend,
  Effect.map(Embedder, (embedder) => makeKernel(makeMemoryDriver(embedder), embedder, UNSCOPED))
)

/**
 * The in-memory MemoryBackend with options (a namespace, a default time to live, sliding expiry); a bad namespace
 * fails the layer with InvalidInput.
 *
 * @category layers
 */
export const layerMemoryWith = (options: Options): Layer.Layer<MemoryBackend, InvalidInput, Embedder> =>
  Layer.effect(MemoryBackend, makeMemory(options))

/**
 * Provides `MemoryBackend` confined to `namespace`, on top of the one in context: a program under it sees and
 * changes that namespace only.
 *
 * @category layers
 */
export const layerScoped = (namespace: string): Layer.Layer<MemoryBackend, InvalidInput, MemoryBackend> =>
  Layer.effect(MemoryBackend, Effect.flatMap(MemoryBackend, (m) => m.scoped(namespace)))

