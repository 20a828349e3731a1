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
import { ContentType, SearchMode } from "../Memory.js"
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

/**
 * Stores the fixture's memories in one batch under a fresh session, all with the same source so confidence is
 * equal and the order of hits is the order of relevance. Searches scoped to the session see nothing else, so a
 * shared store works.
 *
 * @category evaluation
 */
export const loadFixture = (fixture: QualityFixture) =>
  Effect.gen(function*() {
    const backend = yield* MemoryBackend
    const sessionId = yield* nextId(SessionId)
    const ids = yield* backend.storeMany(fixture.memories.map((m) => ({
      contentType: m.contentType,
      content: m.content,
      sessionId,
      source: "observed" as const,
      metadata: { tags: m.tags ?? [] }
    })))
    const toFixtureId = new Map<MemoryId, string>(ids.map((id, i) => [id, fixture.memories[i]!.id]))
    return { sessionId, toFixtureId } satisfies LoadedFixture
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
export const evaluate = (fixture: QualityFixture, options: EvaluateOptions = {}) =>
  Effect.flatMap(loadFixture(fixture), (loaded) => evaluateLoaded(fixture, loaded, options))
