import type { FusionWeights } from "../Embedder.js"
import type { MemoryId } from "../Ids.js"
import type { ConfidenceInputs } from "../Memory.js"

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

/** A memory's place in the vector and/or text ranking. */
export interface Votes {
  /** 1-based rank and cosine distance. */
  readonly vector?: { readonly rank: number; readonly distance: number } | undefined
  /** 1-based rank and BM25 score. */
  readonly text?: { readonly rank: number; readonly score: number } | undefined
}

/** A candidate with its place in the vector and/or text ranking. */
export interface Candidate {
  readonly head: CandidateHead
  vector?: { readonly rank: number; readonly distance: number }
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

/** BM25 squashed into [0,1) as s/(s+TEXT_HALF): the evidence of a match on its own, with no query to compare to. */
export const textRelevance = (bm25: number): number => bm25 <= 0 ? 0 : bm25 / (bm25 + TEXT_HALF)

/**
 * Text relevance of a search hit: `best / (best + TEXT_HALF) x (bm25 / best)^2`, where `best` is the BM25 of the
 * query's best match among the memories that pass the filters. The best match keeps its evidence on its own scale (a
 * match on "the" alone stays near 0); every other match falls with the square of its BM25 against the best.
 * Squashing each score on its own (s/(s+4)) put the hits of a long query within a few hundredths of each other,
 * where confidence's up to 20% (then; 10% between stated and inferred) reordered relevant and irrelevant hits;
 * squared ratios, with confidence now worth at most 10% (5% between stated and inferred, see `combineScore`), let
 * confidence swap two hits only when their BM25 is within ~2.6% — a near-tie, such as near-duplicates of one text. `best` is the head of the text ranking, read first and never changed by reading
 * deeper, so the score stays monotone down the ranking and boundable.
 */
export const queryTextRelevance = (bm25: number, best: number): number => {
  if (bm25 <= 0) return 0
  const top = Math.max(best, bm25)
  const ratio = bm25 / top
  return (top / (top + TEXT_HALF)) * ratio * ratio
}

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
 * `weight x relevance x (K+1)/(K+rank)`, text relevance as `queryTextRelevance` against the best BM25 `bestText`;
 * the votes are summed and divided by the total weight. First in both rankings with full relevance is 1; a memory
 * that shares only "the" with the query stays near 0 however high it ranks (plain RRF would call the best of a bad
 * lot fully relevant). Ranks are places in the whole ranking of the memories that pass the filters, so a vote is
 * monotone down each ranking: the bound `rankingTopK` proves the top k with. A ranking a memory is not in (no word
 * matched) votes 0.
 */
export const fusedRelevance = (c: Votes, weights: FusionWeights, bestText: number): number => {
  const total = weights.vector + weights.text
  if (total <= 0) return 0
  const vote = (weight: number, relevance: number, rank: number) => weight * relevance * (RRF_K + 1) / (RRF_K + rank)
  const v = c.vector ? vote(weights.vector, vectorRelevance(c.vector.distance), c.vector.rank) : 0
  const t = c.text ? vote(weights.text, queryTextRelevance(c.text.score, bestText), c.text.rank) : 0
  return Math.min(1, Math.max(0, (v + t) / total))
}

