/**
 * Search quality: nDCG@k and recall@k of a `MemoryBackend`'s text, vector and hybrid search on a judged fixture.
 * Works against any Layer, so a new backend can compare its ranking with the in-memory one.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { nextId, SessionId } from "../Ids.js"
import type { MemoryId } from "../Ids.js"
import { FusionWeights } from "../Embedder.js"
import { ConfidenceSource, ContentType, SearchMode } from "../Memory.js"
import type { SearchOptions } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"

/** A judged memory collection: memories with fixture ids, queries with graded relevant ids. @category fixtures */
export const QualityFixture = Schema.Struct({
  description: Schema.optional(Schema.String),
  memories: Schema.Array(Schema.Struct({
    id: Schema.String,
    contentType: ContentType,
    content: Schema.String,
    tags: Schema.optional(Schema.Array(Schema.String))
  })),
  queries: Schema.Array(Schema.Struct({
    id: Schema.String,
    query: Schema.String,
    /** Fixture memory id -> grade (2 = answers the query, 1 = partly relevant); unlisted ids are irrelevant. */
    relevant: Schema.Record({ key: Schema.String, value: Schema.Int.pipe(Schema.positive()) })
  }))
})
/** @category fixtures */
export type QualityFixture = typeof QualityFixture.Type

/** Decodes a parsed JSON fixture, checking that every judged id names a fixture memory. @category fixtures */
export const decodeFixture = (json: unknown): Effect.Effect<QualityFixture, Error> =>
  Effect.flatMap(
    Effect.mapError(Schema.decodeUnknown(QualityFixture)(json), (e) => new Error(e.message)),
    (fixture) => {
      const ids = new Set(fixture.memories.map((m) => m.id))
      for (const q of fixture.queries) {
        for (const id of Object.keys(q.relevant)) {
          if (!ids.has(id)) return Effect.fail(new Error(`query ${q.id} judges unknown memory ${id}`))
        }
      }
      return Effect.succeed(fixture)
    }
  )

/** Graded gain of the standard (exponential) nDCG. */
const gain = (grade: number): number => 2 ** grade - 1

/**
 * nDCG@k of a ranking (fixture ids, best first) against graded judgements: 1 when the k best-graded memories come
 * first in grade order, 0 when no relevant memory is in the first k.
 *
 * @category metrics
 */
export const ndcgAt = (ranked: ReadonlyArray<string>, relevant: Readonly<Record<string, number>>, k: number): number => {
  let dcg = 0
  ranked.slice(0, k).forEach((id, i) => (dcg += gain(relevant[id] ?? 0) / Math.log2(i + 2)))
  let ideal = 0
  Object.values(relevant).sort((a, b) => b - a).slice(0, k).forEach((g, i) => (ideal += gain(g) / Math.log2(i + 2)))
  return ideal === 0 ? 0 : dcg / ideal
}

/** Share of the relevant memories (any grade) found in the first k. @category metrics */
export const recallAt = (ranked: ReadonlyArray<string>, relevant: Readonly<Record<string, number>>, k: number): number => {
  const wanted = Object.keys(relevant).length
  if (wanted === 0) return 0
  return ranked.slice(0, k).filter((id) => (relevant[id] ?? 0) > 0).length / wanted
}

/** One query's result. @category models */
export interface QueryQuality {
  readonly id: string
  readonly query: string
  readonly ndcg: number
  readonly recall: number
  /** Fixture ids of the first k hits, best first. */
  readonly ranked: ReadonlyArray<string>
  /** `explain.relevance` of each of those hits, when known. */
  readonly relevances?: ReadonlyArray<number>
}

/** Mean quality of one ranking over every fixture query. @category models */
export interface ModeQuality {
  readonly mode: string
  readonly ndcg: number
  readonly recall: number
  /**
   * Median relevance of the judged-relevant and of the irrelevant hits in the first k (when relevances are known):
   * how far apart the score puts what matters from what does not.
   */
  readonly medianRelevance?: { readonly relevant: number; readonly irrelevant: number }
  readonly queries: ReadonlyArray<QueryQuality>
}

const median = (xs: ReadonlyArray<number>): number => {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Scores rankings produced by any means (e.g. a raw FTS5 query beside the backend) with the same metrics.
 *
 * @category metrics
 */
export const summarise = (
  mode: string,
  fixture: QualityFixture,
  rankings: ReadonlyMap<string, ReadonlyArray<string>>,
  k = 10,
  relevances?: ReadonlyMap<string, ReadonlyArray<number>>
): ModeQuality => {
  const queries = fixture.queries.map((q): QueryQuality => {
    const ranked = (rankings.get(q.id) ?? []).slice(0, k)
    const rel = relevances?.get(q.id)?.slice(0, k)
    return {
      id: q.id,
      query: q.query,
      ranked,
      ndcg: ndcgAt(ranked, q.relevant, k),
      recall: recallAt(ranked, q.relevant, k),
      ...(rel !== undefined ? { relevances: rel } : {})
    }
  })
  const mean = (f: (q: QueryQuality) => number) =>
    queries.length === 0 ? 0 : queries.reduce((s, q) => s + f(q), 0) / queries.length
  const judged = fixture.queries.map((q) => q.relevant)
  const split = (wanted: boolean) =>
    queries.flatMap((q, i) => (q.relevances ?? []).filter((_, j) => ((judged[i]![q.ranked[j]!] ?? 0) > 0) === wanted))
  return {
    mode,
    ndcg: mean((q) => q.ndcg),
    recall: mean((q) => q.recall),
    ...(relevances !== undefined ? { medianRelevance: { relevant: median(split(true)), irrelevant: median(split(false)) } } : {}),
    queries
  }
}

/** @category models */
export interface EvaluateOptions {
  /** Modes to measure; default all three. */
  readonly modes?: ReadonlyArray<SearchMode>
  /** Cut-off of both metrics; default 10. */
  readonly k?: number
  /** Hybrid fusion weights; default the backend's (the Embedder's). */
  readonly weights?: typeof FusionWeights.Type
}

/** A loaded fixture: its session scope and the backend id of every fixture memory. @category models */
export interface LoadedFixture {
  readonly sessionId: SessionId
  readonly toFixtureId: ReadonlyMap<MemoryId, string>
}

/** How `loadFixture` stores the fixture. @category models */
export interface LoadOptions {
  /**
   * Each memory's source: `"uniform"` (default: all `observed`, so confidence is equal and hits come in order of
   * relevance) or `"random"`, stated or inferred by a seeded coin independent of relevance, to measure how far
   * confidence moves a ranking.
   */
  readonly sources?: "uniform" | "random"
  readonly seed?: number
}

const BATCH = 2000

/**
 * Stores the fixture's memories under a fresh session. Searches scoped to the session see nothing else, so a
 * shared store works.
 *
 * @category evaluation
 */
export const loadFixture = (fixture: QualityFixture, options: LoadOptions = {}) =>
  Effect.gen(function*() {
    const backend = yield* MemoryBackend
    const sessionId = yield* nextId(SessionId)
    const coin = seeded(options.seed ?? 7)
    const source = (): ConfidenceSource => options.sources === "random" ? (coin() < 0.5 ? "stated" : "inferred") : "observed"
    const toFixtureId = new Map<MemoryId, string>()
    for (let i = 0; i < fixture.memories.length; i += BATCH) {
      const batch = fixture.memories.slice(i, i + BATCH)
      const ids = yield* backend.storeMany(batch.map((m) => ({
        contentType: m.contentType,
        content: m.content,
        sessionId,
        source: source(),
        metadata: { tags: m.tags ?? [] }
      })))
      ids.forEach((id, j) => toFixtureId.set(id, batch[j]!.id))
    }
    return { sessionId, toFixtureId } satisfies LoadedFixture
  })

/** A deterministic generator of numbers in [0,1) (mulberry32). */
const seeded = (seed: number) => () => {
  let a = (seed = (seed + 0x6d2b79f5) | 0)
  a = Math.imul(a ^ (a >>> 15), 1 | a)
  a = (a + Math.imul(a ^ (a >>> 7), 61 | a)) ^ a
  return ((a ^ (a >>> 14)) >>> 0) / 4294967296
}

/** Everyday words any memory may use: distractors share them with queries without sharing a topic. */
const GENERIC = (
  "new use used after before time number one two three every day days minutes change make need first last work " +
  "way thing get set run keep list show find check start end same other part each again still"
).split(" ")

/**
 * The fixture with `distractors` more memories that no query judges, relevant to nothing by construction: made-up
 * words (never in a query), function words and everyday words ("time", "change", "run") that queries use too, so
 * they compete on those in both rankings without sharing a topic. A store this size runs the large-store paths of
 * a backend (its vector index, text matches over many memories) under the same quality measure.
 *
 * @category fixtures
 */
export const pad = (fixture: QualityFixture, distractors: number, seed = 11): QualityFixture => {
  const random = seeded(seed)
  const syllables = ["ka", "to", "ri", "men", "sol", "va", "tur", "lin", "po", "da", "xe", "qui", "bra", "no", "lu", "fer"]
  const invented = Array.from({ length: 5000 }, (_, i) =>
    Array.from({ length: 2 + Math.floor(random() * 2) }, () => syllables[Math.floor(random() * syllables.length)]!).join("") +
    i.toString(36))
  const functionWords = ["the", "a", "is", "are", "of", "to", "in", "on", "and", "with", "for", "it", "this", "that", "we"]
  const word = () => {
    const r = random()
    const from = r < 0.6 ? invented : r < 0.85 ? functionWords : GENERIC
    return from[Math.floor(random() * from.length)]!
  }
  const salad = () => Array.from({ length: 10 + Math.floor(random() * 11) }, word).join(" ")
  return {
    ...fixture,
    memories: [
      ...fixture.memories,
      ...Array.from({ length: distractors }, (_, i) => ({ id: `distractor-${i}`, contentType: "note" as const, content: salad() }))
    ]
  }
}

/**
 * For every query and mode, whether the first `k` hits at `limit: k` are the first `k` at `limit: wide`: a caller
 * asking for fewer results must get the head of the same list. Returns the ids of the queries where they differ.
 *
 * @category evaluation
 */
export const limitDependence = (fixture: QualityFixture, loaded: LoadedFixture, k = 10, wide = 100) =>
  Effect.gen(function*() {
    const backend = yield* MemoryBackend
    const differing: Array<string> = []
    for (const mode of ["text", "vector", "hybrid"] as const) {
      for (const q of fixture.queries) {
        const narrow = yield* backend.search(q.query, { sessionId: loaded.sessionId, mode, limit: k })
        const broad = yield* backend.search(q.query, { sessionId: loaded.sessionId, mode, limit: wide })
        const same = narrow.map((h) => h.memory.id).join() === broad.slice(0, k).map((h) => h.memory.id).join()
        if (!same) differing.push(`${mode}:${q.id}`)
      }
    }
    return differing
  })

/**
 * Runs every fixture query in each mode against a loaded fixture and returns nDCG@k and recall@k per mode.
 *
 * @category evaluation
 */
export const evaluateLoaded = (fixture: QualityFixture, loaded: LoadedFixture, options: EvaluateOptions = {}) =>
  Effect.gen(function*() {
    const backend = yield* MemoryBackend
    const k = options.k ?? 10
    const out: Array<ModeQuality> = []
    for (const mode of options.modes ?? (["text", "vector", "hybrid"] as const)) {
      const rankings = new Map<string, ReadonlyArray<string>>()
      const relevances = new Map<string, ReadonlyArray<number>>()
      for (const q of fixture.queries) {
        const search: SearchOptions = {
          sessionId: loaded.sessionId,
          mode,
          limit: k,
          ...(options.weights ? { weights: options.weights } : {})
        }
        const hits = yield* backend.search(q.query, search)
        rankings.set(q.id, hits.map((h) => loaded.toFixtureId.get(h.memory.id) ?? h.memory.id))
        relevances.set(q.id, hits.map((h) => h.explain.relevance))
      }
      out.push(summarise(mode, fixture, rankings, k, relevances))
    }
    return out
  })

/**
 * Loads the fixture into the backend and measures it: `evaluate(fixture)` needs only a `MemoryBackend`.
 *
 * @category evaluation
 */
export const evaluate = (fixture: QualityFixture, options: EvaluateOptions & LoadOptions = {}) =>
  Effect.flatMap(loadFixture(fixture, options), (loaded) => evaluateLoaded(fixture, loaded, options))
