/** The MemoryBackend suite's store, get, update and delete cases. */
import { expect } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, TestClock } from "effect"



import { MAX_MEMORY_CONTENT } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { hostileJson, outcome, token, untyped } from "./internal.js"
import { mid, sid } from "./memorySuiteSupport.js"
import type { Seed, Test } from "./memorySuiteSupport.js"

export const storeTests = (test: Test, seed: Seed) => {
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

  test("content over MAX_MEMORY_CONTENT is InvalidInput for store, storeMany, storeFact and update; at the cap it is kept whole", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const over = "x".repeat(MAX_MEMORY_CONTENT + 1)
      expect(yield* outcome(m.store({ content: over, sessionId: s }))).toBe("InvalidInput")
      expect(yield* outcome(seed(s, [{ content: "fine" }, { content: over }]))).toBe("InvalidInput")
      expect(yield* outcome(m.storeFact({ content: over, sessionId: s, metadata: { subject: "a", predicate: "b" } })))
        .toBe("InvalidInput")
      expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(0)
      const full = `${token()} ${"y".repeat(MAX_MEMORY_CONTENT - 20)}`
      const id = yield* m.store({ content: full, sessionId: s })
      expect(yield* outcome(m.update(id, { content: over }))).toBe("InvalidInput")
      expect(Option.getOrThrow(yield* m.get(id)).content).toBe(full)
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
}
