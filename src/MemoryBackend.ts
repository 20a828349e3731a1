/**
 * Long-term memory: store, update and delete memories, and search them by meaning and by words.
 *
 * @since 0.1.0
 */
import { Chunk, Context, DateTime, Effect, Layer, Option, Stream } from "effect"
import { Embedder } from "./Embedder.js"
import type { EmbeddingError, EmbeddingSpaceMismatch, NotFound, StorageError } from "./Errors.js"
import { EmbeddingSpace, InvalidInput, NotFound as NotFoundError } from "./Errors.js"
import { MemoryId, nextId } from "./Ids.js"
import { Bm25Index } from "./internal/bm25.js"
import { decodeInput } from "./internal/decode.js"
import {
  applyPatch,
  buildMemory,
  checkEmbedding,
  factKey,
  matchesFilter,
  newestFirst,
  reinforce,
  searchTieBreak,
  supersede
} from "./internal/memory.js"
import type { NewMemoryInput } from "./internal/memory.js"
import { candidateDepth, cosine, mergeRankings, scoreCandidates } from "./internal/ranking.js"
import { words } from "./internal/text.js"
import type {
  Memory,
  MemoryMatch,
  MemoryStats,
  ReindexProgress,
  StoreFactResult
} from "./Memory.js"
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

/** @internal */
export const decodeNewMemory = (method: string) => decodeInput(NewMemory, method)
/** @internal */
export const decodeMemoryId = (method: string) => decodeInput(MemoryId, method)
/** @internal */
export const decodePatch = decodeInput(MemoryPatch, "MemoryBackend.update")
/** @internal */
export const decodeSearch = decodeInput(SearchOptions, "MemoryBackend.search")
/** @internal */
export const decodeQuery = decodeInput(Query, "MemoryBackend.search")
/** @internal */
export const decodeFilter = (method: string) => decodeInput(MemoryFilter, method)

/** Rejects a batch that names the same id twice, before anything is written. @internal */
export const requireDistinctIds = (method: string, inputs: ReadonlyArray<NewMemoryInput>) => {
  const seen = new Set<string>()
  for (const input of inputs) {
    if (input.id === undefined) continue
    if (seen.has(input.id)) {
      return Effect.fail(new InvalidInput({ method, message: `memory id ${input.id} appears twice in the batch` }))
    }
    seen.add(input.id)
  }
  return Effect.void
}

const REINDEX_BATCH = 32

interface Row {
  memory: Memory
  vector: Float32Array
}

/**
 * An in-process MemoryBackend over a `Map`, with exact cosine search and an in-process BM25. It is the test double
 * for callers' own specs and passes the same conformance suite as the SQLite backend. Requires an `Embedder`.
 *
 * @category constructors
 */
export const makeMemory: Effect.Effect<MemoryBackend["Type"], never, Embedder> = Effect.gen(function*() {
  const embedder = yield* Embedder
  const rows = new Map<MemoryId, Row>()
  const text = new Bm25Index<MemoryId>()

  const put = (memory: Memory, vector: Float32Array) => {
    rows.set(memory.id, { memory, vector })
    text.set(memory.id, memory.content)
  }

  /** Ids and vectors for a batch; no state is touched, so a failure here writes nothing. */
  const prepare = (method: string, inputs: ReadonlyArray<NewMemoryInput>) =>
    Effect.gen(function*() {
      yield* requireDistinctIds(method, inputs)
      for (const input of inputs) {
        if (input.id !== undefined && rows.has(input.id)) {
          return yield* new InvalidInput({ method, message: `memory id ${input.id} already exists` })
        }
      }
      const toEmbed = inputs.filter((i) => i.embedding === undefined).map((i) => i.content)
      const embedded = toEmbed.length > 0 ? yield* embedder.embed(toEmbed) : []
      let next = 0
      const vectors: Array<Float32Array> = []
      for (const input of inputs) {
        vectors.push(
          input.embedding !== undefined
            ? yield* checkEmbedding(method, input.embedding, embedder.dimensions)
            : embedded[next++]!
        )
      }
      const now = yield* DateTime.now
      const memories: Array<Memory> = []
      for (const input of inputs) memories.push(buildMemory(input, input.id ?? (yield* nextId(MemoryId)), now))
      return { memories, vectors, now }
    })

  const storeMany = Effect.fn("MemoryBackend.storeMany")(function*(raw: ReadonlyArray<NewMemory>) {
    const decode = decodeNewMemory("MemoryBackend.storeMany")
    const inputs: Array<NewMemoryInput> = []
    for (const r of raw) inputs.push(yield* decode(r))
    const { memories, vectors } = yield* prepare("MemoryBackend.storeMany", inputs)
    memories.forEach((m, i) => put(m, vectors[i]!))
    return memories.map((m) => m.id)
  })

  const store = Effect.fn("MemoryBackend.store")(function*(raw: NewMemory) {
    const input = yield* decodeNewMemory("MemoryBackend.store")(raw)
    const { memories, vectors } = yield* prepare("MemoryBackend.store", [input])
    put(memories[0]!, vectors[0]!)
    return memories[0]!.id
  })

  const storeFact = Effect.fn("MemoryBackend.storeFact")(function*(raw: NewMemory) {
    const input = yield* decodeNewMemory("MemoryBackend.storeFact")(raw)
    const { memories, vectors, now } = yield* prepare("MemoryBackend.storeFact", [input])
    const memory = memories[0]!
    const key = factKey(memory)
    if (key === undefined) {
      put(memory, vectors[0]!)
      return { id: memory.id, outcome: "inserted", supersededIds: [] } satisfies StoreFactResult
    }
    const live = Array.from(rows.values())
      .map((r) => r.memory)
      .filter((m) => !m.confidence.superseded && m.metadata.subject === key[0] && m.metadata.predicate === key[1])
      .sort(newestFirst)
    const same = live.find((m) => m.content.trim() === memory.content.trim())
    if (same !== undefined) {
      rows.get(same.id)!.memory = reinforce(same, now)
      return { id: same.id, outcome: "reinforced", supersededIds: [] } satisfies StoreFactResult
    }
    for (const old of live) rows.get(old.id)!.memory = supersede(old, memory.id, now)
    put(memory, vectors[0]!)
    return {
      id: memory.id,
      outcome: live.length > 0 ? "superseded" : "inserted",
      supersededIds: live.map((m) => m.id)
    } satisfies StoreFactResult
  })

  const get = Effect.fn("MemoryBackend.get")(function*(rawId: MemoryId) {
    const id = yield* decodeMemoryId("MemoryBackend.get")(rawId)
    return Option.map(Option.fromNullable(rows.get(id)), (r) => r.memory)
  })

  const update = Effect.fn("MemoryBackend.update")(function*(rawId: MemoryId, rawPatch: MemoryPatch) {
    const id = yield* decodeMemoryId("MemoryBackend.update")(rawId)
    const patch = yield* decodePatch(rawPatch)
    const row = rows.get(id)
    if (row === undefined) return yield* new NotFoundError({ entity: "memory", id })
    const embedded = patch.content !== undefined && patch.content !== row.memory.content
      ? (yield* embedder.embed([patch.content]))[0]!
      : undefined
    // The patch applies to the row as it is after embedding: a concurrent update is kept, a delete is not undone.
    const latest = rows.get(id)
    if (latest === undefined) return yield* new NotFoundError({ entity: "memory", id })
    const next = applyPatch(latest.memory, patch, yield* DateTime.now)
    const vector = next.content === latest.memory.content
      ? latest.vector
      : embedded ?? (yield* embedder.embed([next.content]))[0]!
    if (!rows.has(id)) return yield* new NotFoundError({ entity: "memory", id })
    put(next, vector)
    return next
  })

  const delete_ = Effect.fn("MemoryBackend.delete")(function*(rawId: MemoryId) {
    const id = yield* decodeMemoryId("MemoryBackend.delete")(rawId)
    rows.delete(id)
    text.delete(id)
  })

  const search = Effect.fn("MemoryBackend.search")(function*(rawQuery: string, rawOptions?: SearchOptions) {
    const query = yield* decodeQuery(rawQuery)
    const options = yield* decodeSearch(rawOptions ?? {})
    const now = yield* DateTime.now
    const pool = Array.from(rows.values()).filter((r) => matchesFilter(r.memory, options))
    const depth = candidateDepth(options.limit)
    const vector = options.mode === "text" ? [] : yield* Effect.map(embedder.embed([query]), ([q]) =>
      pool
        .map((r) => ({ memory: r.memory, distance: 1 - cosine(q!, r.vector) }))
        .sort((a, b) => a.distance - b.distance || searchTieBreak(a.memory, b.memory))
        .slice(0, depth))
    const queryWords = words(query)
    const textHits = options.mode === "vector" ? [] : pool
      .map((r) => ({ memory: r.memory, score: text.score(r.memory.id, queryWords) }))
      .filter((h) => h.score > 0)
      .sort((a, b) => b.score - a.score || searchTieBreak(a.memory, b.memory))
      .slice(0, depth)
    return scoreCandidates(mergeRankings(vector, textHits), {
      mode: options.mode,
      weights: options.weights ?? embedder.weights,
      now,
      limit: options.limit,
      minScore: options.minScore
    })
  })

  const filtered = (method: string, rawFilter: MemoryFilter | undefined) =>
    Effect.map(
      decodeFilter(method)(rawFilter ?? {}),
      (filter) => Array.from(rows.values()).map((r) => r.memory).filter((m) => matchesFilter(m, filter))
    )

  const list = (rawFilter?: MemoryFilter) =>
    Stream.unwrap(
      Effect.map(filtered("MemoryBackend.list", rawFilter), (ms) => Stream.fromIterable(ms.sort(newestFirst)))
    ).pipe(Stream.withSpan("MemoryBackend.list"))

  const count = Effect.fn("MemoryBackend.count")(function*(rawFilter?: MemoryFilter) {
    return (yield* filtered("MemoryBackend.count", rawFilter)).length
  })

  const stats = Effect.fn("MemoryBackend.stats")(function*() {
    return {
      memories: rows.size,
      vectors: rows.size,
      embedder: new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions }),
      stale: false
    } satisfies MemoryStats
  })

  const reindex = () =>
    Stream.suspend(() => {
      const ids = Array.from(rows.keys())
      const total = ids.length
      return Stream.fromIterable(Chunk.chunksOf(Chunk.fromIterable(ids), REINDEX_BATCH)).pipe(
        Stream.mapAccumEffect(0, (done, batch) =>
          Effect.gen(function*() {
            const live = Chunk.toReadonlyArray(batch).flatMap((id) => {
              const row = rows.get(id)
              return row ? [row] : []
            })
            const vectors = yield* embedder.embed(live.map((r) => r.memory.content))
            live.forEach((r, i) => (r.vector = vectors[i]!))
            const next = done + batch.length
            return [next, { done: next, total }] as const
          })),
        Stream.withSpan("MemoryBackend.reindex")
      )
    })

  return {
    store,
    storeMany,
    storeFact,
    get,
    update,
    delete: delete_,
    search,
    list,
    count,
    stats,
    reindex
  } satisfies MemoryBackend["Type"]
})

/**
 * The in-memory MemoryBackend (see `makeMemory`): the name is awkward for a memory store, but every service calls
 * its test double `layerMemory`. Requires an `Embedder` (e.g. `Embedder.layerHashing`).
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<MemoryBackend, never, Embedder> = Layer.effect(MemoryBackend, makeMemory)

