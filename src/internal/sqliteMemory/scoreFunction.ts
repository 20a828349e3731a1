/**
 * The score contract as an SQL function of the store's read connection, so that a search over a small filtered set
 * ranks it whole in one statement (`ORDER BY score DESC ... LIMIT k`) instead of reading each ranking deep and
 * proving the page in JavaScript. The function is `rankingTopK.hitScore`, the code every other search scores with,
 * called by SQLite once per row: one source for the formula, and a page equal to the one `exactTop` proves.
 */
import { ConfidenceSource } from "../../Memory.js"
import type { ConfidenceInputs, SearchMode } from "../../Memory.js"
import type { ScoreOptions } from "../rankingTopK.js"
import { hitScore } from "../rankingTopK.js"

/** The function's name in SQL. */
export const SCORE_FUNCTION = "arawn_search_score"

/**
 * The same for a vector search, whose relevance needs no rank: now (epoch ms), minScore (NULL: none), then per row
 * the distance, source, reinforcement count, superseded flag and last access. Fewer arguments cost less per row.
 */
export const VECTOR_SCORE_FUNCTION = "arawn_vector_score"

/**
 * Its arguments, in order: the search's mode, vector and text weights, now (epoch ms) and minScore (NULL: none),
 * then per row the best BM25 of the set, the vector distance and rank (NULL: not in that ranking), the BM25 and text
 * rank (NULL likewise), and the memory's source, reinforcement count, superseded flag (0/1) and last access (ms).
 */
export const SCORE_ARGUMENTS = 14

const SOURCES: ReadonlySet<unknown> = new Set(ConfidenceSource.literals)
const isSource = (u: unknown): u is ConfidenceSource => SOURCES.has(u)
const isMode = (u: unknown): u is SearchMode => u === "vector" || u === "text" || u === "hybrid"
const num = (u: unknown, name: string): number => {
  if (typeof u !== "number") throw new TypeError(`${SCORE_FUNCTION}: ${name} is not a number`)
  return u
}
const optional = (u: unknown, name: string): number | undefined => (u === null ? undefined : num(u, name))

/**
 * The SQL functions' bodies: the row's score, or NULL when it is not a hit. Arguments failing their types throw. A
 * vector relevance does not depend on the rank, so the vector function passes a placeholder one.
 */
export const makeScoreFunction = () => {
  // A statement passes the same search options to every row: they are built once per search, not once per row.
  let last: ScoreOptions | undefined
  const optionsOf = (mode: unknown, vector: unknown, text: unknown, now: unknown, min: unknown): ScoreOptions => {
    const minScore = optional(min, "minScore")
    if (
      last !== undefined && last.mode === mode && last.weights.vector === vector && last.weights.text === text &&
      last.nowMillis === now && last.minScore === minScore
    ) return last
    if (!isMode(mode)) throw new TypeError(`${SCORE_FUNCTION}: unknown mode`)
    last = { mode, weights: { vector: num(vector, "weight"), text: num(text, "weight") }, nowMillis: num(now, "now"), limit: 0, minScore }
    return last
  }
  return {
    any: (...args: ReadonlyArray<unknown>): number | null => {
      const [mode, wv, wt, now, min, best, distance, vrank, bm25, trank, source, reinforcement, superseded, lastAccessed] = args
      const o = optionsOf(mode, wv, wt, now, min)
      const vd = optional(distance, "distance")
      const ts = optional(bm25, "bm25")
      const score = hitScore(
        {
          vector: vd === undefined ? undefined : { rank: num(vrank, "rank"), distance: vd },
          text: ts === undefined ? undefined : { rank: num(trank, "rank"), score: ts }
        },
        headOf(source, reinforcement, superseded, lastAccessed),
        o,
        num(best, "best")
      )
      return score === undefined ? null : score
    },
    vector: (...args: ReadonlyArray<unknown>): number | null => {
      const [now, min, distance, source, reinforcement, superseded, lastAccessed] = args
      const o = optionsOf("vector", 0, 0, now, min)
      const score = hitScore({ vector: { rank: 1, distance: num(distance, "distance") } }, headOf(source, reinforcement, superseded, lastAccessed), o, 0)
      return score === undefined ? null : score
    }
  }
}

const headOf = (source: unknown, reinforcement: unknown, superseded: unknown, lastAccessed: unknown): ConfidenceInputs => {
  if (!isSource(source)) throw new TypeError(`${SCORE_FUNCTION}: unknown source`)
  return {
    source,
    reinforcementCount: num(reinforcement, "reinforcement"),
    superseded: superseded === 1,
    lastAccessedMillis: num(lastAccessed, "lastAccessed")
  }
}
