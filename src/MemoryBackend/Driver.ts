/**
 * The contracts a MemoryBackend backend implements: `Driver`, storage primitives over decoded memories with their
 * own search candidates (what the SQLite and PostgreSQL stores supply to `MemoryBackend.make`), and
 * `EncodedDriver`, a handful of primitives over encoded rows (what a new key-value backend supplies to
 * `MemoryBackend.makeEncoded`; the kernel then owns the row codec, the embedding state, search and reindex).
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import type { DateTime, Effect, Option } from "effect"
import type { EmbeddingSpace, EmbeddingSpaceMismatch, StorageError } from "../Errors.js"
import { MemoryId } from "../Ids.js"
import type { DriverFilter } from "../internal/memoryRules.js"
import type { TextCandidate, VectorCandidate } from "../internal/ranking.js"
import type { RankedPage, ScoreOptions } from "../internal/rankingTopK.js"
import type { Memory } from "../Memory.js"
import type { MemoryEvent } from "../MemoryEvent.js"
import type { NamespaceCount } from "../MemoryNamespaces.js"

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

/** A memory to insert with the vector of its content (none when `memory.embed` is false) and its first events. @category driver */
export interface NewRow {
  readonly memory: Memory
  readonly vector: Float32Array | undefined
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
  /** Facts re-recorded with a shorter valid interval, inserted with it (absent: none). */
  readonly also?: ReadonlyArray<NewRow> | undefined
}

/** The live facts `fact` reads: one namespace, subject and predicate, not retracted, unexpired at `nowMillis`. @category driver */
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
 * decoded and checked already, a namespace to confine to (an option, a filter's) means its whole subtree (see
 * `arawn-store/Namespace`), and every read that takes a `DriverFilter` leaves out memories expired at its
 * `nowMillis`; a memory with `embed: false` has no vector (vector search never returns it, reindex skips it). A driver is built for one embedding space (the `Embedder`'s model and dimensions): vector writes and
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
   * its events; `vector` is the new content's when the patch sets content, written only when the memory is
   * embedded and its content changed or it had no vector (a memory rewritten with `embed: false` loses its vector).
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
   * Under one write lock: reads the live facts of `key` (not retracted, not expired), newest first, and writes what
   * `decide` makes of them (updates first, then the insert and `also`). Concurrent calls for one key are serialized, never check-then-insert. The insert takes
   * the id of a memory expired at `key.nowMillis` as `insert` does; a live one's is `MemoryIdTaken`.
   */
  readonly fact: (
    key: FactKey,
    decide: (live: ReadonlyArray<Memory>) => FactWrite
  ) => Effect.Effect<FactWrite, MemoryIdTaken | EmbeddingSpaceMismatch | StorageError>
  /**
   * Optional: the top `options.limit` of the memories that pass the filter, the whole set ranked by the vector
   * `query` and by `terms` when not empty, scored by `rankingTopK.hitScore`, in one pass; `None` when the driver
   * cannot here (a set too large to scan exactly), and the kernel reads the rankings instead. A text-only search
   * never comes here: its ranking's threshold read proves a page sooner than scoring every match.
   */
  readonly rankedSearch?: (
    filter: DriverFilter,
    query: Float32Array,
    terms: ReadonlyArray<string>,
    options: ScoreOptions
  ) => Effect.Effect<Option.Option<RankedPage>, EmbeddingSpaceMismatch | StorageError>
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
  /**
   * Per namespace of the subtree of `root` (every namespace when `None`): its memories unexpired at `nowMillis`,
   * how many have `embed` unset, and their latest updatedAt.
   */
  readonly namespaces: (
    root: Option.Option<string>,
    nowMillis: number
  ) => Effect.Effect<ReadonlyArray<NamespaceCount>, StorageError>
  /** The memory's events in the order they were written. */
  readonly history: (id: MemoryId) => Effect.Effect<ReadonlyArray<MemoryEvent>, StorageError>
  /** Deletes the memories (of `namespace`, when given) expired at `nowMillis`, with everything they own; how many. */
  readonly sweep: (nowMillis: number, namespace: Option.Option<string>) => Effect.Effect<number, StorageError>
  /**
   * In one transaction, removes up to `limit` memories of the subtree of `namespace` (expired, superseded and
   * retracted ones too) with their vectors, text entries, tags and history, and everything the driver keeps of them
   * in process; returns how many (fewer than `limit`: the subtree was empty when it looked). A driver whose engine
   * returns freed space only on request (SQLite with incremental auto_vacuum) does so after such a last batch.
   */
  readonly purge: (namespace: string, limit: number) => Effect.Effect<number, StorageError>
  /** Moves the expiry of each memory still unexpired at `nowMillis` to the given instant (never one expired already). */
  readonly extend: (
    items: ReadonlyArray<{ readonly id: MemoryId; readonly expiresAt: DateTime.Utc }>,
    nowMillis: number
  ) => Effect.Effect<void, StorageError>
  readonly reindex: ReindexDriver
}

// --- the encoded driver contract ---------------------------------------------------------------------------------

/**
 * A memory as an encoded driver keeps it: its id and namespace, and the kernel's JSON text of the whole memory,
 * which the driver stores as it is and never reads.
 *
 * @category encoded driver
 */
export interface EncodedMemory {
  readonly id: string
  readonly namespace: string
  readonly text: string
}

/**
 * One atomic change: every part is applied, or none. In this order: `dropGenerations` removes every vector of
 * those generations; `remove` removes rows with their events and vectors (of every generation); `put` inserts or
 * replaces rows by id (a replaced row keeps its events and vectors); `events` appends JSON texts after a row's
 * last ones; `vectors` sets a row's vector in a generation; `meta` sets keys (`null` deletes one).
 *
 * @category encoded driver
 */
export interface EncodedChange {
  readonly dropGenerations?: ReadonlyArray<number> | undefined
  readonly remove?: ReadonlyArray<string> | undefined
  readonly put?: ReadonlyArray<EncodedMemory> | undefined
  readonly events?: ReadonlyArray<readonly [id: string, events: ReadonlyArray<string>]> | undefined
  readonly vectors?: ReadonlyArray<{ readonly generation: number; readonly id: string; readonly vector: Float32Array }> | undefined
  readonly meta?: ReadonlyArray<readonly [key: string, value: string | null]> | undefined
}

/**
 * The storage primitives of an encoded MemoryBackend: rows, their history, vectors by generation and a little
 * metadata, all as the kernel encoded them. `MemoryBackend.makeEncoded` builds the whole contract on them (filters,
 * exact vector and BM25 search, facts, expiry, the embedding state and a resumable reindex), reading rows by
 * scanning: suited to stores of up to some tens of thousands of memories. Every failure is a `StorageError`.
 *
 * @category encoded driver
 */
export interface EncodedDriver {
  /** Names the backend in spans (`arawn.backend`). */
  readonly backend: string
  /**
   * Runs `effect` (which reads and writes through this driver) alone: no other `locked` run on the same store,
   * in this process or another, overlaps it. The kernel's read-decide-write steps run here.
   */
  readonly locked: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E | StorageError>
  /** The stored rows among `ids`, in any order (absent ids are left out). */
  readonly get: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<EncodedMemory>, StorageError>
  /** Up to `limit` rows by id ascending (code-unit order), after `after` when given. */
  readonly scan: (after: Option.Option<string>, limit: number) => Effect.Effect<ReadonlyArray<EncodedMemory>, StorageError>
  /** The row's events in the order they were appended (empty for an unknown id). */
  readonly events: (id: string) => Effect.Effect<ReadonlyArray<string>, StorageError>
  /** The vectors of `ids` in `generation` (ids without one are left out). */
  readonly vectors: (
    generation: number,
    ids: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<readonly [id: string, vector: Float32Array]>, StorageError>
  /** Every metadata key and value. */
  readonly meta: Effect.Effect<ReadonlyMap<string, string>, StorageError>
  /** Applies the change atomically (see `EncodedChange`). */
  readonly write: (change: EncodedChange) => Effect.Effect<void, StorageError>
}
