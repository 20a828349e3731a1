/**
 * Long-term memory: store, update and delete memories, and search them by meaning and by words.
 *
 * The contract lives here once: `make(driver)` turns a backend's storage primitives (a `Driver`, see
 * `arawn-store/MemoryBackend/Driver`) into the service. The kernel owns input decoding, ids and time, embedding and vector checks, the storeFact decision, update ordering, the
 * search pipeline (candidates, fusion, score contract, page) and the spans. `layerMemory` is such a driver too.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { Duration, Option, Stream } from "effect"
import { Embedder } from "./Embedder.js"
import type { EmbeddingError, EmbeddingSpaceMismatch, InvalidInput, NotFound, StorageError } from "./Errors.js"
import type { MemoryId } from "./Ids.js"
import { makeMemoryDriver } from "./internal/memoryDriver.js"
import { makeKernel, resolveOptions, UNSCOPED } from "./internal/memoryKernel.js"
import type { Driver } from "./MemoryBackend/Driver.js"
import type {
  Memory,
  MemoryFilter,
  MemoryMatch,
  MemoryPatch,
  MemoryStats,
  NewMemory,
  ReindexProgress,
  SearchOptions,
  StoreFactResult
} from "./Memory.js"
import type { MemoryEvent } from "./MemoryEvent.js"

/** Failures of a write that embeds text. @category errors */
export type WriteError = InvalidInput | StorageError | EmbeddingError | EmbeddingSpaceMismatch

/**
 * The MemoryBackend service. Written as an interface (not inline in the tag) because `scoped` returns another one.
 *
 * @category services
 */
export interface MemoryBackendService {
  /**
   * Inserts one memory (id generated unless given) with its vector and text entry, atomically. A given id held by a
   * live memory returns the id when this is the same write (a retry; nothing is written), else is InvalidInput; an
   * expired memory's id is free again (the expired memory is replaced).
   */
  readonly store: (input: NewMemory) => Effect.Effect<MemoryId, WriteError>
  /** Inserts all or none, in one embed call and one transaction; ids come back in input order; given ids as in `store`. */
  readonly storeMany: (inputs: ReadonlyArray<NewMemory>) => Effect.Effect<ReadonlyArray<MemoryId>, WriteError>
  /** With subject+predicate: reinforces an identical live fact, else supersedes the live ones and inserts; without: inserts. */
  readonly storeFact: (input: NewMemory) => Effect.Effect<StoreFactResult, WriteError>
  /** `None` when no memory has this id; does not count as an access. */
  readonly get: (id: MemoryId) => Effect.Effect<Option.Option<Memory>, InvalidInput | StorageError>
  /** Applies the patch (null clears) and re-embeds when content changes; NotFound when the id is unknown. */
  readonly update: (id: MemoryId, patch: MemoryPatch) => Effect.Effect<Memory, NotFound | WriteError>
  /** Removes the memory, its vector and its text entry atomically; idempotent (an unknown id succeeds). */
  readonly delete: (id: MemoryId) => Effect.Effect<void, InvalidInput | StorageError>
  /** Best matches first (score desc, createdAt desc, id); relevance 0 is no hit; filters apply before `limit`; superseded hidden by default. */
  readonly search: (
    query: string,
    options?: SearchOptions
  ) => Effect.Effect<ReadonlyArray<MemoryMatch>, InvalidInput | StorageError | EmbeddingError | EmbeddingSpaceMismatch>
  /** Every memory that passes the filter, newest first (createdAt desc, then id desc), read page by page. */
  readonly list: (filter?: MemoryFilter) => Stream.Stream<Memory, InvalidInput | StorageError>
  /** How many memories pass the filter (superseded excluded unless `includeSuperseded`). */
  readonly count: (filter?: MemoryFilter) => Effect.Effect<number, InvalidInput | StorageError>
  /** Counts of rows and vectors, the embedder in use, and whether stored vectors are stale. */
  readonly stats: () => Effect.Effect<MemoryStats, StorageError>
  /** Re-embeds every memory with the current Embedder, reporting progress; clears a mismatch when it completes. */
  readonly reindex: () => Stream.Stream<ReindexProgress, StorageError | EmbeddingError>
  /** The memory's changes, oldest first; empty for an id no read would return (unknown, deleted, expired, foreign). */
  readonly history: (id: MemoryId) => Stream.Stream<MemoryEvent, InvalidInput | StorageError>
  /** Deletes every expired memory with its vector, text entry and history; returns how many. */
  readonly sweep: () => Effect.Effect<number, StorageError>
  /**
   * The same store confined to `namespace`: it reads, counts, searches, changes and sweeps only that namespace's
   * memories, and stores into it alone. Scoping a scoped service to another namespace is InvalidInput.
   */
  readonly scoped: (namespace: string) => Effect.Effect<MemoryBackendService, InvalidInput>
}

/** @category services */
export class MemoryBackend extends Context.Tag("arawn-store/MemoryBackend")<MemoryBackend, MemoryBackendService>() {}

export { MemoryIdTaken } from "./MemoryBackend/Driver.js"
export type {
  Driver,
  FactKey,
  FactWrite,
  ListPosition,
  NewRow,
  Occupied,
  PendingVector,
  ReindexDriver,
  Rewrite
} from "./MemoryBackend/Driver.js"

/** What a layer lets its callers set about the service its driver becomes. @category options */
export interface Options {
  /** Confine the service to this namespace (see `scoped`). */
  readonly namespace?: string | undefined
  /** The time to live of memories stored without `expiresAt` or `ttl` (default: they never expire). */
  readonly defaultTtl?: Duration.DurationInput | undefined
  /**
   * A `get` or a search hit moves an expiring memory's `expiresAt` to now + its time to live (sliding expiry). A
   * memory expired already stays expired. Default false.
   */
  readonly extendOnAccess?: boolean | undefined
  /**
   * The longest content, in characters, that store, storeMany, storeFact and update accept (longer is
   * `InvalidInput`): 1 to `MAX_MEMORY_CONTENT`, which is the default.
   */
  readonly maxContentLength?: number | undefined
}

/**
 * Builds the MemoryBackend on a driver: everything that does not depend on storage happens once, in the kernel, for
 * every backend. Requires the `Embedder` whose space the driver was built for.
 *
 * @category constructors
 */
export const make = (driver: Driver, options: Options = {}): Effect.Effect<MemoryBackend["Type"], InvalidInput, Embedder> =>
  Effect.flatMap(Embedder, (embedder) => Effect.map(resolveOptions(options), (resolved) => makeKernel(driver, embedder, resolved)))

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

