/**
 * The MemoryBackend conformance suite: every contract line of `MemoryBackend`, run against one Layer.
 *
 * @since 0.1.0
 */
import { expect, layer } from "@effect/vitest"
import { Chunk, DateTime, Duration, Effect, Option, Stream, TestClock } from "effect"
import type { Layer } from "effect"
import { MemoryId, SessionId } from "../Ids.js"
import type { MemoryMatch, NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import type { Options } from "../MemoryBackend.js"
import { expiryTests, historyTests, namespaceTests, optionTests, whereTests } from "./memoryFeatureTests.js"
import { hostileJson, isolated, outcome, token, untyped, uuid } from "./internal.js"

const sid = (): SessionId => SessionId.make(uuid())
const mid = (): MemoryId => MemoryId.make(uuid())

const expectContract = (matches: ReadonlyArray<MemoryMatch>) => {
  for (const m of matches) {
    expect(m.score).toBeGreaterThanOrEqual(0)
    expect(m.score).toBeLessThanOrEqual(1)
    expect(m.explain.relevance).toBeGreaterThanOrEqual(0)
    expect(m.explain.relevance).toBeLessThanOrEqual(1)
    expect(m.score).toBeCloseTo(m.explain.relevance * (0.8 + 0.2 * m.explain.confidence), 9)
  }
  for (let i = 1; i < matches.length; i++) {
    const a = matches[i - 1]!
    const b = matches[i]!
    expect(a.score >= b.score).toBe(true)
    if (a.score === b.score) {
      const order = b.memory.createdAt.epochMillis - a.memory.createdAt.epochMillis
      expect(order < 0 || (order === 0 && a.memory.id < b.memory.id)).toBe(true)
    }
  }
}

/** What a backend lets the suite exercise beyond one shared store. @category suites */
export interface SuiteOptions<E> {
  /** A fresh store built with layer options (default time to live, sliding expiry): runs the option cases. */
  readonly withOptions?: (options: Options) => Layer.Layer<MemoryBackend, E>
}

/**
 * Registers the suite for `storeLayer` under `name`. Tests run concurrently on one shared store, each with fresh
 * ids, its own session scope and its own TestClock.
 *
 * @category suites
 */
export const suite = <E, E2 = never>(
  name: string,
  storeLayer: Layer.Layer<MemoryBackend, E>,
  features: SuiteOptions<E2> = {}
): void =>
  layer(storeLayer, { timeout: Duration.minutes(2) })(name, (it) => {
    const test = (title: string, body: () => Effect.Effect<void, unknown, MemoryBackend>, timeout?: number) =>
      it.effect(title, () => isolated(Effect.suspend(body)), timeout)

    namespaceTests(test)
    expiryTests(test)
    historyTests(test)
    whereTests(test)
    if (features.withOptions !== undefined) {
      const withOptions = features.withOptions
      optionTests((title, options, body) => it.effect(title, () => isolated(Effect.provide(Effect.suspend(body), withOptions(options)))))
    }

    const seed = (sessionId: SessionId, inputs: ReadonlyArray<Omit<NewMemory, "sessionId">>) =>
      Effect.flatMap(MemoryBackend, (m) => m.storeMany(inputs.map((i) => ({ ...i, sessionId }))))

    // --- store / get -------------------------------------------------------------------------------------------

    test("store then get returns every field as stored", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const now = yield* DateTime.now
        const id = yield* m.store({
          content: "The build uses esbuild ✓ 日本語",
          contentType: "fact",
          sessionId: s,
          workstreamId: "ws-1",
          source: "stated",
          metadata: { tags: ["b", "a", "b"], subject: "build", predicate: "uses", sourcePath: "x.ts", lineRange: [1, 2], extra: { k: [1, "v"] } },
          citation: { _tag: "file", path: "x.ts", lineStart: 1 }
        })
        const got = Option.getOrThrow(yield* m.get(id))
        expect(got.id).toBe(id)
        expect(got.content).toBe("The build uses esbuild ✓ 日本語")
        expect(got.contentType).toBe("fact")
        expect(got.sessionId).toBe(s)
        expect(got.workstreamId).toBe("ws-1")
        expect(got.metadata.tags).toEqual(["a", "b"])
        expect(got.metadata.subject).toBe("build")
        expect(got.metadata.lineRange).toEqual([1, 2])
        expect(got.metadata.extra).toEqual({ k: [1, "v"] })
        expect(got.citation).toEqual({ _tag: "file", path: "x.ts", lineStart: 1 })
        expect(got.confidence.source).toBe("stated")
        expect(got.confidence.reinforcementCount).toBe(0)
        expect(got.confidence.superseded).toBe(false)
        expect(got.createdAt.epochMillis).toBe(now.epochMillis)
        expect(got.updatedAt.epochMillis).toBe(now.epochMillis)
        expect(got.accessCount).toBe(0)
      }))

    test("store defaults: content type note, source inferred, empty tags", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const got = Option.getOrThrow(yield* m.get(yield* m.store({ content: `plain ${token()}` })))
        expect(got.contentType).toBe("note")
        expect(got.confidence.source).toBe("inferred")
        expect(got.metadata.tags).toEqual([])
        expect(got.sessionId).toBeUndefined()
        expect(got.citation).toBeUndefined()
      }))

    test("store keeps a given id; a taken id is InvalidInput and the original is intact", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const id = mid()
        expect(yield* m.store({ id, content: "first" })).toBe(id)
        expect(yield* outcome(m.store({ id, content: "second" }))).toBe("InvalidInput")
        expect(Option.getOrThrow(yield* m.get(id)).content).toBe("first")
      }))

    test("get of an unknown id is None; a malformed id is InvalidInput", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        expect(Option.isNone(yield* m.get(mid()))).toBe(true)
        expect(yield* outcome(m.get(untyped("not-a-uuid")))).toBe("InvalidInput")
        expect(yield* outcome(m.delete(untyped("../x")))).toBe("InvalidInput")
      }))

    test("empty, blank and NUL content are InvalidInput and nothing is written", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        for (const content of ["", "   \n\t", "a\u0000b"]) {
          expect(yield* outcome(m.store({ content, sessionId: s }))).toBe("InvalidInput")
        }
        expect(yield* outcome(m.store({ content: "ok", sessionId: s, contentType: untyped("bogus") }))).toBe("InvalidInput")
        expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(0)
      }))

    test("content with a lone surrogate is InvalidInput (store, storeMany, update); a paired one round-trips", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        for (const content of ["broken \uD800 high", "broken \uDC00 low", "end \uDBFF"]) {
          expect(yield* outcome(m.store({ content, sessionId: s }))).toBe("InvalidInput")
          expect(yield* outcome(m.storeMany([{ content: "fine", sessionId: s }, { content, sessionId: s }]))).toBe("InvalidInput")
        }
        expect(yield* m.count({ sessionId: s })).toBe(0)
        const id = yield* m.store({ content: "emoji \uD83D\uDE00 and 日本語", sessionId: s })
        expect(Option.getOrThrow(yield* m.get(id)).content).toBe("emoji \uD83D\uDE00 and 日本語")
        expect(yield* outcome(m.update(id, { content: "x \uDFFF" }))).toBe("InvalidInput")
        expect(Option.getOrThrow(yield* m.get(id)).content).toBe("emoji \uD83D\uDE00 and 日本語")
      }))

    test("metadata extra must be JSON: BigInt, Date, NaN and undefined are InvalidInput and nothing is written", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        for (const value of [1n, new Date(0), NaN, undefined, { nested: [Infinity] }]) {
          expect(yield* outcome(m.store({ content: "x", sessionId: s, metadata: { extra: { value: untyped(value) } } })))
            .toBe("InvalidInput")
        }
        expect(yield* m.count({ sessionId: s })).toBe(0)
        const id = yield* m.store({ content: "x", sessionId: s, metadata: { extra: { ok: [1, "two", null, { t: true }] } } })
        expect(Option.getOrThrow(yield* m.get(id)).metadata.extra).toEqual({ ok: [1, "two", null, { t: true }] })
      }))

    test("cyclic, too deeply nested or too long metadata extra is InvalidInput, never a crash, and nothing is written", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        for (const value of hostileJson()) {
          expect(yield* outcome(m.store({ content: "x", sessionId: s, metadata: { extra: { value: untyped(value) } } })))
            .toBe("InvalidInput")
          expect(yield* outcome(m.storeMany([{ content: "y", sessionId: s, metadata: { extra: { value: untyped(value) } } }])))
            .toBe("InvalidInput")
        }
        expect(yield* m.count({ sessionId: s })).toBe(0)
        const id = yield* m.store({ content: "x", sessionId: s })
        expect(yield* outcome(m.update(id, { metadata: { extra: { value: untyped(hostileJson()[0]) } } }))).toBe("InvalidInput")
        expect(Option.getOrThrow(yield* m.get(id)).metadata.extra).toEqual({})
        let nested: unknown = "ok"
        for (let i = 0; i < 62; i++) nested = { d: nested }
        const kept = yield* m.store({ content: "deep but within the limit", sessionId: s, metadata: { extra: { v: untyped(nested) } } })
        expect(Option.getOrThrow(yield* m.get(kept)).metadata.extra).toEqual({ v: nested })
      }))

    test("a precomputed embedding of the wrong length, or with NaN or Infinity, is InvalidInput", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const dims = (yield* m.stats()).embedder.dimensions
        const good = Array.from({ length: dims }, (_, i) => (i === 0 ? 1 : 0))
        expect(yield* outcome(m.store({ content: "short", sessionId: s, embedding: [1, 0, 0] }))).toBe("InvalidInput")
        expect(yield* outcome(m.store({ content: "nan", sessionId: s, embedding: good.map((v, i) => (i === 1 ? NaN : v)) })))
          .toBe("InvalidInput")
        expect(yield* outcome(m.store({ content: "inf", sessionId: s, embedding: new Float32Array(good).fill(Infinity, 2, 3) })))
          .toBe("InvalidInput")
        expect(yield* m.count({ sessionId: s })).toBe(0)
        expect(yield* outcome(m.store({ content: "fine", sessionId: s, embedding: good }))).toBe("success")
        expect(yield* m.count({ sessionId: s })).toBe(1)
      }))

    test("storeMany returns ids in input order", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const ids = yield* seed(s, [{ content: "one" }, { content: "two" }, { content: "three" }])
        expect(ids.length).toBe(3)
        const contents = yield* Effect.forEach(ids, (id) => Effect.map(m.get(id), (o) => Option.getOrThrow(o).content))
        expect(contents).toEqual(["one", "two", "three"])
      }))

    test("storeMany is all or none: one bad input writes nothing", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        expect(yield* outcome(seed(s, [{ content: "good" }, { content: "" }, { content: "also good" }]))).toBe("InvalidInput")
        const dup = mid()
        expect(yield* outcome(seed(s, [{ id: dup, content: "a" }, { id: dup, content: "b" }]))).toBe("InvalidInput")
        expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(0)
        expect(Option.isNone(yield* m.get(dup))).toBe(true)
        expect(yield* seed(s, [])).toEqual([])
      }))

    test("an imported memory keeps its createdAt and confidence history", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const w = token()
        const createdAt = DateTime.unsafeMake("2026-01-02T03:04:05.678Z")
        const by = mid()
        const id = yield* m.store({
          content: `${w} imported`,
          sessionId: s,
          source: "stated",
          createdAt,
          history: { reinforcementCount: 3, superseded: true, supersededBy: by, lastAccessed: createdAt, accessCount: 7 }
        })
        const got = Option.getOrThrow(yield* m.get(id))
        expect(got.createdAt.epochMillis).toBe(createdAt.epochMillis)
        expect(got.confidence.reinforcementCount).toBe(3)
        expect(got.confidence.superseded).toBe(true)
        expect(got.confidence.supersededBy).toBe(by)
        expect(got.confidence.lastAccessed.epochMillis).toBe(createdAt.epochMillis)
        expect(got.accessCount).toBe(7)
        expect(yield* m.search(w, { sessionId: s, mode: "text" })).toEqual([])
        expect((yield* m.search(w, { sessionId: s, mode: "text", includeSuperseded: true })).length).toBe(1)
      }))

    // --- update / delete ---------------------------------------------------------------------------------------

    test("update replaces fields, bumps updatedAt, keeps createdAt, and search follows the new content", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const [before, after] = [token(), token()]
        const id = yield* m.store({ content: `deploy with ${before}`, sessionId: s })
        const created = Option.getOrThrow(yield* m.get(id)).createdAt
        yield* TestClock.adjust(Duration.minutes(5))
        const updated = yield* m.update(id, { content: `deploy with ${after}`, contentType: "fact", source: "stated" })
        expect(updated.content).toBe(`deploy with ${after}`)
        expect(updated.contentType).toBe("fact")
        expect(updated.confidence.source).toBe("stated")
        expect(updated.createdAt.epochMillis).toBe(created.epochMillis)
        expect(updated.updatedAt.epochMillis).toBe(created.epochMillis + 5 * 60_000)
        expect(Option.getOrThrow(yield* m.get(id))).toEqual(updated)
        expect((yield* m.search(before, { sessionId: s, mode: "text" })).length).toBe(0)
        const hits = yield* m.search(after, { sessionId: s, mode: "text" })
        expect(hits.map((h) => h.memory.id)).toEqual([id])
        const vec = yield* m.search(`deploy with ${after}`, { sessionId: s, mode: "vector", limit: 1 })
        expect(vec[0]!.explain.vectorDistance!).toBeLessThan(1e-3)
      }))

    test("update with null clears optional fields; metadata is replaced as a whole", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const id = yield* m.store({
          content: "clear me",
          sessionId: sid(),
          workstreamId: "w",
          citation: { _tag: "system", derivedAt: "2026-01-01T00:00:00.000Z", method: "summarization" },
          metadata: { tags: ["x"], subject: "s" }
        })
        const updated = yield* m.update(id, { sessionId: null, workstreamId: null, citation: null, metadata: { tags: ["y"] } })
        expect(updated.sessionId).toBeUndefined()
        expect(updated.workstreamId).toBeUndefined()
        expect(updated.citation).toBeUndefined()
        expect(updated.metadata.tags).toEqual(["y"])
        expect(updated.metadata.subject).toBeUndefined()
        expect(Option.getOrThrow(yield* m.get(id))).toEqual(updated)
      }))

    test("update of an unknown id is NotFound; a bad patch is InvalidInput and changes nothing", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        expect(yield* outcome(m.update(mid(), { content: "x" }))).toBe("NotFound")
        const id = yield* m.store({ content: "keep me" })
        expect(yield* outcome(m.update(id, { content: "" }))).toBe("InvalidInput")
        expect(yield* outcome(m.update(id, { content: "bad\u0000" }))).toBe("InvalidInput")
        expect(Option.getOrThrow(yield* m.get(id)).content).toBe("keep me")
      }))

    test("delete removes the memory from get, count and every search mode, and is idempotent", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const w = token()
        const [gone, kept] = yield* seed(s, [{ content: `${w} alpha` }, { content: `${w} beta` }])
        yield* m.delete(gone!)
        yield* m.delete(gone!)
        yield* m.delete(mid())
        expect(Option.isNone(yield* m.get(gone!))).toBe(true)
        expect(yield* m.count({ sessionId: s })).toBe(1)
        for (const mode of ["text", "vector", "hybrid"] as const) {
          const hits = yield* m.search(`${w} alpha`, { sessionId: s, mode })
          expect(hits.map((h) => h.memory.id)).toEqual([kept])
        }
      }))

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
        expect(hits.length).toBe(3)
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
        // gave such a hit ~0.85).
        const weak = yield* m.search(`the ${token()}`, { sessionId: s })
        expect(weak.length).toBeGreaterThan(0)
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

    test("confidence: a stated memory outranks an inferred one with the same text (1.0 vs 0.5)", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const w = token()
        const [inferred, stated] = yield* seed(s, [
          { content: `${w} same words`, source: "inferred" },
          { content: `${w} same words`, source: "stated" }
        ])
        const hits = yield* m.search(`${w} same words`, { sessionId: s, mode: "vector" })
        expect(hits.map((h) => h.memory.id)).toEqual([stated, inferred])
        expect(hits[0]!.explain.confidence).toBeCloseTo(1, 9)
        expect(hits[1]!.explain.confidence).toBeCloseTo(0.5, 9)
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
            // judged only between two broad ones that agree to the last digit, i.e. on one state of the store.
            let judged = false
            for (let attempt = 0; attempt < 20 && !judged; attempt++) {
              const before = yield* m.search(query, { sessionId: s, mode, limit: 100 })
              const narrow = yield* m.search(query, { sessionId: s, mode, limit: 10 })
              const after = yield* m.search(query, { sessionId: s, mode, limit: 100 })
              if (before.map((h) => `${h.memory.id}:${h.score}`).join() !== after.map((h) => `${h.memory.id}:${h.score}`).join()) continue
              expect(narrow.map((h) => h.memory.id)).toEqual(before.slice(0, 10).map((h) => h.memory.id))
              expect(narrow.map((h) => h.score)).toEqual(before.slice(0, 10).map((h) => h.score))
              judged = true
            }
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

    // --- facts -------------------------------------------------------------------------------------------------

    const fact = (subject: string, predicate: string, content: string, s: SessionId): NewMemory => ({
      content,
      contentType: "fact",
      sessionId: s,
      metadata: { subject, predicate }
    })

    test("storeFact: the first fact is inserted", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const r = yield* m.storeFact(fact(`user.${token()}`, "is", "user prefers dark mode", s))
        expect(r.outcome).toBe("inserted")
        expect(r.supersededIds).toEqual([])
        expect(Option.getOrThrow(yield* m.get(r.id)).content).toBe("user prefers dark mode")
      }))

    test("storeFact: new content for the same subject+predicate supersedes the old fact", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const subject = `user.${token()}`
        const old = yield* m.storeFact(fact(subject, "is", "model is sonnet", s))
        const next = yield* m.storeFact(fact(subject, "is", "model is opus", s))
        expect(next.outcome).toBe("superseded")
        expect(next.supersededIds).toEqual([old.id])
        const was = Option.getOrThrow(yield* m.get(old.id))
        expect(was.confidence.superseded).toBe(true)
        expect(was.confidence.supersededBy).toBe(next.id)
        expect(Option.getOrThrow(yield* m.get(next.id)).confidence.superseded).toBe(false)
      }))

    test("storeFact: identical content (trimmed) reinforces the live fact and inserts nothing", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const subject = `user.${token()}`
        const first = yield* m.storeFact(fact(subject, "is", "likes tea", s))
        const again = yield* m.storeFact(fact(subject, "is", "  likes tea \n", s))
        expect(again).toEqual({ id: first.id, outcome: "reinforced", supersededIds: [] })
        expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(1)
        expect(Option.getOrThrow(yield* m.get(first.id)).confidence.reinforcementCount).toBe(1)
      }))

    test("storeFact: reinforcement raises confidence, capped at x1.5 (inferred: 0.75)", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const subject = `user.${token()}`
        const w = token()
        for (let i = 0; i < 9; i++) yield* m.storeFact(fact(subject, "is", `${w} reinforced`, s))
        const [hit] = yield* m.search(w, { sessionId: s, mode: "text" })
        expect(hit!.memory.confidence.reinforcementCount).toBe(8)
        expect(hit!.explain.confidence).toBeCloseTo(0.75, 9)
      }))

    test("storeFact: a chain supersedes only the live fact; superseded facts are hidden by default", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const subject = `lang.${token()}`
        const py = yield* m.storeFact(fact(subject, "favourite", "favourite language python", s))
        const rs = yield* m.storeFact(fact(subject, "favourite", "favourite language rust", s))
        const go = yield* m.storeFact(fact(subject, "favourite", "favourite language go", s))
        expect(go.outcome).toBe("superseded")
        expect(go.supersededIds).toEqual([rs.id])
        expect(Option.getOrThrow(yield* m.get(py.id)).confidence.supersededBy).toBe(rs.id)
        const visible = yield* m.search("favourite language", { sessionId: s, mode: "text" })
        expect(visible.map((h) => h.memory.id)).toEqual([go.id])
        const all = yield* m.search("favourite language", { sessionId: s, mode: "text", includeSuperseded: true })
        expect(all.map((h) => h.memory.id).sort()).toEqual([py.id, rs.id, go.id].sort())
        for (const h of all) if (h.memory.id !== go.id) expect(h.explain.confidence).toBe(0)
        expect(yield* m.count({ sessionId: s })).toBe(1)
        expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(3)
      }))

    test("storeFact raced by concurrent writers keeps exactly one live fact; identical racers reinforce one", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const subject = `race.${token()}`
        const results = yield* Effect.all(
          Array.from({ length: 12 }, (_, i) => m.storeFact(fact(subject, "is", `value number ${i}`, s))),
          { concurrency: "unbounded" }
        )
        expect(yield* m.count({ sessionId: s })).toBe(1)
        expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(12)
        expect(results.filter((r) => r.outcome === "inserted").length).toBe(1)
        const live = Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: s })))
        // Each racer superseded exactly the fact that was live when it ran: a chain, never a fork.
        expect(results.reduce((n, r) => n + r.supersededIds.length, 0)).toBe(11)
        expect(results.map((r) => r.id)).toContain(live[0]!.id)

        const same = `same.${token()}`
        const again = yield* Effect.all(
          Array.from({ length: 8 }, () => m.storeFact(fact(same, "is", "the same words", s))),
          { concurrency: "unbounded" }
        )
        expect(new Set(again.map((r) => r.id)).size).toBe(1)
        expect(again.filter((r) => r.outcome === "reinforced").length).toBe(7)
        expect(Option.getOrThrow(yield* m.get(again[0]!.id)).confidence.reinforcementCount).toBe(7)
      }))

    test("storeFact: another predicate, or no subject, inserts", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const subject = `user.${token()}`
        yield* m.storeFact(fact(subject, "is", "a", s))
        expect((yield* m.storeFact(fact(subject, "was", "b", s))).outcome).toBe("inserted")
        expect((yield* m.storeFact({ content: "c", contentType: "fact", sessionId: s })).outcome).toBe("inserted")
        expect((yield* m.storeFact({ content: "a", sessionId: s, metadata: { subject } })).outcome).toBe("inserted")
        expect(yield* m.count({ sessionId: s })).toBe(4)
      }))

    // --- list / count / stats / reindex ------------------------------------------------------------------------

    test("list streams newest first with filters; count agrees", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const ids: Array<MemoryId> = []
        for (let i = 0; i < 7; i++) {
          ids.push(yield* m.store({ content: `entry ${i}`, sessionId: s, contentType: i % 2 === 0 ? "note" : "fact" }))
          yield* TestClock.adjust(Duration.seconds(1))
        }
        const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: s })))
        expect(listed.map((x) => x.id)).toEqual([...ids].reverse())
        const facts = Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: s, contentTypes: ["fact"] })))
        expect(facts.map((x) => x.id)).toEqual([ids[5], ids[3], ids[1]])
        expect(yield* m.count({ sessionId: s })).toBe(7)
        expect(yield* m.count({ sessionId: s, contentTypes: ["note"] })).toBe(4)
        expect(yield* m.count({ sessionId: s, contentTypes: ["summary"] })).toBe(0)
        expect(yield* outcome(m.count({ sessionId: "x" }))).toBe("InvalidInput")
        expect(yield* outcome(Stream.runDrain(m.list({ contentTypes: [untyped("nope")] })))).toBe("InvalidInput")
      }))

    test("list breaks createdAt ties by id descending; since and until both include their instant", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const prefix = uuid().slice(0, 24)
        const ids = ["00000000000a", "00000000000c", "00000000000b"].map((x) => MemoryId.make(prefix + x))
        yield* m.storeMany(ids.map((id) => ({ id, content: "same instant", sessionId: s })))
        const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: s })))
        expect(listed.map((x) => x.id)).toEqual([...ids].sort().reverse())
        const at = listed[0]!.createdAt
        expect(yield* m.count({ sessionId: s, since: at, until: at })).toBe(3)
        expect(yield* m.count({ sessionId: s, since: DateTime.add(at, { millis: 1 }) })).toBe(0)
        expect(yield* m.count({ sessionId: s, until: DateTime.subtract(at, { millis: 1 }) })).toBe(0)
      }))

    test("list reads past any page size in one stream", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        yield* seed(s, Array.from({ length: 260 }, (_, i) => ({ content: `bulk ${i}` })))
        const n = yield* Stream.runCount(m.list({ sessionId: s }))
        expect(n).toBe(260)
      }))

    test("stats counts memories and vectors and names the embedder", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        yield* seed(s, [{ content: "x" }, { content: "y" }])
        const st = yield* m.stats()
        expect(st.memories).toBeGreaterThanOrEqual(2)
        expect(st.vectors).toBe(st.memories)
        expect(st.embedder.model.length).toBeGreaterThan(0)
        expect(st.embedder.dimensions).toBeGreaterThan(0)
        expect(st.stale).toBe(false)
      }))

    test("reindex re-embeds everything, reports progress to completion, and search still works", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const w = token()
        const [id] = yield* seed(s, [{ content: `${w} reindexed` }, { content: "other" }])
        const progress = Chunk.toReadonlyArray(yield* Stream.runCollect(m.reindex()))
        expect(progress.length).toBeGreaterThan(0)
        const last = progress[progress.length - 1]!
        expect(last.done).toBe(last.total)
        expect(last.total).toBeGreaterThanOrEqual(2)
        for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done)
        const hits = yield* m.search(`${w} reindexed`, { sessionId: s, mode: "vector", limit: 1 })
        expect(hits[0]!.memory.id).toBe(id)
        expect(hits[0]!.explain.vectorDistance!).toBeLessThan(1e-3)
      }))

    test("concurrent stores and deletes leave exact counts", () =>
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = sid()
        const ids = yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          (i) => m.store({ content: `concurrent ${i}`, sessionId: s }),
          { concurrency: 8 }
        )
        yield* Effect.forEach(ids.filter((_, i) => i % 4 === 0), (id) => m.delete(id), { concurrency: 8 })
        expect(yield* m.count({ sessionId: s })).toBe(30)
        expect((yield* m.search("concurrent", { sessionId: s, mode: "text", limit: 100 })).length).toBe(30)
      }))
  })
