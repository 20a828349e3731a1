/** The MemoryBackend suite's search cases: modes, filters, the score contract, ranking. */
import { expect } from "@effect/vitest"
import { DateTime, Duration, Effect, TestClock } from "effect"
import { MemoryId } from "../Ids.js"


import type { MemoryMatch } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { outcome, token, untyped, uuid } from "./internal.js"
import { expectContract, sid } from "./memorySuiteSupport.js"
import type { Seed, Test } from "./memorySuiteSupport.js"

export const searchTests = (test: Test, seed: Seed) => {
  // --- search ------------------------------------------------------------------------------------------------

  test("text search finds memories by their words, best first, within the score contract", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const [both, one] = yield* seed(s, [
        { content: `${w} rust borrow checker notes` },
        { content: `${w} python notes` },
        { content: "nothing relevant here" }
      ])
      const hits = yield* m.search(`${w} rust`, { sessionId: s, mode: "text" })
      expect(hits.map((h) => h.memory.id)).toEqual([both, one])
      expectContract(hits)
      expect(hits[0]!.explain.textRank).toBe(1)
      expect(hits[0]!.explain.mode).toBe("text")
      expect(hits[0]!.explain.textScore!).toBeGreaterThan(hits[1]!.explain.textScore!)
    }))

  test("text search treats operators and quotes as words, never as query syntax", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const [id] = yield* seed(s, [{ content: `${w} uses NEAR and OR as words` }])
      for (const q of [`"${w}`, `${w} OR`, `${w}*`, `(${w}`, `NEAR(${w})`, `${w}'; DROP TABLE memories; --`, `"`, `*`, `AND`]) {
        const hits = yield* m.search(q, { sessionId: s, mode: "text" })
        expect(Array.isArray(hits)).toBe(true)
        if (q.includes(w)) expect(hits.map((h) => h.memory.id)).toEqual([id])
      }
      for (const q of [`"${w}`, `NEAR(${w})`]) {
        expect((yield* m.search(q, { sessionId: s })).map((h) => h.memory.id)).toContain(id)
      }
    }))

  test("a memory without relevance to the query is no hit, in every mode, whatever its confidence", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const namespace = token()
      const { dimensions } = (yield* m.stats()).embedder
      // Opposite vectors: whatever the query's vector, at most one of them has a positive cosine with it, and
      // neither shares a word with the query.
      const axis = (sign: number) => Array.from({ length: dimensions }, (_, i) => (i === 0 ? sign : 0))
      yield* m.storeMany([
        { namespace, content: "alpha beta gamma", embedding: axis(1), source: "stated" },
        { namespace, content: "delta epsilon zeta", embedding: axis(-1), source: "stated" }
      ])
      const query = `${token()} quantum harbour`
      for (const mode of ["hybrid", "vector", "text"] as const) {
        const hits = yield* m.search(query, { namespace, mode })
        expect(hits.length, mode).toBeLessThan(2)
        for (const h of hits) expect(h.explain.relevance, mode).toBeGreaterThan(0)
      }
      expect(yield* m.search(query, { namespace, mode: "text" })).toEqual([])
    }))

  test("vector search ranks an identical text first with distance ~0", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const ids = yield* seed(s, [
        { content: "the cache is backed by redis" },
        { content: "memories live in sqlite with vectors" },
        { content: "the quarterly report is due friday" }
      ])
      const hits = yield* m.search("memories live in sqlite with vectors", { sessionId: s, mode: "vector" })
      // The others are hits only if their vectors point somewhat the same way (a positive cosine).
      expect(hits.length).toBeGreaterThanOrEqual(1)
      for (const h of hits) expect(h.explain.relevance).toBeGreaterThan(0)
      expect(hits[0]!.memory.id).toBe(ids[1])
      expect(hits[0]!.explain.vectorDistance!).toBeLessThan(1e-3)
      expect(hits[0]!.explain.relevance).toBeGreaterThan(0.99)
      expect(hits[0]!.explain.vectorRank).toBe(1)
      expectContract(hits)
    }))

  test("hybrid (the default) fuses both rankings and explains both ranks", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const [target] = yield* seed(s, [
        { content: `${w} postgres migrations run at startup` },
        { content: "unrelated gardening tips" },
        { content: `${w} is mentioned once` }
      ])
      const hits = yield* m.search(`${w} postgres migrations`, { sessionId: s })
      expect(hits[0]!.memory.id).toBe(target)
      expect(hits[0]!.explain.mode).toBe("hybrid")
      expect(hits[0]!.explain.textRank).toBe(1)
      expect(hits[0]!.explain.vectorRank).toBe(1)
      const { relevance, textRelevance, vectorRelevance, weights } = hits[0]!.explain
      expect(relevance).toBeCloseTo(
        (weights!.vector * vectorRelevance! + weights!.text * textRelevance!) / (weights!.vector + weights!.text),
        9
      )
      for (const h of hits.slice(1)) expect(h.explain.relevance).toBeLessThan(relevance)
      expectContract(hits)
    }))

  test("hybrid relevance is evidence, not rank: a match on a function word alone stays low", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const [notes] = yield* seed(s, [
        { content: `the ${w} release notes` },
        ...["cache is warm", "build is green", "queue is empty", "disk is full", "api is slow"].map((c) => ({
          content: `the ${c}`
        }))
      ])
      // Only "the" matches: whatever ranks first is still a poor match and must not look relevant (rank fusion
      // gave such a hit ~0.85). The query's text terms drop "the" beside a content word, so any hit comes from the
      // vector alone, and a hashed vector may share nothing with any of these (relevance 0: no hit at all).
      const weak = yield* m.search(`the ${token()}`, { sessionId: s })
      for (const h of weak) expect(h.explain.relevance).toBeLessThan(0.5)
      expectContract(weak)
      const strong = yield* m.search(`${w} release notes`, { sessionId: s })
      expect(strong[0]!.memory.id).toBe(notes)
      expect(strong[0]!.explain.relevance).toBeGreaterThan(Math.max(...weak.map((h) => h.explain.relevance)))
    }))

  test("fusion weights per call move hybrid towards one ranking", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      yield* seed(s, [{ content: `${w} alpha` }, { content: "alpha beta gamma delta" }])
      const textOnly = yield* m.search(`${w} alpha`, { sessionId: s, weights: { vector: 0, text: 1 } })
      const plainText = yield* m.search(`${w} alpha`, { sessionId: s, mode: "text" })
      expect(textOnly.map((h) => h.memory.id)).toEqual(plainText.map((h) => h.memory.id))
      expect(yield* outcome(m.search(w, { sessionId: s, weights: { vector: 0, text: 0 } }))).toBe("InvalidInput")
      expect(yield* outcome(m.search(w, { sessionId: s, weights: { vector: -1, text: 1 } }))).toBe("InvalidInput")
    }))

  test("filters apply before the limit: a rare match is found under many common ones", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      yield* seed(s, [
        ...Array.from({ length: 40 }, (_, i) => ({ content: `${w} common note ${i}`, metadata: { tags: ["bulk"] } })),
        ...Array.from({ length: 3 }, (_, i) => ({ content: `${w} rare fact ${i}`, contentType: "fact" as const, metadata: { tags: ["rare", "x"] } }))
      ])
      for (const mode of ["text", "vector", "hybrid"] as const) {
        const byType = yield* m.search(`${w} common note`, { sessionId: s, mode, contentTypes: ["fact"], limit: 3 })
        expect(byType.length).toBe(3)
        expect(byType.every((h) => h.memory.contentType === "fact")).toBe(true)
        const byTags = yield* m.search(`${w} common note`, { sessionId: s, mode, tags: ["rare", "x"], limit: 5 })
        expect(byTags.length).toBe(3)
        expect(yield* m.search(`${w}`, { sessionId: s, mode, tags: ["rare", "bulk"] })).toEqual([])
      }
      expect((yield* m.search(w, { sessionId: s, mode: "text", limit: 25 })).length).toBe(25)
    }))

  test("session, workstream and time filters", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const [s1, s2] = [sid(), sid()]
      const w = token()
      const early = yield* m.store({ content: `${w} early`, sessionId: s1, workstreamId: "alpha" })
      yield* TestClock.adjust(Duration.hours(2))
      const mid_ = yield* DateTime.now
      const late = yield* m.store({ content: `${w} late`, sessionId: s1, workstreamId: "beta" })
      const other = yield* m.store({ content: `${w} other session`, sessionId: s2, workstreamId: "alpha" })
      const ids = (xs: ReadonlyArray<MemoryMatch>) => xs.map((x) => x.memory.id).sort()
      expect(ids(yield* m.search(w, { sessionId: s1, mode: "text" }))).toEqual([early, late].sort())
      expect(ids(yield* m.search(w, { sessionId: s2, mode: "text" }))).toEqual([other])
      expect(ids(yield* m.search(w, { sessionId: s1, workstreamId: "alpha", mode: "text" }))).toEqual([early])
      expect(ids(yield* m.search(w, { sessionId: s1, since: mid_, mode: "hybrid" }))).toEqual([late])
      expect(ids(yield* m.search(w, { sessionId: s1, until: DateTime.subtract(mid_, { minutes: 1 }), mode: "vector" })))
        .toEqual([early])
    }))

  test("minScore drops weaker matches; bad options are InvalidInput", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      yield* seed(s, [{ content: `${w} stated`, source: "stated" }, { content: `${w} inferred`, source: "inferred" }])
      const all = yield* m.search(w, { sessionId: s, mode: "text" })
      expect(all.length).toBe(2)
      const cut = (all[0]!.score + all[1]!.score) / 2
      const strong = yield* m.search(w, { sessionId: s, mode: "text", minScore: cut })
      expect(strong.map((h) => h.memory.id)).toEqual([all[0]!.memory.id])
      expect(strong.every((h) => h.score >= cut)).toBe(true)
      expect(yield* outcome(m.search("", { sessionId: s }))).toBe("InvalidInput")
      expect(yield* outcome(m.search("   ", { sessionId: s }))).toBe("InvalidInput")
      expect(yield* outcome(m.search(w, { limit: 0 }))).toBe("InvalidInput")
      expect(yield* outcome(m.search(w, { limit: 1.5 }))).toBe("InvalidInput")
      expect(yield* outcome(m.search(w, { minScore: 1.5 }))).toBe("InvalidInput")
      expect(yield* outcome(m.search(w, { mode: untyped("fuzzy") }))).toBe("InvalidInput")
      expect(yield* outcome(m.search(w, { sessionId: "nope" }))).toBe("InvalidInput")
    }))

  test("confidence: a stated memory outranks an inferred one with the same text or a near-duplicate, in every mode", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const [inferred, stated] = yield* seed(s, [
        { content: `${w} same words`, source: "inferred" },
        { content: `${w} same words`, source: "stated" }
      ])
      for (const mode of ["vector", "text", "hybrid"] as const) {
        const hits = yield* m.search(`${w} same words`, { sessionId: s, mode })
        expect(hits.map((h) => h.memory.id)).toEqual([stated, inferred])
        expect(hits[0]!.explain.confidence).toBeCloseTo(1, 9)
        expect(hits[1]!.explain.confidence).toBeCloseTo(0.5, 9)
      }
      // A near-duplicate (case and punctuation apart), stored earlier: newer wins ties, so only confidence puts it first.
      const t = sid()
      const [nearStated, exactInferred] = yield* seed(t, [
        { content: `${w} Same words, again.`, source: "stated" },
        { content: `${w} same words again`, source: "inferred" }
      ])
      for (const mode of ["vector", "text", "hybrid"] as const) {
        expect((yield* m.search(`${w} same words again`, { sessionId: t, mode })).map((h) => h.memory.id)).toEqual([nearStated, exactInferred])
      }
      const observed = yield* m.store({ content: `${w} observed`, sessionId: s, source: "observed" })
      const system = yield* m.store({ content: `${w} system`, sessionId: s, source: "system" })
      const conf = new Map((yield* m.search(w, { sessionId: s, mode: "text" })).map((h) => [h.memory.id, h.explain.confidence]))
      expect(conf.get(observed)).toBeCloseTo(0.7, 9)
      expect(conf.get(system)).toBeCloseTo(0.9, 9)
    }))

  test("confidence decays with staleness: 1.0 fresh, ~0.3 after a year, between at 197 days", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      yield* m.store({ content: `${w} old news`, sessionId: s, source: "stated" })
      const at = Effect.map(m.search(w, { sessionId: s, mode: "text" }), (h) => h[0]!.explain.confidence)
      expect(yield* at).toBeCloseTo(1, 9)
      yield* TestClock.adjust(Duration.days(30))
      expect(yield* at).toBeCloseTo(1, 9)
      yield* TestClock.adjust(Duration.days(167))
      const mid_ = yield* at
      expect(mid_).toBeGreaterThan(0.5)
      expect(mid_).toBeLessThan(0.8)
      yield* TestClock.adjust(Duration.days(168))
      expect(yield* at).toBeCloseTo(0.3, 6)
      yield* TestClock.adjust(Duration.days(1000))
      expect(yield* at).toBeCloseTo(0.3, 6)
    }))

  test("the top k never depends on the limit asked: limit 10 returns the head of limit 100, in every mode", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const words = Array.from({ length: 12 }, () => token())
      const sources = ["stated", "inferred", "observed", "system"] as const
      yield* m.storeMany(Array.from({ length: 90 }, (_, i) => ({
        content: [0, 1, 2, 3].map((j) => words[(i * (j + 1) + j * 5) % words.length]!).join(" ") + ` filler ${i}`,
        sessionId: s,
        source: sources[i % 4]!
      })))
      for (const query of [words.slice(0, 3).join(" "), words.slice(4, 6).join(" "), `${words[7]} ${words[1]}`]) {
        for (const mode of ["text", "vector", "hybrid"] as const) {
          // Text statistics span the whole store, which other tests share and write to: the narrow search is
          // judged only between two broad ones that agree to the last digit. Even then a test beside it may have
          // stored and deleted a memory in between (the same state before and after, another one during), so a
          // narrow search that differs is judged again: a real dependence on the limit differs every time.
          let judged = false
          let last = { narrow: [] as ReadonlyArray<string>, broad: [] as ReadonlyArray<string> }
          for (let attempt = 0; attempt < 20 && !judged; attempt++) {
            const before = yield* m.search(query, { sessionId: s, mode, limit: 100 })
            const narrow = yield* m.search(query, { sessionId: s, mode, limit: 10 })
            const after = yield* m.search(query, { sessionId: s, mode, limit: 100 })
            const key = (h: MemoryMatch) => `${h.memory.id}:${h.score}`
            if (before.map(key).join() !== after.map(key).join()) continue
            last = { narrow: narrow.map(key), broad: before.slice(0, 10).map(key) }
            judged = last.narrow.join() === last.broad.join()
          }
          expect(last.narrow).toEqual(last.broad)
          expect(judged).toBe(true)
        }
      }
    }), 120_000) // it retries while concurrent tests change the text statistics, which takes long on a busy machine

  test("ties break by createdAt desc, then id", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const first = yield* m.store({ content: `${w} twin`, sessionId: s })
      yield* TestClock.adjust(Duration.seconds(1))
      const second = yield* m.store({ content: `${w} twin`, sessionId: s })
      const byTime = yield* m.search(`${w} twin`, { sessionId: s, mode: "vector" })
      expect(byTime[0]!.score).toBe(byTime[1]!.score)
      expect(byTime.map((h) => h.memory.id)).toEqual([second, first])
      const s2 = sid()
      const ids = ["00000000-0000-4000-8000-00000000000b", "00000000-0000-4000-8000-00000000000a"].map((x) =>
        x.replace("00000000-0000", uuid().slice(0, 13))
      ).map((x) => MemoryId.make(x))
      yield* m.storeMany(ids.map((id) => ({ id, content: `${w} triplet`, sessionId: s2 })))
      const byId = yield* m.search(`${w} triplet`, { sessionId: s2, mode: "vector" })
      expect(byId.map((h) => h.memory.id)).toEqual([...ids].sort())
    }))
}
