/**
 * The MemoryBackend suite's cases for namespaces, expiry, change history and `where` filters (registered by
 * `MemoryBackendSuite.suite`; not a suite of their own).
 */
import { expect } from "@effect/vitest"
import { Chunk, DateTime, Duration, Effect, Option, Stream, TestClock } from "effect"
import { MemoryId, SessionId } from "../Ids.js"
import { MemoryBackend } from "../MemoryBackend.js"
import type { Options } from "../MemoryBackend.js"
import type { WhereInput } from "../Where.js"
import { outcome, token, untyped, uuid } from "./internal.js"

type Test = (title: string, body: () => Effect.Effect<void, unknown, MemoryBackend>) => void

const sid = (): SessionId => SessionId.make(uuid())
const ns = () => `tenant-${token()}`
const ids = (hits: ReadonlyArray<{ readonly memory: { readonly id: MemoryId } }>) => hits.map((h) => h.memory.id)
const listed = (m: MemoryBackend["Type"], filter: Parameters<MemoryBackend["Type"]["list"]>[0]) =>
  Effect.map(Stream.runCollect(m.list(filter)), (c) => Chunk.toReadonlyArray(c).map((x) => x.id))
const history = (m: MemoryBackend["Type"], id: MemoryId) => Effect.map(Stream.runCollect(m.history(id)), Chunk.toReadonlyArray)

export const namespaceTests = (test: Test) => {
  test("namespaces: memories default to \"default\"; filters narrow by namespace", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const [a, b] = [ns(), ns()]
      const plain = yield* m.store({ content: "no namespace given", sessionId: s })
      const inA = yield* m.store({ content: "in a", sessionId: s, namespace: a })
      yield* m.store({ content: "in b", sessionId: s, namespace: b })
      expect(Option.getOrThrow(yield* m.get(plain)).namespace).toBe("default")
      expect(Option.getOrThrow(yield* m.get(inA)).namespace).toBe(a)
      expect(yield* m.count({ sessionId: s })).toBe(3)
      expect(yield* m.count({ sessionId: s, namespace: a })).toBe(1)
      expect(yield* listed(m, { sessionId: s, namespace: a })).toEqual([inA])
      expect(yield* outcome(m.store({ content: "x", namespace: "  padded " }))).toBe("InvalidInput")
      expect(yield* outcome(m.store({ content: "x", namespace: "" }))).toBe("InvalidInput")
    }))

  test("a scoped service neither reads nor changes another namespace's memories", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const [a, b] = [ns(), ns()]
      const A = yield* m.scoped(a)
      const B = yield* m.scoped(b)
      const w = token()
      const mine = yield* A.store({ content: `${w} alpha`, sessionId: s })
      const theirs = yield* B.store({ content: `${w} alpha`, sessionId: s })
      expect(Option.getOrThrow(yield* m.get(mine)).namespace).toBe(a)
      expect(Option.isNone(yield* A.get(theirs))).toBe(true)
      expect(yield* outcome(A.update(theirs, { content: "hijacked" }))).toBe("NotFound")
      yield* A.delete(theirs)
      expect(Option.getOrThrow(yield* B.get(theirs)).content).toBe(`${w} alpha`)
      for (const mode of ["text", "vector", "hybrid"] as const) {
        expect(ids(yield* A.search(`${w} alpha`, { sessionId: s, mode }))).toEqual([mine])
      }
      expect(yield* A.count({ sessionId: s })).toBe(1)
      expect(yield* listed(A, { sessionId: s })).toEqual([mine])
      expect((yield* history(A, theirs)).length).toBe(0)
      expect(yield* outcome(A.store({ content: "elsewhere", namespace: b }))).toBe("InvalidInput")
      expect(yield* outcome(A.count({ namespace: b }))).toBe("InvalidInput")
      expect(yield* outcome(A.scoped(b))).toBe("InvalidInput")
      expect(yield* (yield* A.scoped(a)).count({ sessionId: s })).toBe(1)
      expect((yield* A.stats()).memories).toBe(1)
    }))

  test("storeFact supersedes within a namespace only: the same subject lives on in each", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `user.${token()}`
      const A = yield* m.scoped(ns())
      const B = yield* m.scoped(ns())
      const fact = (content: string) => ({ content, sessionId: s, metadata: { subject, predicate: "prefers" } })
      yield* A.storeFact(fact("tea"))
      const b = yield* B.storeFact(fact("coffee"))
      expect(b.outcome).toBe("inserted")
      const a2 = yield* A.storeFact(fact("water"))
      expect(a2.outcome).toBe("superseded")
      expect(Option.getOrThrow(yield* B.get(b.id)).confidence.superseded).toBe(false)
      expect((yield* B.storeFact(fact("coffee"))).outcome).toBe("reinforced")
    }))
}

export const expiryTests = (test: Test) => {
  test("expiry: a memory past its ttl or expiresAt is gone for every read, before any sweep", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const now = yield* DateTime.now
      const soon = yield* m.store({ content: `${w} short lived`, sessionId: s, ttl: "1 hour" })
      const later = yield* m.store({ content: `${w} lives longer`, sessionId: s, expiresAt: DateTime.add(now, { hours: 3 }) })
      const forever = yield* m.store({ content: `${w} never expires`, sessionId: s })
      expect(Option.getOrThrow(yield* m.get(soon)).expiresAt?.epochMillis).toBe(now.epochMillis + 3_600_000)
      yield* TestClock.adjust(Duration.hours(1))
      expect(Option.isNone(yield* m.get(soon))).toBe(true)
      expect(yield* m.count({ sessionId: s })).toBe(2)
      for (const mode of ["text", "vector", "hybrid"] as const) {
        expect(ids(yield* m.search(`${w} short lived`, { sessionId: s, mode })).includes(soon)).toBe(false)
      }
      expect(yield* listed(m, { sessionId: s, includeSuperseded: true })).not.toContain(soon)
      expect(yield* outcome(m.update(soon, { content: "revived?" }))).toBe("NotFound")
      expect((yield* history(m, soon)).length).toBe(0)
      yield* TestClock.adjust(Duration.hours(2))
      expect(Option.isNone(yield* m.get(later))).toBe(true)
      expect(Option.isSome(yield* m.get(forever))).toBe(true)
    }))

  test("expiry: sweep deletes expired memories with their text and vectors and reports how many", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const w = token()
      const scoped = yield* m.scoped(ns())
      const gone = yield* scoped.storeMany([0, 1, 2].map((i) => ({ content: `${w} gone ${i}`, sessionId: s, ttl: Duration.minutes(5) })))
      const kept = yield* scoped.store({ content: `${w} kept`, sessionId: s })
      const before = (yield* scoped.stats()).memories
      yield* TestClock.adjust(Duration.minutes(6))
      expect(yield* scoped.sweep()).toBe(3)
      expect(yield* scoped.sweep()).toBe(0)
      expect((yield* scoped.stats()).memories).toBe(before - 3)
      const st = yield* scoped.stats()
      expect(st.vectors).toBe(st.memories)
      expect(ids(yield* scoped.search(`${w} gone`, { sessionId: s, mode: "text" }))).toEqual([kept])
      for (const id of gone) expect(Option.isNone(yield* m.get(id))).toBe(true)
    }))

  test("expiry: update sets, moves or clears it; bad expiries are InvalidInput", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const now = yield* DateTime.now
      const id = yield* m.store({ content: `expiring ${token()}`, ttl: "1 hour" })
      yield* m.update(id, { ttl: "3 hours" })
      expect(Option.getOrThrow(yield* m.get(id)).expiresAt?.epochMillis).toBe(now.epochMillis + 3 * 3_600_000)
      yield* m.update(id, { expiresAt: null })
      yield* TestClock.adjust(Duration.days(30))
      expect(Option.getOrThrow(yield* m.get(id)).expiresAt).toBeUndefined()
      yield* m.update(id, { content: "content only keeps the expiry" })
      expect(Option.getOrThrow(yield* m.get(id)).expiresAt).toBeUndefined()
      const later = yield* DateTime.now
      expect(yield* outcome(m.store({ content: "x", ttl: "1 hour", expiresAt: DateTime.add(later, { hours: 1 }) }))).toBe("InvalidInput")
      expect(yield* outcome(m.store({ content: "x", expiresAt: DateTime.subtract(later, { seconds: 1 }) }))).toBe("InvalidInput")
      expect(yield* outcome(m.store({ content: "x", ttl: untyped(-5) }))).toBe("InvalidInput")
      expect(yield* outcome(m.store({ content: "x", ttl: untyped("soon") }))).toBe("InvalidInput")
    }))

  test("expiry: an expired fact is not live, so the same statement inserts a fresh fact", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `temp.${token()}`
      const fact = { content: "it is raining", sessionId: s, ttl: "1 hour", metadata: { subject, predicate: "weather" } }
      const first = yield* m.storeFact(fact)
      yield* TestClock.adjust(Duration.hours(2))
      const second = yield* m.storeFact(fact)
      expect(second.outcome).toBe("inserted")
      expect(second.id).not.toBe(first.id)
    }))
}

export const historyTests = (test: Test) => {
  test("history: stored, updated (fields before and after), reinforced, superseded, in order with Clock times", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `pref.${token()}`
      const t0 = yield* DateTime.now
      const first = yield* m.storeFact({ content: "likes tea", sessionId: s, metadata: { subject, predicate: "drinks" } })
      yield* TestClock.adjust(Duration.minutes(1))
      yield* m.storeFact({ content: "likes tea", sessionId: s, metadata: { subject, predicate: "drinks" } })
      yield* TestClock.adjust(Duration.minutes(1))
      yield* m.update(first.id, { source: "stated", metadata: { subject, predicate: "drinks", tags: ["x"] } })
      yield* TestClock.adjust(Duration.minutes(1))
      const next = yield* m.storeFact({ content: "likes coffee", sessionId: s, metadata: { subject, predicate: "drinks" } })
      const events = yield* history(m, first.id)
      expect(events.map((e) => e._tag)).toEqual(["stored", "reinforced", "updated", "superseded"])
      expect(events.map((e) => e.at.epochMillis - t0.epochMillis)).toEqual([0, 60_000, 120_000, 180_000])
      const [, reinforced, updated, superseded] = events
      expect(reinforced?._tag === "reinforced" && reinforced.reinforcementCount).toBe(1)
      expect(updated?._tag === "updated" && updated.changes.map((c) => c.field).sort()).toEqual(["metadata", "source"])
      if (updated?._tag === "updated") {
        expect(updated.changes.find((c) => c.field === "source")).toEqual({ field: "source", before: "inferred", after: "stated" })
      }
      expect(superseded?._tag === "superseded" && superseded.by).toBe(next.id)
      expect((yield* history(m, next.id)).map((e) => e._tag)).toEqual(["stored"])
    }))

  test("history: an update that changes nothing records nothing; delete removes the history with the memory", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const id = yield* m.store({ content: `steady ${token()}` })
      const memory = Option.getOrThrow(yield* m.get(id))
      yield* m.update(id, { content: memory.content })
      expect((yield* history(m, id)).map((e) => e._tag)).toEqual(["stored"])
      yield* m.delete(id)
      expect((yield* history(m, id)).length).toBe(0)
      expect((yield* history(m, MemoryId.make(uuid()))).length).toBe(0)
      expect(yield* outcome(Stream.runDrain(m.history(untyped("nope"))))).toBe("InvalidInput")
    }))

  test("a memory stored with its history (a copy from another store) keeps every field, its events and its expiry", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const now = yield* DateTime.now
      const at = (minutes: number) => DateTime.unsafeMake(now.epochMillis - minutes * 60_000)
      const successor = MemoryId.make(uuid())
      const events = [
        { _tag: "stored" as const, at: at(50) },
        { _tag: "updated" as const, at: at(40), changes: [{ field: "content", before: "old", after: "copied" }] },
        { _tag: "reinforced" as const, at: at(30), reinforcementCount: 2 },
        { _tag: "superseded" as const, at: at(20), by: successor }
      ]
      const [kept, expiring] = yield* m.storeMany([
        {
          content: `copied ${token()}`,
          createdAt: at(50),
          source: "stated",
          history: {
            reinforcementCount: 2, superseded: true, supersededBy: successor, lastAccessed: at(30),
            accessedAt: at(10), accessCount: 7, updatedAt: at(20), events
          }
        },
        { content: `expiring ${token()}`, createdAt: at(5), expiresAt: DateTime.unsafeMake(now.epochMillis + 60_000), history: { ttlMillis: 3_600_000 } }
      ])
      const got = Option.getOrThrow(yield* m.get(kept!))
      expect([got.createdAt, got.updatedAt, got.accessedAt].map((d) => d.epochMillis)).toEqual([at(50), at(20), at(10)].map((d) => d.epochMillis))
      expect(got.accessCount).toBe(7)
      expect(got.confidence.reinforcementCount).toBe(2)
      expect(got.confidence.supersededBy).toBe(successor)
      expect(got.confidence.lastAccessed.epochMillis).toBe(at(30).epochMillis)
      expect(got.expiresAt).toBeUndefined()
      expect(yield* history(m, kept!)).toEqual(events)
      const other = Option.getOrThrow(yield* m.get(expiring!))
      expect(other.expiresAt?.epochMillis).toBe(now.epochMillis + 60_000)
      expect(other.ttlMillis).toBe(3_600_000)
    }))
}

export const whereTests = (test: Test) => {
  const seedWhere = Effect.gen(function*() {
    const m = yield* MemoryBackend
    const s = sid()
    const w = token()
    const extras = [
      { color: "red", size: 3, ok: true, tags: ["a"] },
      { color: "blue", size: 10, ok: false },
      { color: "red", size: 7.5, nested: { deep: "yes" } },
      { size: "3", empty: null },
      {}
    ]
    const stored = yield* m.storeMany(extras.map((extra, i) => ({
      content: `${w} item ${i}`,
      sessionId: s,
      metadata: { extra, ...(i === 0 ? { subject: "widget", predicate: "is" } : {}) }
    })))
    const pick = (where: WhereInput) =>
      Effect.map(m.count({ sessionId: s, where }), (n) => n)
    const which = (where: WhereInput) =>
      Effect.map(listed(m, { sessionId: s, where }), (found) => stored.flatMap((id, i) => (found.includes(id) ? [i] : [])))
    return { m, s, w, stored, pick, which }
  })

  test("where: every operator, over extra paths and typed fields, with JSON types kept apart", () =>
    Effect.gen(function*() {
      const { which } = yield* seedWhere
      expect(yield* which({ "extra.color": "red" })).toEqual([0, 2])
      expect(yield* which({ "extra.color": { $eq: "red" } })).toEqual([0, 2])
      expect(yield* which({ "extra.color": { $ne: "red" } })).toEqual([1, 3, 4])
      expect(yield* which({ "extra.color": { $in: ["blue", "green"] } })).toEqual([1])
      expect(yield* which({ "extra.color": { $nin: ["red"] } })).toEqual([1, 3, 4])
      expect(yield* which({ "extra.size": { $gt: 3 } })).toEqual([1, 2])
      expect(yield* which({ "extra.size": { $gte: 3 } })).toEqual([0, 1, 2])
      expect(yield* which({ "extra.size": { $lt: 7.5 } })).toEqual([0])
      expect(yield* which({ "extra.size": { $lte: 7.5 } })).toEqual([0, 2])
      expect(yield* which({ "extra.size": 3 })).toEqual([0])
      expect(yield* which({ "extra.size": "3" })).toEqual([3])
      expect(yield* which({ "extra.size": { $gt: "2" } })).toEqual([3])
      expect(yield* which({ "extra.ok": true })).toEqual([0])
      expect(yield* which({ "extra.ok": false })).toEqual([1])
      expect(yield* which({ "extra.empty": null })).toEqual([3])
      expect(yield* which({ "extra.empty": { $exists: true } })).toEqual([3])
      expect(yield* which({ "extra.color": { $exists: false } })).toEqual([3, 4])
      expect(yield* which({ "extra.nested.deep": "yes" })).toEqual([2])
      expect(yield* which({ "extra.tags": { $exists: true } })).toEqual([0])
      expect(yield* which({ "extra.tags": "a" })).toEqual([])
      expect(yield* which({ subject: "widget" })).toEqual([0])
      expect(yield* which({ "extra.size": { $gt: 3, $lt: 10 } })).toEqual([2])
    }))

  test("where: $and, $or and $not nest; missing keys fail positive conditions and pass negated ones", () =>
    Effect.gen(function*() {
      const { which } = yield* seedWhere
      expect(yield* which({ $or: [{ "extra.color": "blue" }, { "extra.size": { $lt: 4 } }] })).toEqual([0, 1])
      expect(yield* which({ $and: [{ "extra.color": "red" }, { "extra.size": { $gt: 5 } }] })).toEqual([2])
      expect(yield* which({ $not: { "extra.color": "red" } })).toEqual([1, 3, 4])
      expect(yield* which({ $not: { "extra.missing": 1 } })).toEqual([0, 1, 2, 3, 4])
      expect(yield* which({ "extra.missing": { $ne: 1 } })).toEqual([0, 1, 2, 3, 4])
      expect(yield* which({ $or: [{ $and: [{ "extra.color": "red" }, { $not: { "extra.ok": true } }] }, { "extra.size": "3" }] }))
        .toEqual([2, 3])
    }))

  test("where applies before the limit in search, list and count; bad filters are InvalidInput naming the problem", () =>
    Effect.gen(function*() {
      const { m, s, stored, w } = yield* seedWhere
      const hits = yield* m.search(`${w} item`, { sessionId: s, mode: "text", limit: 1, where: { "extra.color": "blue" } })
      expect(ids(hits)).toEqual([stored[1]])
      for (const mode of ["vector", "hybrid"] as const) {
        expect(ids(yield* m.search(`${w} item`, { sessionId: s, mode, limit: 2, where: { "extra.size": { $gte: 7 } } })).sort())
          .toEqual([stored[1], stored[2]].sort())
      }
      for (const bad of [
        { "extra.color": { $regex: "r" } },
        { $nor: [] },
        { color: "red" },
        { "extra.a b": 1 },
        { "extra.size": { $gt: true } },
        { "extra.size": { $in: [] } },
        { $or: [] },
        { "extra.x": { $exists: "yes" } },
        { "extra.x": [1, 2] }
      ]) {
        const failure = yield* Effect.flip(m.count({ sessionId: s, where: untyped(bad) }))
        expect(failure._tag).toBe("InvalidInput")
      }
      const named = yield* Effect.flip(m.count({ where: untyped({ "extra.color": { $regex: "r" } }) }))
      expect(named._tag === "InvalidInput" && named.message).toContain("$regex")
    }))

  test("where: path keys are object keys (null, 0, -1 too); a large $in works; past a cap is InvalidInput", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const stored = yield* m.storeMany(
        [{ null: 1, list: [5] }, { list: { "0": 5, "-1": 6 } }, {}].map((extra) => ({ content: "path keys", sessionId: s, metadata: { extra } }))
      )
      const which = (where: WhereInput) =>
        Effect.map(listed(m, { sessionId: s, where }), (found) => stored.flatMap((id, i) => (found.includes(id) ? [i] : [])))
      expect(yield* which({ "extra.null": { $exists: false } })).toEqual([1, 2])
      expect(yield* which({ "extra.list.0": 5 })).toEqual([1])
      expect(yield* which({ "extra.list.-1": { $gt: 5 } })).toEqual([1])
      expect(yield* which({ "extra.list.0": { $in: Array.from({ length: 10_000 }, (_, i) => i) } })).toEqual([1])
      for (const bad of [{ "extra.k": { $in: Array.from({ length: 10_001 }, (_, i) => i) } }, { "extra.k": "x".repeat(4097) }]) {
        const failure = yield* Effect.flip(m.count({ sessionId: s, where: untyped(bad) }))
        expect(failure._tag === "InvalidInput" && failure.message).toMatch(/at most (10000|4096)/)
      }
    }))
}

type OptionTest = (title: string, options: Options, body: () => Effect.Effect<void, unknown, MemoryBackend>) => void

export const optionTests = (test: OptionTest) => {
  test("a layer's default ttl applies to new memories stored without one; their own ttl or expiresAt wins, a copy keeps its own", { defaultTtl: "1 hour" }, () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const now = yield* DateTime.now
      const plain = yield* m.store({ content: "default expiry" })
      const own = yield* m.store({ content: "own expiry", ttl: "1 day" })
      expect(Option.getOrThrow(yield* m.get(plain)).expiresAt?.epochMillis).toBe(now.epochMillis + 3_600_000)
      expect(Option.getOrThrow(yield* m.get(own)).expiresAt?.epochMillis).toBe(now.epochMillis + 86_400_000)
      const copied = yield* m.store({ content: "copied with its history", history: {} })
      expect(Option.getOrThrow(yield* m.get(copied)).expiresAt).toBeUndefined()
      yield* TestClock.adjust(Duration.hours(2))
      expect(Option.isNone(yield* m.get(plain))).toBe(true)
      expect(Option.isSome(yield* m.get(own))).toBe(true)
      expect(Option.isSome(yield* m.get(copied))).toBe(true)
    }))

  test("extendOnAccess: a get or a search hit slides the expiry; an expired memory is never revived", { extendOnAccess: true }, () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const w = token()
      const kept = yield* m.store({ content: `${w} touched`, ttl: "1 hour" })
      const left = yield* m.store({ content: `${w} untouched other`, ttl: "1 hour" })
      yield* TestClock.adjust(Duration.minutes(50))
      yield* m.get(kept)
      yield* TestClock.adjust(Duration.minutes(50))
      expect(Option.isSome(yield* m.get(kept))).toBe(true)
      expect(Option.isNone(yield* m.get(left))).toBe(true)
      yield* TestClock.adjust(Duration.minutes(59))
      expect(ids(yield* m.search(`${w} touched`, { mode: "text" }))).toEqual([kept])
      yield* TestClock.adjust(Duration.minutes(59))
      expect(Option.isSome(yield* m.get(kept))).toBe(true)
      yield* TestClock.adjust(Duration.minutes(61))
      expect(Option.isNone(yield* m.get(kept))).toBe(true)
      expect((yield* m.search(`${w} touched`, { mode: "text" })).length).toBe(0)
    }))

  test("maxContentLength: longer content is InvalidInput for store, storeMany, storeFact and update; nothing is written", { maxContentLength: 40 }, () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const w = token()
      const long = `${w} ${"x".repeat(40)}`
      const kept = yield* m.store({ content: `${w} short` })
      expect(yield* outcome(m.store({ content: long }))).toBe("InvalidInput")
      expect(yield* outcome(m.storeMany([{ content: `${w} fine` }, { content: long }]))).toBe("InvalidInput")
      expect(yield* outcome(m.storeFact({ content: long, metadata: { subject: w, predicate: "is" } }))).toBe("InvalidInput")
      expect(yield* outcome(m.update(kept, { content: long }))).toBe("InvalidInput")
      expect(Option.getOrThrow(yield* m.get(kept)).content).toBe(`${w} short`)
      expect(ids(yield* m.search(w, { mode: "text" }))).toEqual([kept])
    }))
}
