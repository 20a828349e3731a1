/**
 * The MemoryBackend suite's `purge` cases (registered by `MemoryBackendSuite.suite`; not a suite of their own): a
 * namespace's subtree goes with everything a read could find of it, and nothing outside it changes.
 */
import { expect } from "@effect/vitest"
import { Chunk, Duration, Effect, Option, Stream, TestClock } from "effect"
import type { MemoryId } from "../Ids.js"
import { MemoryBackend } from "../MemoryBackend.js"
import type { Test } from "./memorySuiteSupport.js"
import { sid } from "./memorySuiteSupport.js"
import { outcome, token } from "./internal.js"

type Service = MemoryBackend["Type"]

const sorted = (xs: ReadonlyArray<string>) => [...xs].sort()
const hitIds = (hits: ReadonlyArray<{ readonly memory: { readonly id: MemoryId } }>) => sorted(hits.map((h) => h.memory.id))
const historyOf = (m: Service, id: MemoryId) => Effect.map(Stream.runCollect(m.history(id)), Chunk.toReadonlyArray)

/**
 * One namespace's worth of every kind of row: plain, untagged and tagged memories, one without a vector, an updated
 * one (history), a fact superseded by another, a retracted fact, a keyed row, and one that expires (after the
 * clock moves). All share the word `w` and the fact subject `subject`.
 */
const fill = (m: Service, namespace: string, w: string, subject: string) =>
  Effect.gen(function*() {
    const ids: Array<MemoryId> = [...yield* m.storeMany([
      { namespace, content: `${w} plain note about ${namespace}` },
      { namespace, content: `${w} tagged note`, metadata: { tags: ["purge-tag"] } },
      { namespace, content: `${w} stored without a vector`, embed: false },
      { namespace, content: `${w} expires soon`, ttl: "1 hour" }
    ])]
    yield* m.update(ids[0]!, { content: `${w} plain note, edited` })
    const fact = (content: string) => ({ namespace, content, metadata: { subject, predicate: "is" } })
    ids.push((yield* m.storeFact(fact(`${w} first value`))).id, (yield* m.storeFact(fact(`${w} second value`))).id)
    const retracted = (yield* m.storeFact({ namespace, content: `${w} withdrawn`, metadata: { subject, predicate: "was" } })).id
    yield* m.retractFact(retracted)
    ids.push(retracted, (yield* m.put({ namespace, key: `key-${w}`, content: `${w} keyed value` })).id)
    return ids
  })

/** What every read says about a namespace's subtree. */
const observe = (m: Service, namespace: string, w: string, subject: string, ids: ReadonlyArray<MemoryId>) =>
  Effect.gen(function*() {
    const scoped = yield* m.scoped(namespace)
    return {
      got: sorted((yield* Effect.forEach(ids, (id) => m.get(id))).flatMap(Option.toArray).map((x) => x.id)),
      histories: yield* Effect.forEach(ids, (id) => Effect.map(historyOf(m, id), (h) => h.length)),
      count: yield* m.count({ namespace }),
      all: yield* m.count({ namespace, includeSuperseded: true }),
      tagged: yield* m.count({ namespace, tags: ["purge-tag"] }),
      listed: sorted(Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ namespace, includeSuperseded: true }))).map((x) => x.id)),
      text: hitIds(yield* m.search(w, { namespace, mode: "text", includeSuperseded: true, limit: 50 })),
      vector: hitIds(yield* m.search(`${w} plain note, edited`, { namespace, mode: "vector", includeSuperseded: true, limit: 50 })),
      facts: (yield* scoped.facts(subject)).length,
      stats: yield* Effect.map(scoped.stats(), (s) => ({ memories: s.memories, vectors: s.vectors })),
      namespaces: (yield* m.listNamespaces({ prefix: namespace.split("/") })).map((n) => [n.namespace, n.memories])
    }
  })

export const purgeTests = (test: Test) => {
  test("purge removes a namespace and the ones below it, with everything a read finds of them; nothing else changes", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const root = `purge-${token()}`
      // Namespaces whose names start with the root's or that the root's starts with are outside its subtree.
      const [child, sibling, shorter] = [`${root}/child`, `${root}x`, root.slice(0, -1)]
      const w = token()
      const subject = `user.${token()}`
      const purged = [...yield* fill(m, root, w, subject), ...yield* fill(m, child, w, subject)]
      const kept = new Map<string, ReadonlyArray<MemoryId>>()
      for (const ns of [sibling, shorter, `purge-${token()}`]) kept.set(ns, yield* fill(m, ns, w, subject))
      yield* TestClock.adjust(Duration.hours(2))
      const before = new Map<string, unknown>()
      for (const [ns, ids] of kept) before.set(ns, yield* observe(m, ns, w, subject, ids))

      // Every row goes, the expired and the superseded ones too.
      expect(yield* m.purge(root)).toBe(purged.length)

      const gone = yield* observe(m, root, w, subject, purged)
      expect(gone).toEqual({
        got: [], histories: purged.map(() => 0), count: 0, all: 0, tagged: 0, listed: [], text: [], vector: [], facts: 0,
        stats: { memories: 0, vectors: 0 }, namespaces: []
      })
      for (const mode of ["text", "vector", "hybrid"] as const) {
        const hits = (yield* m.search(w, { mode, includeSuperseded: true, limit: 200 })).map((h) => h.memory.id)
        expect(hits.filter((id) => purged.includes(id))).toEqual([])
      }
      for (const [ns, ids] of kept) expect(yield* observe(m, ns, w, subject, ids)).toEqual(before.get(ns))
      // Idempotent; and the namespace takes new memories (a key put again is a new memory).
      expect(yield* m.purge(root)).toBe(0)
      expect(yield* m.purge(child)).toBe(0)
      const again = yield* m.put({ namespace: root, key: `key-${w}`, content: `${w} keyed again` })
      expect((yield* historyOf(m, again.id)).map((e) => e._tag)).toEqual(["stored"])
      expect(yield* m.count({ namespace: root })).toBe(1)
    }))

  test("purge of a namespace below another leaves the one above; batches of any size remove the same", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const root = `purge-${token()}`
      const s = sid()
      const above = yield* m.storeMany(Array.from({ length: 3 }, (_, i) => ({ namespace: root, content: `above ${i}`, sessionId: s })))
      yield* m.storeMany(Array.from({ length: 7 }, (_, i) => ({ namespace: `${root}/a/b`, content: `below ${i}`, sessionId: s })))
      expect(yield* m.purge(`${root}/a`, { batchSize: 2 })).toBe(7)
      expect(sorted(Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: s }))).map((x) => x.id))).toEqual(sorted(above))
      expect(yield* m.purge(root, { batchSize: 3 })).toBe(3)
      expect(yield* m.count({ sessionId: s })).toBe(0)
    }))

  test("purge: a bad namespace or batch size is InvalidInput; a scoped service purges only inside its subtree", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const [a, b] = [`purge-${token()}`, `purge-${token()}`]
      for (const bad of ["", " padded", "a//b", "trailing/", "x\u0000y"]) expect(yield* outcome(m.purge(bad))).toBe("InvalidInput")
      expect(yield* outcome(m.purge(a, { batchSize: 0 }))).toBe("InvalidInput")
      const theirs = yield* m.store({ namespace: b, content: "not theirs to purge" })
      const A = yield* m.scoped(a)
      yield* A.store({ content: "mine" })
      yield* A.store({ namespace: `${a}/sub`, content: "mine, below" })
      expect(yield* outcome(A.purge(b))).toBe("InvalidInput")
      expect(yield* outcome((yield* m.scoped(`${a}/sub`)).purge(a))).toBe("InvalidInput")
      expect(yield* A.purge(`${a}/sub`)).toBe(1)
      expect(yield* A.purge(a)).toBe(1)
      expect(Option.isSome(yield* m.get(theirs))).toBe(true)
    }))
}
