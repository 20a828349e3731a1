/**
 * Long-term memory: store, update and delete memories, and search them by meaning and by words.
 *
 * The contract lives here once: `make(driver)` turns a backend's storage primitives (a `Driver`) into the service,
 * owning input decoding, ids and time, embedding and vector checks, the storeFact decision, update ordering, the
 * search pipeline (candidates, fusion, score contract, page) and the spans. `layerMemory` is such a driver too.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { DateTime, Duration, Stream } from "effect"
import { Embedder } from "./Embedder.js"
import type { EmbeddingError, EmbeddingSpace, EmbeddingSpaceMismatch, InvalidInput, NotFound, StorageError } from "./Errors.js"
import { MemoryId } from "./Ids.js"
import type { DriverFilter } from "./internal/memory.js"
import { makeMemoryDriver } from "./internal/memoryDriver.js"
import { makeKernel, resolveOptions, UNSCOPED } from "./internal/memoryKernel.js"
import type { TextCandidate, VectorCandidate } from "./internal/ranking.js"
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

// --- the driver contract ----------------------------------------------------------------------------------------

/** A driver's insert found a memory with this id already stored; nothing was written. @category driver */
export class MemoryIdTaken extends Schema.TaggedError<MemoryIdTaken>()("MemoryIdTaken", { id: MemoryId }) {}

/**
 * What an insert does with an id a stored memory holds: a memory expired at `nowMillis` gives it up (removed with
 * everything it owns, as `sweep` removes it); a live one for which `same(stored, row)` holds makes the row a retry,
 * skipped; any other live one refuses the whole insert.
 *
 * @category driver
 */
export interface Occupied {
  readonly nowMillis: number
  readonly same: (stored: Memory, row: NewRow) => boolean
}

/** A memory to insert with the vector of its content and its first history events. @category driver */
export interface NewRow {
  readonly memory: Memory
  readonly vector: Float32Array
  readonly events: ReadonlyArray<MemoryEvent>
}

/** A stored memory rewritten (content unchanged unless a vector comes with it), with the events to append. @category driver */
export interface Rewrite {
  readonly memory: Memory
  readonly events: ReadonlyArray<MemoryEvent>
}

/** What a storeFact writes, decided by the kernel from the live facts the driver read under its lock. @category driver */
export interface FactWrite {
  /** Stored memories rewritten in place (reinforced or superseded); their content is unchanged. */
  readonly updates: ReadonlyArray<Rewrite>
  /** The new fact, when one is inserted. */
  readonly insert: Option.Option<NewRow>
}

/** The live facts `fact` reads: one namespace, subject and predicate, unexpired at `nowMillis`. @category driver */
export interface FactKey {
  readonly namespace: string
  readonly subject: string
  readonly predicate: string
  readonly nowMillis: number
}

/** Where a page of `list` starts: strictly after this (createdAt desc, id desc) position. @category driver */
export interface ListPosition {
  readonly createdAtMillis: number
  readonly id: MemoryId
}

/** A memory still to be re-embedded by a running reindex. @category driver */
export interface PendingVector {
  readonly id: MemoryId
  readonly content: string
}

/**
 * The steps of a resumable reindex. `start` begins (or resumes) filling vectors for the driver's current embedding
 * space and counts the memories (of `namespace`, when given) and those done; `pending` pages through memories
 * without one; `write` stores vectors for memories whose content is still the given one (others are left for the
 * next pass); `finish` swaps the new vectors in when no memory of any namespace lacks one, and says whether it did.
 *
 * @category driver
 */
export interface ReindexDriver {
  readonly start: (namespace: Option.Option<string>) => Effect.Effect<{ readonly total: number; readonly done: number }, StorageError>
  readonly pending: (
    namespace: Option.Option<string>,
    after: Option.Option<MemoryId>,
    limit: number
  ) => Effect.Effect<ReadonlyArray<PendingVector>, StorageError>
  readonly write: (
    items: ReadonlyArray<PendingVector & { readonly vector: Float32Array }>
  ) => Effect.Effect<void, StorageError>
  readonly finish: Effect.Effect<boolean, StorageError>
}

/**
 * The storage primitives a MemoryBackend backend supplies; `make` builds the whole contract on them. Every value is
 * decoded and checked already, and every read that takes a `DriverFilter` leaves out memories expired at its
 * `nowMillis`. A driver is built for one embedding space (the `Embedder`'s model and dimensions): vector writes and
 * vector search fail with `EmbeddingSpaceMismatch` when its stored vectors come from another.
 *
 * @category driver
 */
export interface Driver {
  /** Names the backend in spans (`arawn.backend`). */
  readonly backend: string
  /** The embedding space the stored vectors come from. */
  readonly space: Effect.Effect<EmbeddingSpace, StorageError>
  /**
   * In one transaction, inserts the rows with their vectors, text entries and events, each id held already dealt
   * with as `occupied` says; or writes nothing (`MemoryIdTaken` when a live memory holds an id for another write).
   */
  readonly insert: (
    rows: ReadonlyArray<NewRow>,
    occupied: Occupied
  ) => Effect.Effect<void, MemoryIdTaken | EmbeddingSpaceMismatch | StorageError>
  /** The stored memory, expired or not (the kernel decides what a read may see). */
  readonly get: (id: MemoryId) => Effect.Effect<Option.Option<Memory>, StorageError>
  /** The stored memories among `ids`, in any order (absent ids are left out). */
  readonly getMany: (ids: ReadonlyArray<MemoryId>) => Effect.Effect<ReadonlyArray<Memory>, StorageError>
  /**
   * In one transaction, rewrites the memory with what `next(current)` returns (`None`: write nothing) and appends
   * its events; `vector` is the new content's when the patch sets content (used only if the content changed).
   * `None` when the id is unknown or `next` declined.
   */
  readonly modify: (
    id: MemoryId,
    next: (current: Memory) => Option.Option<Rewrite>,
    vector: Option.Option<Float32Array>
  ) => Effect.Effect<Option.Option<Memory>, EmbeddingSpaceMismatch | StorageError>
  /** Removes the memory (only from `namespace`, when given) with its vector, text entry and history. */
  readonly delete: (id: MemoryId, namespace: Option.Option<string>) => Effect.Effect<void, StorageError>
  /**
   * Under one write lock: reads the live facts of `key` (not superseded, not expired), newest first, and writes what
   * `decide` makes of them. Concurrent calls for one key are serialized, never check-then-insert. The insert takes
   * the id of a memory expired at `key.nowMillis` as `insert` does; a live one's is `MemoryIdTaken`.
   */
  readonly fact: (
    key: FactKey,
    decide: (live: ReadonlyArray<Memory>) => FactWrite
  ) => Effect.Effect<FactWrite, MemoryIdTaken | EmbeddingSpaceMismatch | StorageError>
  /** The `depth` nearest memories that pass the filter, by distance, then createdAt desc, then id asc. */
  readonly vectorCandidates: (
    filter: DriverFilter,
    query: Float32Array,
    depth: number
  ) => Effect.Effect<ReadonlyArray<VectorCandidate>, EmbeddingSpaceMismatch | StorageError>
  /**
   * The `depth` best BM25 matches of any of `terms` (lowercased words, never query syntax) that pass the filter,
   * by score desc, then createdAt desc, then id asc.
   */
  readonly textCandidates: (
    filter: DriverFilter,
    terms: ReadonlyArray<string>,
    depth: number
  ) => Effect.Effect<ReadonlyArray<TextCandidate>, StorageError>
  /** Up to `size` memories that pass the filter, newest first (createdAt desc, id desc), after `after`. */
  readonly listPage: (
    filter: DriverFilter,
    after: Option.Option<ListPosition>,
    size: number
  ) => Effect.Effect<ReadonlyArray<Memory>, StorageError>
  readonly count: (filter: DriverFilter) => Effect.Effect<number, StorageError>
  /** Rows stored (of `namespace`, when given), and their vectors in the live embedding space. */
  readonly counts: (
    namespace: Option.Option<string>
  ) => Effect.Effect<{ readonly memories: number; readonly vectors: number }, StorageError>
  /** The memory's events in the order they were written. */
  readonly history: (id: MemoryId) => Effect.Effect<ReadonlyArray<MemoryEvent>, StorageError>
  /** Deletes the memories (of `namespace`, when given) expired at `nowMillis`, with everything they own; how many. */
  readonly sweep: (nowMillis: number, namespace: Option.Option<string>) => Effect.Effect<number, StorageError>
  /** Moves the expiry of each memory still unexpired at `nowMillis` to the given instant (never one expired already). */
  readonly extend: (
    items: ReadonlyArray<{ readonly id: MemoryId; readonly expiresAt: DateTime.Utc }>,
    nowMillis: number
  ) => Effect.Effect<void, StorageError>
  readonly reindex: ReindexDriver
}

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

