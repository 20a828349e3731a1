/**
 * The exact top k of a search without a fixed read depth: the rankings are read in growing batches until the k best
 * scores are known exactly and nothing not yet read (nor any memory whose other vote is still unknown) can beat
 * them. It is the no-random-access form of Fagin's threshold algorithm: every score is monotone down each ranking
 * (BM25 and cosine fall, ranks grow) and the score contract is monotone in each vote, so a memory ranked below the
 * last one read in a ranking gets at most the vote of a memory at the next rank with the last score read.
 */
import { Effect } from "effect"
import type { FusionWeights } from "../Embedder.js"
import type { MemoryId } from "../Ids.js"
import type { ConfidenceInputs, Explain, Memory, SearchMode } from "../Memory.js"
import { combineScore, confidenceAt } from "../Memory.js"
import type { Candidate, CandidateHead, TextCandidate, VectorCandidate, Votes } from "./ranking.js"
import { fusedRelevance, isRelevant, queryTextRelevance, vectorRelevance } from "./ranking.js"

/** The first read of each ranking: twice the limit, and never so shallow that a short page costs many round trips. */
export const firstDepth = (limit: number): number => Math.max(2 * limit, 32)

/**
 * The first read of the vector ranking, deeper than the text one's: an exact vector read (a small or filtered set)
 * scans every vector whatever its depth, so a shallow first read would only repeat the scan, and vector relevance
 * is flat enough that proving a page usually takes a few hundred.
 */
export const firstVectorDepth = (limit: number): number => Math.max(2 * limit, 200)

/** How much deeper each further read goes: a ranking read n times costs at most 4/3 of its last read. */
export const GROWTH = 4

/**
 * The deepest a hybrid search reads a ranking. Fusion votes by rank, so a text hit's exact score needs its place in
 * the vector ranking, which holds every memory: proving a hybrid page can take reading most of a large store
 * (measured: ~7k of 20k vectors at limit 10), and each deeper read costs about a whole fixed-depth search. Up to
 * this depth (the whole filtered set of a store up to this size) the hybrid page is proven exact like the others;
 * past it, it is the page scored over what was read, its missing
 * votes counted as 0, as a fixed-depth read scores it. Text and vector pages, one ranking each, are always exact.
 * A driver with `rankedSearch` ranks a filtered set up to its exact-scan size whole, and its hybrid pages are exact
 * up to that size whatever this cap.
 */
export const hybridDepthCap = (limit: number): number => Math.max(512, 2 * firstVectorDepth(limit))

/** A ranking as read so far: its first `items` (best first) and whether they are all there is. */
export interface RankingRead<C> {
  readonly items: ReadonlyArray<C>
  readonly depth: number
  /** True when the driver returned fewer than asked: the ranking holds nothing more. */
  readonly exhausted: boolean
}

/** The options of one search's scoring. */
export interface ScoreOptions {
  readonly mode: SearchMode
  readonly weights: FusionWeights
  readonly nowMillis: number
  readonly limit: number
  readonly minScore?: number | undefined
}

/** A scored candidate, before its row is read. */
export interface Scored {
  readonly head: CandidateHead
  readonly score: number
  readonly explain: Explain
}

/** Score desc, then createdAt desc, then id asc: the score contract's order. */
export const byScore = (a: Scored, b: Scored): number =>
  b.score - a.score || b.head.createdAtMillis - a.head.createdAtMillis || (a.head.id < b.head.id ? -1 : a.head.id > b.head.id ? 1 : 0)

const empty: RankingRead<never> = { items: [], depth: 0, exhausted: true }

/** Which rankings a search reads: the mode's own, and in hybrid only those with weight. */
export const usesVector = (o: ScoreOptions): boolean => o.mode === "vector" || (o.mode === "hybrid" && o.weights.vector > 0)
export const usesText = (o: ScoreOptions): boolean => o.mode === "text" || (o.mode === "hybrid" && o.weights.text > 0)

/** Merges the rankings read into candidates keyed by memory id, each with its 1-based rank in each. */
const merge = (vector: ReadonlyArray<VectorCandidate>, text: ReadonlyArray<TextCandidate>): Array<Candidate> => {
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

/** Relevance by mode; `bestText` is the BM25 of the text ranking's head. */
const relevanceOf = (c: Votes, o: ScoreOptions, bestText: number): number =>
  o.mode === "vector"
    ? (c.vector ? vectorRelevance(c.vector.distance) : 0)
    : o.mode === "text"
    ? (c.text ? queryTextRelevance(c.text.score, bestText) : 0)
    : fusedRelevance(c, o.weights, bestText)

const explainOf = (c: Candidate, o: ScoreOptions, relevance: number, confidence: number, bestText: number): Explain => ({
  mode: o.mode,
  relevance,
  confidence,
  ...(c.vector
    ? { vectorRank: c.vector.rank, vectorDistance: c.vector.distance, vectorRelevance: vectorRelevance(c.vector.distance) }
    : {}),
  ...(c.text ? { textRank: c.text.rank, textScore: c.text.score, textRelevance: queryTextRelevance(c.text.score, bestText) } : {}),
  ...(o.mode === "hybrid" ? { weights: o.weights } : {})
})

/** A candidate's score when it is a hit (some relevance, at least `minScore`), with its explanation. */
const scoredOf = (c: Candidate, o: ScoreOptions, bestText: number): Scored | undefined => {
  const relevance = relevanceOf(c, o, bestText)
  const confidence = confidenceAt(c.head, o.nowMillis)
  const score = combineScore(relevance, confidence)
  return isRelevant(relevance) && (o.minScore === undefined || score >= o.minScore)
    ? { head: c.head, score, explain: explainOf(c, o, relevance, confidence, bestText) }
    : undefined
}

/**
 * The score of a memory whose places in both rankings are known, or undefined when it is not a hit: what a driver
 * that ranks a whole filtered set in one statement sorts by (SQLite calls it per row), so that its page is the one
 * this module would prove.
 */
export const hitScore = (c: Votes, head: ConfidenceInputs, o: ScoreOptions, bestText: number): number | undefined => {
  const relevance = relevanceOf(c, o, bestText)
  const score = combineScore(relevance, confidenceAt(head, o.nowMillis))
  return isRelevant(relevance) && (o.minScore === undefined || score >= o.minScore) ? score : undefined
}

/** A memory with its places in every ranking of a search already known (a driver's whole-set ranking). */
export interface Ranked extends Votes {
  readonly head: CandidateHead
}

/**
 * A driver's page of a filtered set ranked whole, best first, with the set's best BM25 (0 without text hits) and,
 * when the ranking statement read them too, the page's memories as stored (so they are not read a second time).
 */
export interface RankedPage {
  readonly rows: ReadonlyArray<Ranked>
  readonly bestText: number
  readonly memories?: ReadonlyArray<Memory>
}

/**
 * The page of a driver that ranked the whole filtered set itself, by `hitScore`: its rows (best first, at most
 * `limit`) scored and explained as `exactTop` would, `bestText` being the best BM25 of the set.
 */
export const pageOfRanked = (rows: ReadonlyArray<Ranked>, o: ScoreOptions, bestText: number): Array<Scored> =>
  rows.flatMap((r) => {
    const scored = scoredOf({ head: r.head, ...(r.vector ? { vector: r.vector } : {}), ...(r.text ? { text: r.text } : {}) }, o, bestText)
    return scored === undefined ? [] : [scored]
  }).sort(byScore).slice(0, o.limit)

/** What a search has proven so far: the page when it is final, else which rankings must be read deeper. */
export type Verdict =
  | { readonly _tag: "Proven"; readonly page: Array<Scored> }
  | { readonly _tag: "Deeper"; readonly vector: boolean; readonly text: boolean }

/**
 * Scores what has been read and decides whether it proves the top `limit`. Each candidate gets its score with the
 * votes it lacks counted as 0 and a ceiling with each lacking vote at its ranking's bound (the next rank, the last
 * score read, full confidence for a memory not read at all); a candidate is known when the two meet. The page is
 * proven when its `limit` best known candidates all beat the ceiling of everything else, or when nothing else can
 * reach `minScore` or any relevance at all.
 */
export const judge = (
  vector: RankingRead<VectorCandidate>,
  text: RankingRead<TextCandidate>,
  o: ScoreOptions
): Verdict => {
  const { known, open, unread } = weigh(vector, text, o)
  const page = known.sort(byScore).slice(0, o.limit)
  const cut = Math.max(page.length === o.limit ? page[o.limit - 1]!.score : 0, o.minScore ?? 0)
  // Strictly below the cut, or no relevance at all, is out: an equal score could still win on the tie-breaks.
  const contends = (upper: number) => upper > 0 && upper >= cut
  const contenders = open.filter((u) => contends(u.upper))
  if (contenders.length === 0 && !contends(unread.upper)) return { _tag: "Proven", page }
  // Reading deeper lowers a ranking's bound and places the memories it holds: read each whose bound still counts
  // (a vote whose bound is 0 is known to be 0), for a contender lacking its vote or for the memories not read.
  return {
    _tag: "Deeper",
    vector: unread.vector && (contends(unread.upper) || contenders.some((u) => u.vector)),
    text: unread.text && (contends(unread.upper) || contenders.some((u) => u.text))
  }
}

/** The page scored over what was read, each missing vote counted as 0 (what a hybrid search past its cap returns). */
export const settle = (vector: RankingRead<VectorCandidate>, text: RankingRead<TextCandidate>, o: ScoreOptions): Array<Scored> => {
  const { known, open } = weigh(vector, text, o)
  return [...known, ...open.flatMap((u) => u.scored)].sort(byScore).slice(0, o.limit)
}

interface Open {
  readonly upper: number
  readonly vector: boolean
  readonly text: boolean
  /** Its score with the missing votes as 0, when that is a hit. */
  readonly scored: ReadonlyArray<Scored>
}

/** Every candidate read, known (both bounds meet) or open (its ceiling above its score), and the unread's ceiling. */
const weigh = (vector: RankingRead<VectorCandidate>, text: RankingRead<TextCandidate>, o: ScoreOptions) => {
  const bestText = text.items[0]?.score ?? 0
  const lastV = vector.items[vector.items.length - 1]
  const lastT = text.items[text.items.length - 1]
  // A memory below the last one read: next rank, same score. Nothing when the ranking is complete.
  const nextV = vector.exhausted || lastV === undefined ? undefined : { rank: vector.items.length + 1, distance: lastV.distance }
  const nextT = text.exhausted || lastT === undefined ? undefined : { rank: text.items.length + 1, score: lastT.score }
  const known: Array<Scored> = []
  const open: Array<Open> = []
  for (const c of merge(vector.items, text.items)) {
    const confidence = confidenceAt(c.head, o.nowMillis)
    const score = combineScore(relevanceOf(c, o, bestText), confidence)
    const upper = combineScore(relevanceOf({ vector: c.vector ?? nextV, text: c.text ?? nextT }, o, bestText), confidence)
    const scored = scoredOf(c, o, bestText)
    const hit = scored === undefined ? [] : [scored]
    if (upper > score) open.push({ upper, vector: c.vector === undefined, text: c.text === undefined, scored: hit })
    else known.push(...hit)
  }
  // A memory not read at all: both bounds, and confidence at most 1.
  const unread = {
    upper: combineScore(relevanceOf({ vector: nextV, text: nextT }, o, bestText), 1),
    vector: relevanceOf({ vector: nextV }, o, bestText) > 0,
    text: relevanceOf({ text: nextT }, o, bestText) > 0
  }
  return { known, open, unread }
}

/** The driver's ranking primitives, each read to a depth. */
export interface Rankings<E> {
  readonly vector: (depth: number) => Effect.Effect<ReadonlyArray<VectorCandidate>, E>
  readonly text: (depth: number) => Effect.Effect<ReadonlyArray<TextCandidate>, E>
}

const readTo = <C, E>(read: (depth: number) => Effect.Effect<ReadonlyArray<C>, E>, depth: number) =>
  Effect.map(read(depth), (items): RankingRead<C> => ({ items, depth, exhausted: items.length < depth }))

/**
 * Both reads, side by side when the search reads both rankings (a driver may run them on two threads); a search
 * of one ranking reads it without forking a fiber beside the empty other.
 */
const both = <V, T, E>(o: ScoreOptions, [vector, text]: readonly [Effect.Effect<V, E>, Effect.Effect<T, E>]) =>
  usesVector(o) && usesText(o) ? Effect.all([vector, text], { concurrency: 2 }) : Effect.all([vector, text])

/** The proven top `limit`, with how deep each ranking was read (for spans and benches). */
export interface TopK {
  readonly page: Array<Scored>
  readonly depth: { readonly vector: number; readonly text: number }
  /** False for a hybrid page settled at its depth cap (see `hybridDepthCap`). */
  readonly proven: boolean
}

/**
 * The first read of the vector ranking of a search of `mode`. A hybrid search reads it to its cap at once: votes by
 * rank leave a text hit's score open until its vector place is read, and a hybrid page of a store too large to rank
 * whole was measured to need the cap (10k memories, limit 10: 88 of 100 searches read to it, every one at limit
 * 100), so a shallower first read was a second read of the dearest ranking, repeated.
 */
export const firstVectorRead = (mode: SearchMode, limit: number): number =>
  mode === "hybrid" ? hybridDepthCap(limit) : firstVectorDepth(limit)

/**
 * The first read of the text ranking of a search of `mode`: a hybrid search reads at least `HYBRID_TEXT_READ` at
 * once. A text read ranks every match whatever its depth, so its cost is the whole statement each time, and a
 * hybrid page needed the text ranking past its first `firstDepth` in most searches (10k memories, limit 10: 65 of
 * 100 read it to 128, a second whole statement; at 100k that statement is ~32 ms). A text search is proven at its
 * first depth, and reads no more.
 */
export const firstTextRead = (mode: SearchMode, limit: number): number =>
  mode === "hybrid" ? Math.max(firstDepth(limit), HYBRID_TEXT_READ) : firstDepth(limit)

const HYBRID_TEXT_READ = 128

/**
 * The exact top `limit` under the score contract over every memory the rankings hold: the rankings are read
 * `firstTextRead(mode, limit)` and `firstVectorRead(mode, limit)` deep, then `GROWTH` times deeper while `judge`
 * asks for it. The page equals the one scored
 * over the whole rankings, so its head never depends on the limit (a hybrid page read to its cap excepted).
 */
export const exactTop = <E>(rankings: Rankings<E>, o: ScoreOptions): Effect.Effect<TopK, E> =>
  Effect.gen(function*() {
    let [vector, text] = yield* both(o, [
      usesVector(o) ? readTo(rankings.vector, firstVectorRead(o.mode, o.limit)) : Effect.succeed<RankingRead<VectorCandidate>>(empty),
      usesText(o) ? readTo(rankings.text, firstTextRead(o.mode, o.limit)) : Effect.succeed<RankingRead<TextCandidate>>(empty)
    ])
    const cap = o.mode === "hybrid" ? hybridDepthCap(o.limit) : Infinity
    const deeper = (read: RankingRead<unknown>) => Math.min(cap, read.depth * GROWTH)
    for (;;) {
      const verdict = judge(vector, text, o)
      const depth = { vector: vector.depth, text: text.depth }
      if (verdict._tag === "Proven") return { page: verdict.page, depth, proven: true }
      const readV = verdict.vector && deeper(vector) > vector.depth
      const readT = verdict.text && deeper(text) > text.depth
      if (!readV && !readT) return { page: settle(vector, text, o), depth, proven: false }
      ;[vector, text] = yield* both(o, [
        readV ? readTo(rankings.vector, deeper(vector)) : Effect.succeed(vector),
        readT ? readTo(rankings.text, deeper(text)) : Effect.succeed(text)
      ])
    }
  })
