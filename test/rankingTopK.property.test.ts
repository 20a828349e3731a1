import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import type { MemoryId } from "../src/Ids.js"
import type { TextCandidate, VectorCandidate } from "../src/internal/ranking.js"
import { exactTop, hybridDepthCap, judge, settle } from "../src/internal/rankingTopK.js"
import type { RankingRead, ScoreOptions, Scored } from "../src/internal/rankingTopK.js"

type Arbitrary<T> = T extends fc.Arbitrary<infer A> ? A : never
const DAY = 86_400_000
const NOW = 1_000 * DAY

/** One memory as both rankings see it: few distinct values, so ties in score and in createdAt are common. */
const memory = fc.record({
  distance: fc.constantFrom(0, 0.1, 0.25, 0.4, 0.5, 0.7, 0.9, 1, 1.2),
  bm25: fc.option(fc.constantFrom(0.5, 1, 2.5, 4, 6, 9, 15), { nil: undefined }),
  createdDay: fc.integer({ min: 0, max: 5 }),
  source: fc.constantFrom("stated", "system", "observed", "inferred" as const),
  reinforcementCount: fc.integer({ min: 0, max: 6 }),
  superseded: fc.boolean(),
  idleDays: fc.constantFrom(0, 10, 60, 200, 500)
})

const options = fc.record({
  mode: fc.constantFrom("text", "vector", "hybrid" as const),
  weights: fc.record({ vector: fc.constantFrom(0, 0.3, 0.5, 1), text: fc.constantFrom(0, 0.5, 0.7, 1) }),
  limit: fc.integer({ min: 1, max: 40 }),
  minScore: fc.option(fc.constantFrom(0.05, 0.2, 0.4, 0.6), { nil: undefined })
})

/** The whole rankings, in each driver's order (score, then createdAt desc, then id asc). */
const rankingsOf = (memories: ReadonlyArray<Arbitrary<typeof memory>>) => {
  const heads = memories.map((m, i) => ({
    id: `m${String(i).padStart(4, "0")}` as MemoryId,
    createdAtMillis: m.createdDay * DAY,
    source: m.source,
    reinforcementCount: m.reinforcementCount,
    superseded: m.superseded,
    lastAccessedMillis: NOW - m.idleDays * DAY
  }))
  const tie = (a: { createdAtMillis: number; id: string }, b: { createdAtMillis: number; id: string }) =>
    b.createdAtMillis - a.createdAtMillis || (a.id < b.id ? -1 : 1)
  const vector: Array<VectorCandidate> = heads.map((h, i) => ({ ...h, distance: memories[i]!.distance }))
    .sort((a, b) => a.distance - b.distance || tie(a, b))
  const text: Array<TextCandidate> = heads.flatMap((h, i) => {
    const score = memories[i]!.bm25
    return score === undefined ? [] : [{ ...h, score }]
  }).sort((a, b) => b.score - a.score || tie(a, b))
  return { vector, text }
}

const whole = <C>(items: ReadonlyArray<C>): RankingRead<C> => ({ items, depth: items.length + 1, exhausted: true })

describe("exact top k", () => {
  it("equals the brute-force page over the whole rankings, in every mode, with confidence, weights and minScore varied", () =>
    fc.assert(
      fc.property(fc.array(memory, { maxLength: 400, size: "max" }), options, (memories, o) => {
        const { text, vector } = rankingsOf(memories)
        const score: ScoreOptions = { ...o, nowMillis: NOW }
        const brute = judge(whole(vector), whole(text), score)
        expect(brute._tag).toBe("Proven")
        const proven = Effect.runSync(exactTop({
          vector: (depth) => Effect.succeed(vector.slice(0, depth)),
          text: (depth) => Effect.succeed(text.slice(0, depth))
        }, score))
        // Ranks in explain are those of the rankings read: a vote known to be 0 (no weight, no relevance) needs none.
        const view = (page: ReadonlyArray<Scored>) =>
          page.map((s) => ({ id: s.head.id, score: s.score, relevance: s.explain.relevance, confidence: s.explain.confidence }))
        expect(view(proven.page)).toEqual(brute._tag === "Proven" ? view(brute.page) : [])
      }),
      { numRuns: 400 }
    ))

  it("reads no deeper than it must: a text search whose head clearly wins stops at the first batch", () => {
    const memories = Array.from({ length: 1000 }, (_, i): Arbitrary<typeof memory> => ({
      distance: 0.5,
      bm25: i < 10 ? 15 : 1,
      createdDay: 0,
      source: "observed",
      reinforcementCount: 0,
      superseded: false,
      idleDays: 0
    }))
    const { text, vector } = rankingsOf(memories)
    const reads: Array<number> = []
    const proven = Effect.runSync(exactTop({
      vector: (depth) => Effect.succeed(vector.slice(0, depth)),
      text: (depth) => Effect.sync(() => (reads.push(depth), text.slice(0, depth)))
    }, { mode: "text", weights: { vector: 0.5, text: 0.5 }, limit: 10, nowMillis: NOW }))
    expect(proven.page).toHaveLength(10)
    expect(reads).toEqual([32])
  })

  it("a hybrid search reads no ranking past its cap, and settles on the page scored over what it read", () => {
    // Flat vector distances and text scores spread over the whole store: a text hit's vector rank stays unknown, so
    // only reading (nearly) everything could prove the page.
    const memories = Array.from({ length: 20_000 }, (_, i): Arbitrary<typeof memory> => ({
      distance: ([0.4, 0.5, 0.7] as const)[i % 3]!,
      bm25: i % 3 === 1 ? ([1, 2.5, 4, 6, 9] as const)[i % 5]! : undefined,
      createdDay: i % 5,
      source: i % 2 === 0 ? "stated" : "inferred",
      reinforcementCount: 0,
      superseded: false,
      idleDays: 0
    }))
    const { text, vector } = rankingsOf(memories)
    const reads: Array<number> = []
    const o: ScoreOptions = { mode: "hybrid", weights: { vector: 0.5, text: 0.5 }, limit: 10, nowMillis: NOW }
    const found = Effect.runSync(exactTop({
      vector: (depth) => Effect.sync(() => (reads.push(depth), vector.slice(0, depth))),
      text: (depth) => Effect.sync(() => (reads.push(depth), text.slice(0, depth)))
    }, o))
    expect(Math.max(...reads)).toBe(hybridDepthCap(10))
    expect(found.proven).toBe(false)
    const read = <C>(items: ReadonlyArray<C>): RankingRead<C> => ({ items: items.slice(0, found.depth.vector), depth: found.depth.vector, exhausted: false })
    expect(found.page.map((s) => s.head.id)).toEqual(settle(read(vector), { ...read(text), depth: found.depth.text, items: text.slice(0, found.depth.text) }, o).map((s) => s.head.id))
    expect(found.page).toHaveLength(10)
  })
})
