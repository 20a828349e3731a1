/**
 * The MemoryBackend service's shape, its write failures and the options a layer takes: below both the tag's module
 * (`arawn-store`'s `MemoryBackend`, which re-exports them) and the kernel that builds the service.
 *
 * @since 0.2.0
 */
import type { Duration, Effect, Option, Stream } from "effect"
import type { EmbeddingError, EmbeddingSpaceMismatch, InvalidInput, NotFound, StorageError } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
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
} from "../Memory.js"
import type { MemoryEvent } from "../MemoryEvent.js"
import type { FactEntry, FactsOptions, GetOptions } from "../MemoryTime.js"
import type { ListNamespacesOptions, NamespaceStats, PurgeOptions, PutMemory } from "../MemoryNamespaces.js"

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
  /** `None` when no memory has this id (or, with `asOf`, when the store did not hold it then); not an access. */
  readonly get: (id: MemoryId, options?: GetOptions) => Effect.Effect<Option.Option<Memory>, InvalidInput | StorageError>
  /** Closes a memory's record interval (no replacement); the key's live fact starting last becomes current; NotFound when unknown. */
  readonly retractFact: (id: MemoryId) => Effect.Effect<void, NotFound | InvalidInput | StorageError | EmbeddingSpaceMismatch>
  /**
   * The subject's facts (of one predicate, when given) as held at `asOf.recorded` (default now), each with its valid
   * interval as held then, by predicate, then validFrom; with `asOf.valid`, only those holding then.
   */
  readonly facts: (subject: string, options?: FactsOptions) => Effect.Effect<ReadonlyArray<FactEntry<Memory>>, InvalidInput | StorageError>
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
   * Upserts by key: replaces the memory stored under the input's namespace and `key` (keeping its createdAt; a
   * concurrent put of the same key is serialized, the last one wins), else inserts one, with id `keyId(namespace, key)`.
   */
  readonly put: (input: PutMemory) => Effect.Effect<Memory, WriteError>
  /** The namespaces holding unexpired memories in this service's subtree that `options` selects, with their statistics. */
  readonly listNamespaces: (
    options?: ListNamespacesOptions
  ) => Effect.Effect<ReadonlyArray<NamespaceStats>, InvalidInput | StorageError>
  /**
   * Deletes every memory of `namespace` and the namespaces below it (the subtree a `namespace` filter selects; expired,
   * superseded and retracted ones too) with its vectors, text entries, tags and history, and returns how many;
   * nothing outside the subtree changes. Runs in transactions of `batchSize` memories: an interrupted purge leaves
   * whole memories, and running it again finishes it (an empty subtree returns 0). Memories stored into the subtree
   * while it runs may remain. A namespace that is not one, or lies outside this service's subtree, is InvalidInput.
   */
  readonly purge: (namespace: string, options?: PurgeOptions) => Effect.Effect<number, InvalidInput | StorageError>
  /**
   * The same store confined to `namespace` and the namespaces below it (`a` holds `a/b`): it reads, counts, searches,
   * changes and sweeps only their memories, and stores into them alone (the default namespace is `namespace`).
   * Scoping a scoped service to a namespace outside its subtree is InvalidInput.
   */
  readonly scoped: (namespace: string) => Effect.Effect<MemoryBackendService, InvalidInput>
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
