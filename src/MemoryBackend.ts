/**
 * Long-term memory: store, update and delete memories, and search them by meaning and by words.
 *
 * The contract lives here once: `make(driver)` turns a backend's storage primitives (a `Driver`) into the service,
 * owning input decoding, ids and time, embedding and vector checks, the storeFact decision, update ordering, the
 * search pipeline (candidates, fusion, score contract, page) and the spans. `layerMemory` is such a driver too.
 *
 * @since 0.1.0
 */
import { Chunk, Context, DateTime, Effect, Layer, Option, Schema, Stream } from "effect"
import { Embedder } from "./Embedder.js"
import type { EmbeddingError, EmbeddingSpaceMismatch, NotFound } from "./Errors.js"
import { EmbeddingSpace, InvalidInput, NotFound as NotFoundError, StorageError } from "./Errors.js"
import { MemoryId, nextId } from "./Ids.js"
import { decodeInput } from "./internal/decode.js"
import { applyPatch, buildMemory, checkEmbedding, factKey, queryTerms, requireDistinctIds } from "./internal/memory.js"
import type { MemoryFilterInput, NewMemoryInput } from "./internal/memory.js"
import { makeMemoryDriver } from "./internal/memoryDriver.js"
import {
  decideFact,
  embedChecked,
  factResult,
  materialize,
  reindexStream,
  sameSpace
} from "./internal/memoryKernel.js"
import { candidateDepth, mergeRankings, scoreCandidates } from "./internal/ranking.js"
import type { TextCandidate, VectorCandidate } from "./internal/ranking.js"
import type { Memory, MemoryMatch, MemoryStats, ReindexProgress, StoreFactResult } from "./Memory.js"
import { MemoryFilter, MemoryPatch, NewMemory, Query, SearchOptions } from "./Memory.js"

/** Failures of a write that embeds text. @category errors */
export type WriteError = InvalidInput | StorageError | EmbeddingError | EmbeddingSpaceMismatch

/** @category services */
export class MemoryBackend extends Context.Tag("arawn-store/MemoryBackend")<MemoryBackend, {
  /** Inserts one memory (id generated unless given; a taken id is InvalidInput) with its vector and text entry, atomically. */
  readonly store: (input: NewMemory) => Effect.Effect<MemoryId, WriteError>
  /** Inserts all or none, in one embed call and one transaction; ids come back in input order. */
  readonly storeMany: (inputs: ReadonlyArray<NewMemory>) => Effect.Effect<ReadonlyArray<MemoryId>, WriteError>
  /** With subject+predicate: reinforces an identical live fact, else supersedes the live ones and inserts; without: inserts. */
  readonly storeFact: (input: NewMemory) => Effect.Effect<StoreFactResult, WriteError>
  /** `None` when no memory has this id; does not count as an access. */
  readonly get: (id: MemoryId) => Effect.Effect<Option.Option<Memory>, InvalidInput | StorageError>
  /** Applies the patch (null clears) and re-embeds when content changes; NotFound when the id is unknown. */
  readonly update: (id: MemoryId, patch: MemoryPatch) => Effect.Effect<Memory, NotFound | WriteError>
  /** Removes the memory, its vector and its text entry atomically; idempotent (an unknown id succeeds). */
  readonly delete: (id: MemoryId) => Effect.Effect<void, InvalidInput | StorageError>
  /** Best matches first (score desc, createdAt desc, id); filters apply before `limit`; superseded hidden by default. */
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
}>() {}

// --- the driver contract ----------------------------------------------------------------------------------------

/** A driver's insert found a memory with this id already stored; nothing was written. @category driver */
export class MemoryIdTaken extends Schema.TaggedError<MemoryIdTaken>()("MemoryIdTaken", { id: MemoryId }) {}

/** A memory to insert with the vector of its content. @category driver */
export interface NewRow {
  readonly memory: Memory
  readonly vector: Float32Array
}

/** What a storeFact writes, decided by the kernel from the live facts the driver read under its lock. @category driver */
export interface FactWrite {
  /** Stored memories rewritten in place (reinforced or superseded); their content is unchanged. */
  readonly updates: ReadonlyArray<Memory>
  /** The new fact, when one is inserted. */
  readonly insert: Option.Option<NewRow>
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
 * space; `pending` pages through memories without one; `write` stores vectors for memories whose content is still
 * the given one (others are left for the next pass); `finish` swaps the new vectors in when none is missing and
 * reports whether it did.
 *
 * @category driver
 */
export interface ReindexDriver {
  readonly start: Effect.Effect<{ readonly total: number; readonly done: number }, StorageError>
  readonly pending: (
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
 * decoded and checked already. A driver is built for one embedding space (the `Embedder`'s model and dimensions):
 * vector writes and vector search fail with `EmbeddingSpaceMismatch` when its stored vectors come from another.
 *
 * @category driver
 */
export interface Driver {
  /** Names the backend in spans (`arawn.backend`). */
  readonly backend: string
  /** The embedding space the stored vectors come from. */
  readonly space: Effect.Effect<EmbeddingSpace, StorageError>
  /** Inserts all rows with their vectors and text entries in one transaction, or none (`MemoryIdTaken`). */
  readonly insert: (rows: ReadonlyArray<NewRow>) => Effect.Effect<void, MemoryIdTaken | EmbeddingSpaceMismatch | StorageError>
  readonly get: (id: MemoryId) => Effect.Effect<Option.Option<Memory>, StorageError>
  /** The stored memories among `ids`, in any order (absent ids are left out). */
  readonly getMany: (ids: ReadonlyArray<MemoryId>) => Effect.Effect<ReadonlyArray<Memory>, StorageError>
  /**
   * Replaces the memory with `next(current)` in one transaction; `vector` is the new content's when the patch sets
   * content (used only if the content changed). `None` when the id is unknown.
   */
  readonly modify: (
    id: MemoryId,
    next: (current: Memory) => Memory,
    vector: Option.Option<Float32Array>
  ) => Effect.Effect<Option.Option<Memory>, EmbeddingSpaceMismatch | StorageError>
  /** Removes the memory with its vector and text entry; nothing when the id is unknown. */
  readonly delete: (id: MemoryId) => Effect.Effect<void, StorageError>
  /**
   * Under one write lock: reads the live (not superseded) memories with this subject and predicate, newest first,
   * and writes what `decide` makes of them. Concurrent calls for one key are serialized, never check-then-insert.
   */
  readonly fact: (
    subject: string,
    predicate: string,
    decide: (live: ReadonlyArray<Memory>) => FactWrite
  ) => Effect.Effect<FactWrite, MemoryIdTaken | EmbeddingSpaceMismatch | StorageError>
  /** The `depth` nearest memories that pass the filter, by distance, then createdAt desc, then id asc. */
  readonly vectorCandidates: (
    filter: MemoryFilterInput,
    query: Float32Array,
    depth: number
  ) => Effect.Effect<ReadonlyArray<VectorCandidate>, EmbeddingSpaceMismatch | StorageError>
  /**
   * The `depth` best BM25 matches of any of `terms` (lowercased words, never query syntax) that pass the filter,
   * by score desc, then createdAt desc, then id asc.
   */
  readonly textCandidates: (
    filter: MemoryFilterInput,
    terms: ReadonlyArray<string>,
    depth: number
  ) => Effect.Effect<ReadonlyArray<TextCandidate>, StorageError>
  /** Up to `size` memories that pass the filter, newest first (createdAt desc, id desc), after `after`. */
  readonly listPage: (
    filter: MemoryFilterInput,
    after: Option.Option<ListPosition>,
    size: number
  ) => Effect.Effect<ReadonlyArray<Memory>, StorageError>
  readonly count: (filter: MemoryFilterInput) => Effect.Effect<number, StorageError>
  /** Rows stored, and vectors in the live embedding space. */
  readonly counts: Effect.Effect<{ readonly memories: number; readonly vectors: number }, StorageError>
  readonly reindex: ReindexDriver
}

const REINDEX_BATCH = 32
const PAGE_SIZE = 200

/** One parse for a whole batch: half the cost of decoding each input on its own. */
const decodeBatch = decodeInput(Schema.Array(NewMemory), "MemoryBackend.storeMany")
const decodeId = (method: string) => decodeInput(MemoryId, method)
const decodeNew = (method: string) => decodeInput(NewMemory, method)
const decodePatch = decodeInput(MemoryPatch, "MemoryBackend.update")
const decodeQuery = decodeInput(Query, "MemoryBackend.search")
const decodeSearch = decodeInput(SearchOptions, "MemoryBackend.search")
const decodeFilter = (method: string) => decodeInput(MemoryFilter, method)

/** A driver's StorageError names the primitive that failed; the caller sees the method it called. */
const retagError = (method: string) => <E>(e: E): E | StorageError =>
  e instanceof StorageError && e.method !== method ? new StorageError({ method, cause: e.cause }) : e
const retag = (method: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.mapError(self, retagError(method))

/** What every method of one service instance shares. */
interface Kernel {
  readonly driver: Driver
  readonly embedder: Embedder["Type"]
  readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingError>
  readonly span: { readonly attributes: { readonly "arawn.backend": string } }
}

const taken = (method: string) => (e: MemoryIdTaken) =>
  new InvalidInput({ method, message: `memory id ${e.id} already exists` })

/** store, storeMany, storeFact, update and delete: decoding, ids, time and vectors here; the write in the driver. */
const writeMethods = ({ driver, embed, embedder, span }: Kernel) => {
  /** Ids, vectors and memories for a batch, made before the driver is called: a failure here writes nothing. */
  const prepare = (method: string, inputs: ReadonlyArray<NewMemoryInput>) =>
    Effect.gen(function*() {
      yield* requireDistinctIds(method, inputs)
      const embedded = yield* embed(inputs.filter((i) => i.embedding === undefined).map((i) => i.content))
      let next = 0
      const rows: Array<NewRow> = []
      const now = yield* DateTime.now
      for (const input of inputs) {
        const vector = input.embedding !== undefined
          ? yield* checkEmbedding(method, input.embedding, embedder.dimensions)
          : embedded[next++]!
        rows.push({ memory: buildMemory(input, input.id ?? (yield* nextId(MemoryId)), now), vector })
      }
      return { rows, now }
    })

  const insert = (method: string, inputs: ReadonlyArray<NewMemoryInput>) =>
    Effect.flatMap(prepare(method, inputs), ({ rows }) =>
      Effect.as(Effect.catchTag(driver.insert(rows), "MemoryIdTaken", (e) => Effect.fail(taken(method)(e))), rows.map((r) => r.memory.id)))

  const store = Effect.fn("MemoryBackend.store", span)(function*(raw: NewMemory) {
    const method = "MemoryBackend.store"
    return (yield* insert(method, [yield* decodeNew(method)(raw)]))[0]!
  }, retag("MemoryBackend.store"))

  const storeMany = Effect.fn("MemoryBackend.storeMany", span)(function*(raw: ReadonlyArray<NewMemory>) {
    const inputs = yield* decodeBatch(raw)
    return inputs.length === 0 ? [] : yield* insert("MemoryBackend.storeMany", inputs)
  }, retag("MemoryBackend.storeMany"))

  const storeFact = Effect.fn("MemoryBackend.storeFact", span)(function*(raw: NewMemory) {
    const method = "MemoryBackend.storeFact"
    const { now, rows } = yield* prepare(method, [yield* decodeNew(method)(raw)])
    const row = rows[0]!
    const key = factKey(row.memory)
    if (key === undefined) {
      yield* Effect.catchTag(driver.insert(rows), "MemoryIdTaken", (e) => Effect.fail(taken(method)(e)))
      return { id: row.memory.id, outcome: "inserted", supersededIds: [] } satisfies StoreFactResult
    }
    const written = yield* driver.fact(key[0], key[1], (live) => decideFact(live, row, now)).pipe(
      Effect.catchTag("MemoryIdTaken", (e) => Effect.fail(taken(method)(e)))
    )
    return factResult(written, row)
  }, retag("MemoryBackend.storeFact"))

  const update = Effect.fn("MemoryBackend.update", span)(function*(rawId: MemoryId, rawPatch: MemoryPatch) {
    const id = yield* decodeId("MemoryBackend.update")(rawId)
    const patch = yield* decodePatch(rawPatch)
    // Embedding comes first, outside the driver's lock; the patch then applies to the row as it is at that moment,
    // so a concurrent update is kept and a concurrent delete is not undone.
    const vector = patch.content === undefined ? Option.none() : Option.some((yield* embed([patch.content]))[0]!)
    const now = yield* DateTime.now
    const next = yield* driver.modify(id, (current) => applyPatch(current, patch, now), vector)
    return yield* Option.match(next, {
      onNone: () => Effect.fail(new NotFoundError({ entity: "memory", id })),
      onSome: Effect.succeed
    })
  }, retag("MemoryBackend.update"))

  const delete_ = Effect.fn("MemoryBackend.delete", span)(function*(rawId: MemoryId) {
    yield* driver.delete(yield* decodeId("MemoryBackend.delete")(rawId))
  }, retag("MemoryBackend.delete"))

  return { store, storeMany, storeFact, update, delete: delete_ }
}

/** get, search, list, count, stats and reindex. */
const readMethods = ({ driver, embed, embedder, span }: Kernel) => {
  const get = Effect.fn("MemoryBackend.get", span)(function*(rawId: MemoryId) {
    return yield* driver.get(yield* decodeId("MemoryBackend.get")(rawId))
  }, retag("MemoryBackend.get"))

  const search = Effect.fn("MemoryBackend.search", span)(function*(rawQuery: string, rawOptions?: SearchOptions) {
    const query = yield* decodeQuery(rawQuery)
    const options = yield* decodeSearch(rawOptions ?? {})
    const now = yield* DateTime.now
    const depth = candidateDepth(options.limit)
    const q = options.mode === "text" ? undefined : (yield* embed([query]))[0]!
    const [vector, text] = yield* Effect.all([
      q === undefined ? Effect.succeed([]) : driver.vectorCandidates(options, q, depth),
      options.mode === "vector" ? Effect.succeed([]) : driver.textCandidates(options, queryTerms(query), depth)
    ], { concurrency: 2 })
    const page = scoreCandidates(mergeRankings(vector, text), {
      mode: options.mode,
      weights: options.weights ?? embedder.weights,
      nowMillis: now.epochMillis,
      limit: options.limit,
      minScore: options.minScore
    })
    return yield* materialize(driver, page)
  }, retag("MemoryBackend.search"))

  const list = (rawFilter?: MemoryFilter) =>
    Stream.unwrap(Effect.map(decodeFilter("MemoryBackend.list")(rawFilter ?? {}), (filter) =>
      Stream.paginateChunkEffect(Option.none<ListPosition>(), (after) =>
        Effect.map(driver.listPage(filter, after, PAGE_SIZE), (page) => {
          const last = page[page.length - 1]
          return [
            Chunk.unsafeFromArray(page),
            page.length < PAGE_SIZE || last === undefined
              ? Option.none()
              : Option.some(Option.some({ createdAtMillis: last.createdAt.epochMillis, id: last.id }))
          ] as const
        })))).pipe(Stream.mapError(retagError("MemoryBackend.list")), Stream.withSpan("MemoryBackend.list", span))

  const count = Effect.fn("MemoryBackend.count", span)(function*(rawFilter?: MemoryFilter) {
    return yield* driver.count(yield* decodeFilter("MemoryBackend.count")(rawFilter ?? {}))
  }, retag("MemoryBackend.count"))

  const current = new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  const stats = Effect.fn("MemoryBackend.stats", span)(function*() {
    const [counts, stored] = yield* Effect.all([driver.counts, driver.space])
    return { ...counts, embedder: current, stale: !sameSpace(stored, current) } satisfies MemoryStats
  }, retag("MemoryBackend.stats"))

  const reindex = () =>
    reindexStream(driver.reindex, embed, REINDEX_BATCH).pipe(
      Stream.mapError(retagError("MemoryBackend.reindex")),
      Stream.withSpan("MemoryBackend.reindex", span)
    )

  return { get, search, list, count, stats, reindex }
}

/**
 * Builds the MemoryBackend on a driver: everything that does not depend on storage happens here, once for every
 * backend. Requires the `Embedder` whose space the driver was built for.
 *
 * @category constructors
 */
export const make = (driver: Driver): Effect.Effect<MemoryBackend["Type"], never, Embedder> =>
  Effect.map(Embedder, (embedder): MemoryBackend["Type"] => {
    const kernel: Kernel = { driver, embedder, embed: embedChecked(embedder), span: { attributes: { "arawn.backend": driver.backend } } }
    return { ...writeMethods(kernel), ...readMethods(kernel) }
  })

/**
 * An in-process MemoryBackend over a `Map`, with exact cosine search and an in-process BM25: the test double for
 * callers' own specs, built on the same kernel as every backend. Requires an `Embedder`.
 *
 * @category constructors
 */
export const makeMemory: Effect.Effect<MemoryBackend["Type"], never, Embedder> = Effect.flatMap(
  Embedder,
  (embedder) => make(makeMemoryDriver(embedder))
)

/**
 * The in-memory MemoryBackend (see `makeMemory`): the name is awkward for a memory store, but every service calls
 * its test double `layerMemory`. Requires an `Embedder` (e.g. `Embedder.layerHashing`).
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<MemoryBackend, never, Embedder> = Layer.effect(MemoryBackend, makeMemory)

