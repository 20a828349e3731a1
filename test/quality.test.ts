import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemoryBackend from "arawn-store/MemoryBackend/Sqlite"
import { MemoryQuality } from "arawn-store/testing"

const fixtureJson: unknown = JSON.parse(readFileSync(new URL("./fixtures/memory-quality.json", import.meta.url), "utf8"))
/** Short technical notes and long queries that share most of their words with every note (technical-quality.gen.mjs). */
const technicalJson: unknown = JSON.parse(readFileSync(new URL("./fixtures/memory-quality-technical.json", import.meta.url), "utf8"))
/** 800 abstract-like memories on 60 topics and 40 long graded queries sharing most of their words (abstracts-quality.gen.mjs). */
const abstractsJson: unknown = JSON.parse(readFileSync(new URL("./fixtures/memory-quality-abstracts.json", import.meta.url), "utf8"))

describe("search quality metrics", () => {
  const relevant = { a: 2, b: 1, c: 1 }

  it("nDCG@k is 1 for the ideal order, lower for a worse one, 0 without a relevant hit", () => {
    expect(MemoryQuality.ndcgAt(["a", "b", "c"], relevant, 10)).toBeCloseTo(1, 12)
    expect(MemoryQuality.ndcgAt(["a", "c", "b", "x"], relevant, 10)).toBeCloseTo(1, 12)
    const swapped = MemoryQuality.ndcgAt(["b", "a", "c"], relevant, 10)
    expect(swapped).toBeLessThan(1)
    expect(swapped).toBeGreaterThan(MemoryQuality.ndcgAt(["x", "b", "a", "c"], relevant, 10))
    expect(MemoryQuality.ndcgAt(["x", "y"], relevant, 10)).toBe(0)
    expect(MemoryQuality.ndcgAt(["x", "a"], relevant, 1)).toBe(0)
  })

  it("recall@k counts relevant hits of any grade in the first k", () => {
    expect(MemoryQuality.recallAt(["a", "x", "c"], relevant, 10)).toBeCloseTo(2 / 3, 12)
    expect(MemoryQuality.recallAt(["a", "x", "c"], relevant, 2)).toBeCloseTo(1 / 3, 12)
  })

  it("the fixture decodes, every judged id exists, and it is big enough to mean something", () =>
    Effect.runPromise(Effect.gen(function*() {
      const fixture = yield* MemoryQuality.decodeFixture(fixtureJson)
      expect(fixture.memories.length).toBeGreaterThanOrEqual(100)
      expect(fixture.queries.length).toBeGreaterThanOrEqual(30)
      expect(new Set(fixture.memories.map((m) => m.contentType)).size).toBeGreaterThanOrEqual(5)
      expect(yield* Effect.either(MemoryQuality.decodeFixture({ memories: [], queries: [{ id: "q", query: "x", relevant: { m: 2 } }] })))
        .toMatchObject({ _tag: "Left" })
    })))
})

/**
 * Every quality test gets a store of its own: BM25 statistics span the whole store, so fixtures loaded by tests
 * running beside it would move its scores.
 */
const qualitySuite = <E>(name: string, freshStore: () => Layer.Layer<MemoryBackend.MemoryBackend, E>) =>
  describe(`search quality of ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, MemoryBackend.MemoryBackend>, timeout = 120_000) =>
      it.effect(title, () => Effect.provide(body, freshStore()), timeout)
    const fixture = Effect.runSync(MemoryQuality.decodeFixture(fixtureJson))
    const by = (report: ReadonlyArray<MemoryQuality.ModeQuality>, mode: string) => report.find((r) => r.mode === mode)!

    test("hybrid ranks at least as well as text alone and vector alone (nDCG@10 on the judged fixture)", Effect.gen(function*() {
      const report = yield* MemoryQuality.evaluate(fixture)
      expect(by(report, "hybrid").ndcg).toBeGreaterThanOrEqual(by(report, "text").ndcg)
      expect(by(report, "hybrid").ndcg).toBeGreaterThanOrEqual(by(report, "vector").ndcg)
      expect(by(report, "hybrid").recall).toBeGreaterThanOrEqual(by(report, "text").recall)
      // A floor, so a regression in any signal shows up even when hybrid still beats both.
      expect(by(report, "hybrid").ndcg).toBeGreaterThan(0.72)
    }))

    test("weights per call move hybrid to either end: all-text puts the text ranking first, in order", Effect.gen(function*() {
      const loaded = yield* MemoryQuality.loadFixture(fixture)
      const [text] = yield* MemoryQuality.evaluateLoaded(fixture, loaded, { modes: ["text"] })
      const [allText] = yield* MemoryQuality.evaluateLoaded(fixture, loaded, { modes: ["hybrid"], weights: { vector: 0, text: 1 } })
      text!.queries.forEach((q, i) => expect(allText!.queries[i]!.ranked.slice(0, q.ranked.length)).toEqual(q.ranked))
    }))

    test("the first 10 hits of every query are the same at limit 10 and at limit 100, in every mode", Effect.gen(function*() {
      const loaded = yield* MemoryQuality.loadFixture(fixture)
      expect(yield* MemoryQuality.limitDependence(fixture, loaded, 10, 100)).toEqual([])
    }))
  })

/** Sources stated or inferred at random must not bury relevance: each mode keeps >= 95% of its uniform nDCG@10. */
const confidenceSuite = <E>(name: string, freshStore: () => Layer.Layer<MemoryBackend.MemoryBackend, E>) =>
  it.effect(`search quality of ${name}: sources assigned at random keep >= 0.95x the uniform nDCG@10 in every mode`, () =>
    Effect.gen(function*() {
      const fixture = yield* MemoryQuality.decodeFixture(fixtureJson)
      const uniform = yield* Effect.provide(MemoryQuality.evaluate(fixture), freshStore())
      const random = yield* Effect.provide(MemoryQuality.evaluate(fixture, { sources: "random" }), freshStore())
      for (const mode of ["text", "vector", "hybrid"]) {
        const u = uniform.find((r) => r.mode === mode)!.ndcg
        const r = random.find((x) => x.mode === mode)!.ndcg
        expect(r).toBeGreaterThanOrEqual(0.95 * u)
      }
    }), 120_000)

/**
 * Long queries whose words most notes share: BM25 puts relevant and irrelevant hits close together, so confidence
 * must only break near-ties. Text and hybrid keep >= 0.97x their uniform-source nDCG@10 with sources at random.
 */
const longQuerySuite = <E>(name: string, freshStore: () => Layer.Layer<MemoryBackend.MemoryBackend, E>) => {
  const keeps = (collection: string, json: unknown, seeds: ReadonlyArray<number>) =>
    it.effect(`search quality of ${name} on ${collection}: random sources keep >= 0.97x in text and hybrid`, () =>
      Effect.gen(function*() {
        const fixture = yield* MemoryQuality.decodeFixture(json)
        const modes = ["text", "hybrid"] as const
        const uniform = yield* Effect.provide(MemoryQuality.evaluate(fixture, { modes }), freshStore())
        // Several coins: one assignment of sources can be lucky.
        for (const seed of seeds) {
          const random = yield* Effect.provide(MemoryQuality.evaluate(fixture, { modes, sources: "random", seed }), freshStore())
          for (const mode of modes) {
            const u = uniform.find((r) => r.mode === mode)!.ndcg
            expect(u).toBeGreaterThan(0.6)
            expect(random.find((x) => x.mode === mode)!.ndcg).toBeGreaterThanOrEqual(0.97 * u)
          }
        }
      }), 300_000)
  keeps("long technical queries", technicalJson, [7])
  keeps("long queries over abstracts", abstractsJson, [7, 8])
}

/**
 * The judged fixture padded with 20,000 distractors (word salad of its own vocabulary, relevant to nothing) in the
 * same session, so the large-store paths run: text keeps >= 97% of its unpadded nDCG@10 and hybrid still beats it.
 */
const paddedSuite = <E>(name: string, freshStore: () => Layer.Layer<MemoryBackend.MemoryBackend, E>) =>
  it.effect(`search quality of ${name} with 20,000 distractors: text >= 0.97x unpadded, hybrid >= text`, () =>
    Effect.gen(function*() {
      const fixture = yield* MemoryQuality.decodeFixture(fixtureJson)
      const [plain] = yield* Effect.provide(MemoryQuality.evaluate(fixture, { modes: ["text"] }), freshStore())
      const padded = yield* Effect.provide(MemoryQuality.evaluate(MemoryQuality.pad(fixture, 20_000), { modes: ["text", "hybrid"] }), freshStore())
      const text = padded.find((r) => r.mode === "text")!.ndcg
      expect(text).toBeGreaterThanOrEqual(0.97 * plain!.ndcg)
      expect(padded.find((r) => r.mode === "hybrid")!.ndcg).toBeGreaterThanOrEqual(text)
    }), 300_000)

const inMemory = () => MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing))
const onSqlite = () => SqliteMemoryBackend.layer({ filename: ":memory:" }).pipe(Layer.provide(Embedder.layerHashing))

qualitySuite("the in-memory layer", inMemory)
qualitySuite("the SQLite layer", onSqlite)
describe("search quality under varied confidence", () => {
  confidenceSuite("the in-memory layer", inMemory)
  confidenceSuite("the SQLite layer", onSqlite)
})
describe("search quality on long queries", () => {
  longQuerySuite("the in-memory layer", inMemory)
  longQuerySuite("the SQLite layer", onSqlite)
})
describe("search quality on a large store", () => {
  paddedSuite("the in-memory layer", inMemory)
  paddedSuite("the SQLite layer", onSqlite)
})
