/**
 * The MemoryBackend suite's cases for writes with a caller-given id: an expired memory's id is free again, and a
 * retried store returns the stored id when it is the same write and is InvalidInput when it differs (registered by
 * `MemoryBackendSuite.suite`; not a suite of their own).
 */
import { expect } from "@effect/vitest"
import { Chunk, DateTime, Duration, Effect, Option, Stream, TestClock } from "effect"
import type { MemoryId } from "../Ids.js"
import type { NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { outcome, token } from "./internal.js"
import { mid, sid } from "./memorySuiteSupport.js"
import type { Test } from "./memorySuiteSupport.js"

const history = (m: MemoryBackend["Type"], id: MemoryId) =>
  Effect.map(Stream.runCollect(m.history(id)), (c) => Chunk.toReadonlyArray(c).map((e) => e._tag))
const listed = (m: MemoryBackend["Type"], sessionId: string) =>
  Effect.map(Stream.runCollect(m.list({ sessionId, includeSuperseded: true })), (c) => Chunk.toReadonlyArray(c).map((x) => x.id))
const textHits = (m: MemoryBackend["Type"], word: string, sessionId: string) =>
  Effect.map(m.search(word, { sessionId, mode: "text" }), (hits) => hits.map((h) => h.memory.id))

export const retryTests = (test: Test) => {
  test("an expired memory's id is free again: store over it replaces it with its own text, vector, tags and history", () =>
    Effect.gen(function*() {
      const root = yield* MemoryBackend
      const m = yield* root.scoped(`retry-${token()}`)
      const s = sid()
      const [old, fresh] = [token(), token()]
      const now = yield* DateTime.now
      const id = mid()
      yield* m.store({ id, content: `${old} first`, sessionId: s, expiresAt: DateTime.add(now, { hours: 1 }), metadata: { tags: ["was"] } })
      yield* m.update(id, { source: "stated" })
      yield* TestClock.adjust(Duration.hours(2))
      expect(Option.isNone(yield* m.get(id))).toBe(true)
      expect(yield* m.store({ id, content: `${fresh} second`, sessionId: s, metadata: { tags: ["now"] } })).toBe(id)
      const got = Option.getOrThrow(yield* m.get(id))
      expect([got.content, got.metadata.tags, got.confidence.source, got.expiresAt]).toEqual([`${fresh} second`, ["now"], "inferred", undefined])
      expect(got.createdAt.epochMillis).toBe(now.epochMillis + 2 * 3_600_000)
      expect(yield* history(m, id)).toEqual(["stored"])
      expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(1)
      expect(yield* m.count({ sessionId: s, tags: ["was"] })).toBe(0)
      expect(yield* m.count({ sessionId: s, tags: ["now"] })).toBe(1)
      expect(yield* textHits(m, old, s)).toEqual([])
      expect(yield* textHits(m, fresh, s)).toEqual([id])
      const vector = yield* m.search(`${fresh} second`, { sessionId: s, mode: "vector", limit: 1 })
      expect(vector[0]!.explain.vectorDistance!).toBeLessThan(1e-3)
      const stats = yield* m.stats()
      expect([stats.memories, stats.vectors]).toEqual([1, 1])
      expect(yield* m.sweep()).toBe(0)
      expect((yield* m.update(id, { content: `${fresh} third` })).content).toBe(`${fresh} third`)
    }))

  test("an expired memory's id is free again for storeMany and storeFact too", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const [a, b] = [mid(), mid()]
      yield* m.storeMany([{ id: a, content: "short lived a", sessionId: s, ttl: "1 minute" }, { id: b, content: "short lived b", sessionId: s, ttl: "1 minute" }])
      yield* TestClock.adjust(Duration.minutes(2))
      expect(yield* m.storeMany([{ id: a, content: "back again a", sessionId: s }])).toEqual([a])
      const fact = yield* m.storeFact({ id: b, content: "back again b", sessionId: s, metadata: { subject: `s-${token()}`, predicate: "is" } })
      expect([fact.id, fact.outcome]).toEqual([b, "inserted"])
      expect(Option.getOrThrow(yield* m.get(a)).content).toBe("back again a")
      expect(Option.getOrThrow(yield* m.get(b)).content).toBe("back again b")
      expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(2)
    }))

  test("a store retried with the same write returns the id and writes nothing more", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const id = mid()
      const w = token()
      const write: NewMemory = {
        id,
        content: `${w} retried`,
        contentType: "fact",
        sessionId: s,
        workstreamId: "ws-retry",
        source: "stated",
        ttl: "1 day",
        metadata: { tags: ["b", "a"], subject: "build", sourceUrl: "https://x.test", lineRange: [3, 4], extra: { z: 1, a: { y: [1, "2", null], b: true } } },
        citation: { _tag: "web", url: "https://x.test", fetchedAt: "2026-01-01T00:00:00.000Z", title: "t" }
      }
      expect(yield* m.store(write)).toBe(id)
      const stored = Option.getOrThrow(yield* m.get(id))
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* m.store(write)).toBe(id)
      // The same write as decoded: tags are a set, extra is compared by value whatever its key order.
      expect(yield* m.store({ ...write, metadata: { ...write.metadata, tags: ["a", "b", "a"], extra: { a: { b: true, y: [1, "2", null] }, z: 1 } } })).toBe(id)
      expect(yield* m.storeMany([write])).toEqual([id])
      expect(Option.getOrThrow(yield* m.get(id))).toEqual(stored)
      expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(1)
      expect(yield* listed(m, s)).toEqual([id])
      expect(yield* history(m, id)).toEqual(["stored"])
      expect(yield* textHits(m, w, s)).toEqual([id])
      // Defaults are part of the write: omitting what was given as the default is the same write.
      const plain = mid()
      yield* m.store({ id: plain, content: "plain", sessionId: s, contentType: "note", source: "inferred", namespace: "default" })
      expect(yield* m.store({ id: plain, content: "plain", sessionId: s })).toBe(plain)
      expect(yield* history(m, plain)).toEqual(["stored"])
    }))

  test("a store retried with a different write is InvalidInput and changes nothing", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const id = mid()
      const now = yield* DateTime.now
      const write = {
        id,
        content: "the original",
        sessionId: s,
        expiresAt: DateTime.add(now, { days: 1 }),
        metadata: { tags: ["t"], extra: { k: 1 } },
        citation: { _tag: "system" as const, derivedAt: "2026-01-01T00:00:00.000Z", method: "m" }
      } satisfies NewMemory
      yield* m.store(write)
      const stored = Option.getOrThrow(yield* m.get(id))
      const changes: ReadonlyArray<Partial<NewMemory>> = [
        { content: "another content" },
        { contentType: "fact" },
        { namespace: `other-${token()}` },
        { sessionId: sid() },
        { workstreamId: "ws" },
        { source: "stated" },
        { metadata: { tags: ["t", "u"], extra: { k: 1 } } },
        { metadata: { tags: ["t"], extra: { k: 2 } } },
        { metadata: { tags: ["t"], extra: { k: 1 }, subject: "s" } },
        { citation: { _tag: "system", derivedAt: "2026-01-01T00:00:00.001Z", method: "m" } },
        { expiresAt: DateTime.add(now, { days: 2 }) },
        { expiresAt: undefined, ttl: "1 day" },
        { createdAt: DateTime.subtract(now, { days: 1 }) }
      ]
      for (const change of changes) {
        expect(yield* outcome(m.store({ ...write, ...change })), JSON.stringify(change)).toBe("InvalidInput")
        expect(yield* outcome(m.storeMany([{ ...write, ...change }])), JSON.stringify(change)).toBe("InvalidInput")
      }
      const { expiresAt: _, citation: __, ...bare } = write
      expect(yield* outcome(m.store(bare))).toBe("InvalidInput")
      expect(Option.getOrThrow(yield* m.get(id))).toEqual(stored)
      expect(yield* history(m, id)).toEqual(["stored"])
      // What is stored is what an update made of it: the first write is no longer the same one.
      yield* m.update(id, { content: "updated since" })
      expect(yield* outcome(m.store(write))).toBe("InvalidInput")
      expect(yield* m.store({ ...write, content: "updated since" })).toBe(id)
      expect(yield* m.count({ sessionId: s, includeSuperseded: true })).toBe(1)
    }))

  test("concurrent stores of one id: the same write all return the id over one row; different writes, exactly one wins", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const same = { id: mid(), content: "stored four times at once", sessionId: s }
      const results = yield* Effect.all(Array.from({ length: 4 }, () => m.store(same)), { concurrency: "unbounded" })
      expect(results).toEqual([same.id, same.id, same.id, same.id])
      expect(yield* history(m, same.id)).toEqual(["stored"])
      const contested = mid()
      const outcomes = yield* Effect.all(
        [0, 1, 2, 3].map((i) => outcome(m.store({ id: contested, content: `writer ${i}`, sessionId: s }))),
        { concurrency: "unbounded" }
      )
      expect(outcomes.filter((o) => o === "success").length).toBe(1)
      expect(outcomes.filter((o) => o === "InvalidInput").length).toBe(3)
      expect(outcomes[Number(Option.getOrThrow(yield* m.get(contested)).content.slice(7))]).toBe("success")
      expect(yield* m.count({ sessionId: s })).toBe(2)
    }))

  test("storeMany retried: all the same returns their ids; with new ones it stores those; one conflict writes nothing", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const batch = [0, 1, 2].map((i) => ({ id: mid(), content: `batch item ${i}`, sessionId: s }))
      const ids = batch.map((b) => b.id)
      expect(yield* m.storeMany(batch)).toEqual(ids)
      yield* TestClock.adjust(Duration.minutes(1))
      expect(yield* m.storeMany(batch)).toEqual(ids)
      expect(yield* m.storeMany([batch[2]!, batch[0]!])).toEqual([ids[2], ids[0]])
      expect(yield* m.count({ sessionId: s })).toBe(3)
      const extra = { id: mid(), content: "batch item 3", sessionId: s }
      const generated = { content: "batch item 4", sessionId: s }
      const mixed = yield* m.storeMany([batch[1]!, extra, generated])
      expect(mixed.slice(0, 2)).toEqual([ids[1], extra.id])
      expect(yield* m.count({ sessionId: s })).toBe(5)
      const late = { id: mid(), content: "never stored", sessionId: s }
      const conflict = [batch[0]!, late, { ...batch[1]!, content: "changed" }]
      expect(yield* outcome(m.storeMany(conflict))).toBe("InvalidInput")
      expect(Option.isNone(yield* m.get(late.id))).toBe(true)
      expect(Option.getOrThrow(yield* m.get(ids[1]!)).content).toBe("batch item 1")
      expect(yield* m.count({ sessionId: s })).toBe(5)
      for (const id of [...ids, extra.id]) expect(yield* history(m, id)).toEqual(["stored"])
    }))
}
