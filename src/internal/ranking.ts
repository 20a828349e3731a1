import type { FusionWeights } from "../Embedder.js"
import type { MemoryId } from "../Ids.js"
import type { ConfidenceInputs, Explain, SearchMode } from "../Memory.js"
import { combineScore, confidenceAt } from "../Memory.js"

/**
 * How deep each ranking is read before fusion. It does not grow with the limit up to `MIN_DEPTH`: each memory's
 * fused score depends on where it stands in both rankings, so reading them to a depth that followed the limit would
 * let a memory's score, and the head of the results, change with the limit asked.
 */
export const MIN_DEPTH = 200

export const candidateDepth = (limit: number): number => Math.max(limit, MIN_DEPTH)

/** What ranking needs of a memory, carried by a candidate so that rows are read only for the page returned. */
export interface CandidateHead extends ConfidenceInputs {
  readonly id: MemoryId
  /** Epoch milliseconds; ties in score break by createdAt desc, then id asc. */
  readonly createdAtMillis: number
}

/** A vector-ranking candidate: cosine distance `1 - cos` (0 = same direction, 2 = opposite). */
export interface VectorCandidate extends CandidateHead {
  readonly distance: number
}

/** A text-ranking candidate: BM25 score, positive and higher for better matches (FTS5's `bm25()` negated). */
export interface TextCandidate extends CandidateHead {
  readonly score: number
}

/** A candidate with its place in the vector and/or text ranking. */
export interface Candidate {
  readonly head: CandidateHead
  /** 1-based rank and cosine distance. */
  vector?: { readonly rank: number; readonly distance: number }
  /** 1-based rank and BM25 score. */
  text?: { readonly rank: number; readonly score: number }
}

/** Cosine similarity of two vectors (0 when either is zero). */
export const cosine = (a: Float32Array, b: Float32Array): number => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    dot += x * y
    na += x * x
    nb += y * y
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb)
}

/** Vector relevance: cosine similarity clipped at 0 (unrelated or opposite texts are equally irrelevant). */
export const vectorRelevance = (distance: number): number => Math.min(1, Math.max(0, 1 - distance))

/**
 * The BM25 score at which text relevance is 0.5: about one distinctive word matched (idf ~ ln 100). A single rare
 * word is half the evidence, several are most of it, and a common word like "the" (idf near 0) is almost none.
 */
export const TEXT_HALF = 4

/** Text relevance: BM25 squashed into [0,1) as s/(s+TEXT_HALF), monotone, so a stronger match always ranks higher. */
export const textRelevance = (bm25: number): number => bm25 <= 0 ? 0 : bm25 / (bm25 + TEXT_HALF)

/**
 * Whether a relevance is evidence of a match at all. At 0 neither the words nor the vector say anything about the
 * query (no word matched; the vectors are unrelated or opposed, their cosine clipped at 0), and such a result
 * would only list the store. A weak match is still one: FTS5 weighs a word found in more than half the rows at
 * 1e-6, which in a store of two memories is a word unique to one of them.
 */
export const isRelevant = (relevance: number): boolean => relevance > 0

/**
 * Reciprocal-rank constant of hybrid fusion. Each ranking's vote is discounted by (K+1)/(K+rank): 1 for its first
 * hit, 0.87 for its tenth with K = 60 (the usual value), so a ranking's order counts without drowning its evidence.
 */
export const RRF_K = 60

/**
 * Hybrid relevance: reciprocal-rank fusion whose votes carry their evidence. Each ranking votes
 * `weight x relevance x (K+1)/(K+rank)`; the votes are summed and divided by the total weight. First in both
 * rankings with full relevance is 1; a memory that shares only "the" with the query stays near 0 however high it
 * ranks (plain RRF would call the best of a bad lot fully relevant); a ranking that missed the memory votes 0.
 */
export const fusedRelevance = (c: Candidate, weights: FusionWeights): number => {
  const total = weights.vector + weights.text
  if (total <= 0) return 0
  const vote = (weight: number, relevance: number, rank: number) => weight * relevance * (RRF_K + 1) / (RRF_K + rank)
  const v = c.vector ? vote(weights.vector, vectorRelevance(c.vector.distance), c.vector.rank) : 0
  const t = c.text ? vote(weights.text, textRelevance(c.text.score), c.text.rank) : 0
  return Math.min(1, Math.max(0, (v + t) / total))
}

/** Merges a vector ranking and a text ranking (both best first) into candidates keyed by memory id. */
export const mergeRankings = (
  vector: ReadonlyArray<VectorCandidate>,
  text: ReadonlyArray<TextCandidate>
): Array<Candidate> => {
  const byId = new Map<MemoryId, Candidate>()
  vector.forEach((v, i) => byId.set(v.id, { head: v, vector: { rank: i + 1, distance: v.distance } }))
  text.forEach((t, i) => {
    const hit = { rank: i + 1, score: t.score }
    const existing = byId.get(t.id)
    if (existing) existing.text = hit
    else byId.set(t.id, { head: t, text: hit })
  })
  return Array.from(byId.values())
}

/** A scored candidate, before its row is read. */
export interface Scored {
  readonly head: CandidateHead
  readonly score: number
  readonly explain: Explain
}

/** Score desc, then createdAt desc, then id asc: the score contract's order. */
const byScore = (a: Scored, b: Scored): number =>
  b.score - a.score || b.head.createdAtMillis - a.head.createdAtMillis || (a.head.id < b.head.id ? -1 : a.head.id > b.head.id ? 1 : 0)

/** The options of one scoring pass. */
export interface ScoreOptions {
  readonly mode: SearchMode
  readonly weights: FusionWeights
  readonly nowMillis: number
  readonly limit: number
  readonly minScore?: number | undefined
}

const explainOf = (c: Candidate, options: ScoreOptions, relevance: number, confidence: number): Explain => ({
  mode: options.mode,
  relevance,
  confidence,
  ...(c.vector
    ? { vectorRank: c.vector.rank, vectorDistance: c.vector.distance, vectorRelevance: vectorRelevance(c.vector.distance) }
    : {}),
  ...(c.text ? { textRank: c.text.rank, textScore: c.text.score, textRelevance: textRelevance(c.text.score) } : {}),
  ...(options.mode === "hybrid" ? { weights: options.weights } : {})
})

/**
 * Applies the score contract to ranked candidates: relevance by mode (a candidate without relevance is no hit),
 * confidence at `now`, minScore, then the contract's order, cut at `limit`. Only heads are touched: the caller reads rows for the page alone.
 */
export const scoreCandidates = (candidates: Iterable<Candidate>, options: ScoreOptions): Array<Scored> => {
  const out: Array<Scored> = []
  for (const c of candidates) {
    const relevance = options.mode === "vector"
      ? (c.vector ? vectorRelevance(c.vector.distance) : 0)
      : options.mode === "text"
      ? (c.text ? textRelevance(c.text.score) : 0)
      : fusedRelevance(c, options.weights)
    if (!isRelevant(relevance)) continue
    const confidence = confidenceAt(c.head, options.nowMillis)
    const score = combineScore(relevance, confidence)
    if (options.minScore !== undefined && score < options.minScore) continue
    out.push({ head: c.head, score, explain: explainOf(c, options, relevance, confidence) })
  }
  return out.sort(byScore).slice(0, options.limit)
}

/** The ranking order of vector candidates: distance, then createdAt desc, then id asc. */
export const byDistance = (a: VectorCandidate, b: VectorCandidate): number =>
  a.distance - b.distance || b.createdAtMillis - a.createdAtMillis || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The ranking order of text candidates: BM25 desc, then createdAt desc, then id asc. */
export const byTextScore = (a: TextCandidate, b: TextCandidate): number =>
  b.score - a.score || b.createdAtMillis - a.createdAtMillis || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
