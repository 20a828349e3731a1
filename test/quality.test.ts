import { readFileSync } from "node:fs"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemoryBackend from "arawn-store/MemoryBackend/Sqlite"
import { MemoryQuality } from "arawn-store/testing"

const fixtureJson: unknown = JSON.parse(readFileSync(new URL("./fixtures/memory-quality.json", import.meta.url), "utf8"))

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

const qualitySuite = <E>(name: string, storeLayer: Layer.Layer<MemoryBackend.MemoryBackend, E>) =>
  layer(storeLayer, { timeout: "2 minutes" })(`search quality of ${name}`, (it) => {
  it.effect("hybrid ranks at least as well as text alone and vector alone (nDCG@10 on the judged fixture)", () =>
    Effect.gen(function*() {
      const fixture = yield* MemoryQuality.decodeFixture(fixtureJson)
      const report = yield* MemoryQuality.evaluate(fixture)
      const by = (mode: string) => report.find((r) => r.mode === mode)!
      expect(by("hybrid").ndcg).toBeGreaterThanOrEqual(by("text").ndcg)
      expect(by("hybrid").ndcg).toBeGreaterThanOrEqual(by("vector").ndcg)
      expect(by("hybrid").recall).toBeGreaterThanOrEqual(by("text").recall)
      // A floor, so a regression in any signal shows up even when hybrid still beats both.
      expect(by("hybrid").ndcg).toBeGreaterThan(0.65)
    }))

  it.effect("weights per call move hybrid to either end: all-text puts the text ranking first, in order", () =>
    Effect.gen(function*() {
      const fixture = yield* MemoryQuality.decodeFixture(fixtureJson)
      const loaded = yield* MemoryQuality.loadFixture(fixture)
      const [text] = yield* MemoryQuality.evaluateLoaded(fixture, loaded, { modes: ["text"] })
      const [allText] = yield* MemoryQuality.evaluateLoaded(fixture, loaded, {
        modes: ["hybrid"],
        weights: { vector: 0, text: 1 }
      })
      text!.queries.forEach((q, i) => expect(allText!.queries[i]!.ranked.slice(0, q.ranked.length)).toEqual(q.ranked))
    }))
})

qualitySuite("the in-memory layer", MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing)))
qualitySuite("the SQLite layer", SqliteMemoryBackend.layer({ filename: ":memory:" }).pipe(Layer.provide(Embedder.layerHashing)))
