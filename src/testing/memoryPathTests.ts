/**
 * The MemoryBackend suite's cases for namespace paths and subtrees, `listNamespaces`, `put` by key, memories stored
 * without a vector and `offset` on search (registered by `MemoryBackendSuite.suite`; not a suite of their own).
 */
import { expect } from "@effect/vitest"
import { Chunk, Duration, Effect, Option, Stream, TestClock } from "effect"
import type { MemoryId } from "../Ids.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { keyId } from "../MemoryNamespaces.js"
import { outcome, token } from "./internal.js"
import type { Test } from "./memorySuiteSupport.js"

const ids = (hits: ReadonlyArray<{ readonly memory: { readonly id: MemoryId } }>) => hits.map((h) => h.memory.id)
const listed = (m: MemoryBackend["Type"], filter: Parameters<MemoryBackend["Type"]["list"]>[0]) =>
  Effect.map(Stream.runCollect(m.list(filter)), (c) => Chunk.toReadonlyArray(c).map((x) => x.id).sort())
const sorted = (xs: ReadonlyArray<MemoryId>) => [...xs].sort()

export const pathTests = (test: Test) => {
  test("namespaces are paths: a scoped service sees its subtree and nothing outside, not even a name it prefixes", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const r = `p${token()}`
      const w = token()
      const [top, child, grandchild, sibling, other] = yield* m.storeMany(
        [r, `${r}/b`, `${r}/b/c`, `${r}b`, `${r}x/b`].map((namespace) => ({ content: `${w} shared words`, namespace }))
      )
      const A = yield* m.scoped(r)
      const inside = sorted([top!, child!, grandchild!])
      expect(yield* listed(A, {})).toEqual(inside)
      expect(yield* A.count()).toBe(3)
      for (const mode of ["text", "vector", "hybrid"] as const) {
        expect(sorted(ids(yield* A.search(`${w} shared words`, { mode, limit: 10 })))).toEqual(inside)
      }
      expect(Option.isSome(yield* A.get(grandchild!))).toBe(true)
      expect(Option.isNone(yield* A.get(sibling!))).toBe(true)
      expect(yield* outcome(A.update(other!, { content: "hijacked" }))).toBe("NotFound")
      yield* A.delete(sibling!)
      expect(Option.isSome(yield* m.get(sibling!))).toBe(true)
      // A filter narrows to a subtree inside the scope; outside it is refused.
      expect(yield* listed(A, { namespace: `${r}/b` })).toEqual(sorted([child!, grandchild!]))
      expect(yield* listed(m, { namespace: `${r}/b` })).toEqual(sorted([child!, grandchild!]))
      expect(yield* outcome(A.count({ namespace: `${r}b` }))).toBe("InvalidInput")
      // Stores go anywhere in the subtree (the scope's own namespace by default), never outside.
      const deeper = yield* A.store({ content: `${w} deeper`, namespace: `${r}/b/d` })
      expect(Option.getOrThrow(yield* m.get(deeper)).namespace).toBe(`${r}/b/d`)
      expect(Option.getOrThrow(yield* m.get(yield* A.store({ content: "plain" }))).namespace).toBe(r)
      expect(yield* outcome(A.store({ content: "x", namespace: `${r}b` }))).toBe("InvalidInput")
      // Scoping narrows into the subtree only.
      const B = yield* A.scoped(`${r}/b`)
      expect(yield* B.count()).toBe(3)
      expect(yield* outcome(B.scoped(r))).toBe("InvalidInput")
      expect(yield* outcome(A.scoped(`${r}x`))).toBe("InvalidInput")
      expect((yield* A.stats()).memories).toBe(5)
      for (const bad of [`${r}//b`, `/${r}`, `${r}/`]) {
        expect([bad, yield* outcome(m.store({ content: "x", namespace: bad }))]).toEqual([bad, "InvalidInput"])
      }
    }))

  test("listNamespaces: prefix and suffix (a * label matches any), maxDepth merging, limit and offset, with counts", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const r = `p${token()}`
      yield* m.storeMany([
        { content: "one", namespace: `${r}/users/1/prefs` },
        { content: "two", namespace: `${r}/users/1/prefs` },
        { content: "three", namespace: `${r}/users/2/prefs`, embed: false },
        { content: "four", namespace: `${r}/users/2/notes` },
        { content: "five", namespace: `${r}/docs` }
      ])
      const names = (o: Parameters<MemoryBackend["Type"]["listNamespaces"]>[0]) =>
        Effect.map(m.listNamespaces(o), (xs) => xs.map((x) => x.namespace))
      expect(yield* names({ prefix: [r] })).toEqual([`${r}/docs`, `${r}/users/1/prefs`, `${r}/users/2/notes`, `${r}/users/2/prefs`])
      expect(yield* names({ prefix: [r, "users", "*", "prefs"] })).toEqual([`${r}/users/1/prefs`, `${r}/users/2/prefs`])
      expect(yield* names({ prefix: [r], suffix: ["prefs"] })).toEqual([`${r}/users/1/prefs`, `${r}/users/2/prefs`])
      expect(yield* names({ prefix: [r], suffix: ["*", "notes"] })).toEqual([`${r}/users/2/notes`])
      expect(yield* names({ prefix: [r], maxDepth: 2 })).toEqual([`${r}/docs`, `${r}/users`])
      expect(yield* names({ prefix: [r], limit: 2, offset: 1 })).toEqual([`${r}/users/1/prefs`, `${r}/users/2/notes`])
      expect(yield* names({ prefix: [r, "nothing"] })).toEqual([])
      const users = (yield* m.listNamespaces({ prefix: [r], maxDepth: 2 }))[1]!
      expect(users).toMatchObject({ namespace: `${r}/users`, labels: [r, "users"], memories: 4, embedded: 3 })
      // A scoped service lists its own subtree only.
      const scoped = yield* m.scoped(`${r}/users/2`)
      expect((yield* scoped.listNamespaces()).map((x) => x.namespace)).toEqual([`${r}/users/2/notes`, `${r}/users/2/prefs`])
      expect(yield* scoped.listNamespaces({ prefix: [r, "docs"] })).toEqual([])
      expect(yield* outcome(m.listNamespaces({ limit: 0 }))).toBe("InvalidInput")
    }))

  test("listNamespaces leaves out namespaces whose memories have all expired", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const r = `p${token()}`
      yield* m.store({ content: "brief", namespace: `${r}/brief`, ttl: "1 hour" })
      yield* m.store({ content: "lasting", namespace: `${r}/lasting` })
      expect((yield* m.listNamespaces({ prefix: [r] })).length).toBe(2)
      yield* TestClock.adjust(Duration.hours(2))
      expect((yield* m.listNamespaces({ prefix: [r] })).map((x) => x.namespace)).toEqual([`${r}/lasting`])
    }))

  test("put upserts by key: one memory per namespace and key, replaced in place, createdAt kept", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const r = `p${token()}`
      const w = token()
      const first = yield* m.put({ namespace: r, key: "profile", content: `${w} likes tea`, metadata: { extra: { drink: "tea" } } })
      expect(first.id).toBe(keyId(r, "profile"))
      expect(first.key).toBe("profile")
      yield* TestClock.adjust(Duration.minutes(5))
      const second = yield* m.put({ namespace: r, key: "profile", content: `${w} likes coffee`, metadata: { extra: { drink: "coffee" } } })
      expect(second.id).toBe(first.id)
      expect(second.createdAt.epochMillis).toBe(first.createdAt.epochMillis)
      expect(second.updatedAt.epochMillis).toBe(first.updatedAt.epochMillis + 300_000)
      const stored = Option.getOrThrow(yield* m.get(first.id))
      expect([stored.content, stored.key, stored.metadata.extra]).toEqual([`${w} likes coffee`, "profile", { drink: "coffee" }])
      expect(yield* m.count({ namespace: r })).toBe(1)
      expect(ids(yield* m.search(`${w} coffee`, { namespace: r, mode: "vector", limit: 1 }))).toEqual([first.id])
      expect(ids(yield* m.search("tea", { namespace: r, mode: "text" }))).toEqual([])
      // The same key in another namespace is another memory; a scoped service puts into its subtree only.
      const elsewhere = yield* m.put({ namespace: `${r}/other`, key: "profile", content: "elsewhere" })
      expect(elsewhere.id).not.toBe(first.id)
      const scoped = yield* m.scoped(`${r}/other`)
      expect(yield* outcome(scoped.put({ namespace: r, key: "profile", content: "x" }))).toBe("InvalidInput")
      expect((yield* scoped.put({ key: "profile", content: "via scope" })).id).toBe(elsewhere.id)
      // Deleted, the key is free for a fresh memory (a new createdAt).
      yield* m.delete(first.id)
      yield* TestClock.adjust(Duration.minutes(1))
      const third = yield* m.put({ namespace: r, key: "profile", content: "again" })
      expect(third.createdAt.epochMillis).toBe(second.updatedAt.epochMillis + 60_000)
      expect(yield* outcome(m.put({ namespace: r, key: "", content: "x" }))).toBe("InvalidInput")
    }))

  test("put raced by concurrent writers of one key leaves exactly one memory, holding one of the writes", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const r = `p${token()}`
      const contents = Array.from({ length: 8 }, (_, i) => `racer ${i}`)
      yield* Effect.forEach(contents, (content) => m.put({ namespace: r, key: "k", content }), { concurrency: "unbounded" })
      expect(yield* m.count({ namespace: r })).toBe(1)
      expect(contents).toContain(Option.getOrThrow(yield* m.get(keyId(r, "k"))).content)
    }))

  test("embed: false stores no vector: found by words and filters, skipped by vector search, not counted as a vector", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const own = yield* m.scoped(`p${token()}`)
      const w = token()
      const [plain, embedded] = yield* own.storeMany([
        { content: `${w} unembedded note about gardens`, embed: false, metadata: { tags: ["g"] } },
        { content: `${w} embedded note about gardens`, metadata: { tags: ["g"] } }
      ])
      expect(Option.getOrThrow(yield* own.get(plain!)).embed).toBe(false)
      expect(yield* own.stats()).toMatchObject({ memories: 2, vectors: 1 })
      expect(sorted(ids(yield* own.search(`${w} gardens`, { mode: "text" })))).toEqual(sorted([plain!, embedded!]))
      expect(sorted(ids(yield* own.search(`${w} gardens`, { mode: "hybrid" })))).toEqual(sorted([plain!, embedded!]))
      expect(ids(yield* own.search(`${w} unembedded note about gardens`, { mode: "vector", limit: 10 }))).toEqual([embedded])
      expect(yield* own.count({ tags: ["g"] })).toBe(2)
      // An update of its content keeps it without a vector.
      yield* own.update(plain!, { content: `${w} unembedded note about ponds` })
      expect((yield* own.stats()).vectors).toBe(1)
      expect(ids(yield* own.search("ponds", { mode: "text" }))).toEqual([plain])
      // put switches a keyed memory between the two.
      const keyed = yield* own.put({ key: "k", content: `${w} keyed about lakes` })
      expect((yield* own.stats()).vectors).toBe(2)
      yield* own.put({ key: "k", content: `${w} keyed about lakes`, embed: false })
      expect((yield* own.stats()).vectors).toBe(1)
      expect(ids(yield* own.search(`${w} keyed about lakes`, { mode: "vector", limit: 10 }))).not.toContain(keyed.id)
      yield* own.put({ key: "k", content: `${w} keyed about lakes` })
      expect(ids(yield* own.search(`${w} keyed about lakes`, { mode: "vector", limit: 1 }))).toEqual([keyed.id])
      expect(yield* own.stats()).toMatchObject({ memories: 3, vectors: 2 })
    }))

  test("search offset pages through one ranking without gaps or repeats", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const own = yield* m.scoped(`p${token()}`)
      // Words no other case uses: BM25 weighs a word by the whole store, which concurrent cases keep changing.
      const [w, topic] = [token(), token()]
      yield* own.storeMany(Array.from({ length: 12 }, (_, i) => ({ content: `${w} ${`${topic} `.repeat(i + 1)}${token()}` })))
      const state = (hits: ReadonlyArray<{ readonly memory: { readonly id: MemoryId }; readonly score: number }>) =>
        hits.map((h) => `${h.memory.id}:${h.score}`).join()
      for (const mode of ["text", "vector", "hybrid"] as const) {
        // On a shared store, concurrent cases still move the text statistics: the pages are judged only between
        // two whole rankings that agree to the last digit, i.e. on one state of the store.
        let judged = false
        for (let attempt = 0; attempt < 20 && !judged; attempt++) {
          const before = yield* own.search(`${w} ${topic}`, { mode, limit: 12 })
          const pages = yield* Effect.all([0, 5, 10].map((offset) => own.search(`${w} ${topic}`, { mode, limit: 5, offset })))
          const after = yield* own.search(`${w} ${topic}`, { mode, limit: 12 })
          if (state(before) !== state(after)) continue
          expect(before.length).toBe(12)
          expect([mode, pages.flatMap(ids)]).toEqual([mode, ids(before)])
          judged = true
        }
        expect(judged).toBe(true)
        expect(yield* own.search(`${w} ${topic}`, { mode, limit: 5, offset: 40 })).toEqual([])
      }
      expect(yield* outcome(own.search(w, { offset: -1 }))).toBe("InvalidInput")
    }))
}

/** A case that needs a store of its own (two reindexes of one store race: the second one's target is replaced). */
export type FreshTest = (title: string, body: () => Effect.Effect<void, unknown, MemoryBackend>) => void

export const freshPathTests = (test: FreshTest) => {
  test("reindex skips memories stored with embed: false and completes without them", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const w = token()
      const [plain] = yield* m.storeMany([
        { content: `${w} kept without a vector`, embed: false },
        { content: `${w} embedded one` },
        { content: `${w} embedded two` }
      ])
      const progress = Chunk.toReadonlyArray(yield* Stream.runCollect(m.reindex()))
      expect(progress[progress.length - 1]).toEqual({ done: 2, total: 2 })
      expect(yield* m.stats()).toMatchObject({ memories: 3, vectors: 2, stale: false })
      expect(Option.getOrThrow(yield* m.get(plain!)).embed).toBe(false)
      expect(ids(yield* m.search(`${w} kept without a vector`, { mode: "vector", limit: 3 }))).not.toContain(plain)
      expect(ids(yield* m.search(`${w} kept without a vector`, { mode: "text", limit: 1 }))).toEqual([plain])
    }))
}
