/** The MemoryBackend suite's storeFact, list, count, stats and reindex cases. */
import { expect } from "@effect/vitest"
import { Chunk, DateTime, Duration, Effect, Option, Stream, TestClock } from "effect"
import { MemoryId } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import type { NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { outcome, token, untyped, uuid } from "./internal.js"
import { sid } from "./memorySuiteSupport.js"
import type { Seed, Test } from "./memorySuiteSupport.js"

export const factAndListTests = (test: Test, seed: Seed) => {
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
      // Other cases store memories without a vector on the shared store: exact counts come from a namespace of its own.
      expect(st.vectors).toBeLessThanOrEqual(st.memories)
      const own = yield* m.scoped(`stats-${token()}`)
      yield* own.storeMany([{ content: "x" }, { content: "y" }])
      expect(yield* own.stats()).toMatchObject({ memories: 2, vectors: 2 })
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
}
