/**
 * What MemoryBackend's methods return besides memories (why a hit ranked, the outcome of a fact, store statistics,
 * reindex progress) and the search settings an explanation names. Re-exported by `Memory`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { EmbeddingSpace } from "./Errors.js"
import type { MemoryId } from "./Ids.js"

const Weight = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())

/** Relative weights of the vector and text rankings in hybrid fusion. @category models */
export const FusionWeights = Schema.Struct({ vector: Weight, text: Weight }).pipe(
  Schema.filter((w) => w.vector + w.text > 0 || "fusion weights must not both be 0")
)
/** @category models */
export type FusionWeights = typeof FusionWeights.Type

/** @category inputs */
export const SearchMode = Schema.Literal("hybrid", "vector", "text")
/** @category inputs */
export type SearchMode = typeof SearchMode.Type

/** Why a match ranked where it did. @category models */
export interface Explain {
  readonly mode: SearchMode
  /** 1-based rank in the vector ranking, when the memory was in it. */
  readonly vectorRank?: number
  /** Cosine distance between the query and memory vectors (0 = same direction, 2 = opposite). */
  readonly vectorDistance?: number
  /** 1-based rank in the text (BM25) ranking, when the memory matched the words. */
  readonly textRank?: number
  /** BM25 score of the text match (higher is better). */
  readonly textScore?: number
  /** Vector relevance in [0,1]: cosine similarity clipped at 0, i.e. `max(0, 1 - vectorDistance)`. */
  readonly vectorRelevance?: number
  /**
   * Text relevance in [0,1): `best / (best + 4) x (textScore / best)²`, where `best` is the BM25 of the query's best
   * text match. The best match keeps its own evidence (0.5 is about one distinctive word matched), and the square
   * spreads the others so that confidence (see `score`) reorders only matches within about 2.6% of each other's BM25.
   */
  readonly textRelevance?: number
  /** Hybrid only: the fusion weights used (per call, else the Embedder's defaults). */
  readonly weights?: FusionWeights
  /**
   * Relevance in [0,1]: vector mode `vectorRelevance`, text mode `textRelevance`, hybrid their weighted mean
   * discounted by rank, `Σ weight x relevance x 61 / (60 + rank) / (weights.vector + weights.text)` over both
   * rankings (ranks among the memories that pass the filters), a signal absent from its ranking counting as 0.
   */
  readonly relevance: number
  /**
   * Confidence in [0,1]: source base x reinforcement x staleness, 0 when superseded. It enters the score as
   * `relevance x (0.9 + 0.1 x confidence)` (`combineScore`): a tie-break, worth at most 11% of relevance.
   */
  readonly confidence: number
}

/** @category models */
export type FactOutcome = "inserted" | "reinforced" | "superseded"

/** @category models */
export interface StoreFactResult {
  /** The new memory's id, or the reinforced one's. */
  readonly id: MemoryId
  readonly outcome: FactOutcome
  readonly supersededIds: ReadonlyArray<MemoryId>
}

/** @category models */
export interface MemoryStats {
  readonly memories: number
  readonly vectors: number
  readonly embedder: EmbeddingSpace
  /** True when the stored vectors come from another embedder (see `EmbeddingSpaceMismatch`). */
  readonly stale: boolean
}

/** @category models */
export interface ReindexProgress {
  readonly done: number
  readonly total: number
}
