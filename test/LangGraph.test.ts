/**
 * ArawnStore against LangGraph's documented `BaseStore` behaviour (get, put, delete, search with prefix, filter,
 * query, limit and offset, listNamespaces with prefix, suffix, wildcards, maxDepth, limit and offset, batch), on the
 * in-memory MemoryBackend and on a SQLite file.
 */
import { join } from "node:path"
import { InvalidNamespaceError } from "@langchain/langgraph-checkpoint"
import type { Item } from "@langchain/langgraph-checkpoint"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { ArawnStore } from "arawn-store/langgraph"
import * as SqliteMemory from "arawn-store/MemoryBackend/Sqlite"
import { token } from "../src/testing/internal.js"
import { tempDir } from "./support/tempDir.js"

const dir = tempDir("arawn-langgraph-")

const layers: ReadonlyArray<readonly [string, () => Layer.Layer<MemoryBackend.MemoryBackend, unknown>]> = [
  ["in-memory", () => MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing))],
  ["SQLite file", () => SqliteMemory.layer({ filename: join(dir, `store-${token()}.db`) }).pipe(Layer.provide(Embedder.layerHashing))]
]

const keys = (items: ReadonlyArray<Item>) => items.map((i) => i.key)

for (const [name, layer] of layers) {
  describe(`ArawnStore (${name})`, () => {
    let store: ArawnStore
    let unindexed: ArawnStore
    beforeAll(async () => {
      store = await ArawnStore.fromLayer(layer())
      unindexed = await ArawnStore.fromLayer(layer(), { index: false })
    })
    afterAll(async () => {
      await store.stop()
      await unindexed.stop()
    })

    it("put then get returns the item; put again replaces its value and keeps createdAt", async () => {
      const ns = [`u${token()}`, "profile"]
      await store.put(ns, "prefs", { theme: "dark", size: 3 })
      const first = await store.get(ns, "prefs")
      expect(first).toMatchObject({ namespace: ns, key: "prefs", value: { theme: "dark", size: 3 } })
      expect(first!.createdAt).toBeInstanceOf(Date)
      expect(first!.updatedAt.getTime()).toBe(first!.createdAt.getTime())
      await store.put(ns, "prefs", { theme: "light" })
      const second = await store.get(ns, "prefs")
      expect(second!.value).toEqual({ theme: "light" })
      expect(second!.createdAt.getTime()).toBe(first!.createdAt.getTime())
      expect(second!.updatedAt.getTime()).toBeGreaterThanOrEqual(first!.updatedAt.getTime())
      expect((await store.search(ns)).length).toBe(1)
    })

    it("get of a missing key, or of the key in another namespace, is null; delete removes and is idempotent", async () => {
      const root = `u${token()}`
      await store.put([root, "a"], "k", { v: 1 })
      expect(await store.get([root, "a"], "missing")).toBeNull()
      expect(await store.get([root, "b"], "k")).toBeNull()
      expect(await store.get([root], "k")).toBeNull()
      await store.delete([root, "a"], "k")
      expect(await store.get([root, "a"], "k")).toBeNull()
      await store.delete([root, "a"], "k")
      await store.delete([root, "never"], "k")
    })

    it("batch runs its operations in order and returns one result each", async () => {
      const ns = [`u${token()}`]
      const results = await store.batch([
        { namespace: ns, key: "a", value: { n: 1 } },
        { namespace: ns, key: "a" },
        { namespace: ns, key: "b" },
        { namespacePrefix: ns, limit: 10, offset: 0 },
        { matchConditions: [{ matchType: "prefix", path: ns }], limit: 10, offset: 0 },
        { namespace: ns, key: "a", value: null },
        { namespace: ns, key: "a" }
      ])
      expect(results[0]).toBeUndefined()
      expect(results[1]).toMatchObject({ key: "a", value: { n: 1 } })
      expect(results[2]).toBeNull()
      expect(keys(results[3] ?? [])).toEqual(["a"])
      expect(results[4]).toEqual([ns])
      expect(results[6]).toBeNull()
    })

    it("search under a prefix finds its namespace and those below it, label by label", async () => {
      const root = `u${token()}`
      await store.put([root, "docs"], "d1", { text: "one" })
      await store.put([root, "docs", "v1"], "d2", { text: "two" })
      await store.put([root, "docsx"], "d3", { text: "three" })
      await store.put([root], "d4", { text: "four" })
      expect(keys(await store.search([root, "docs"])).sort()).toEqual(["d1", "d2"])
      expect(keys(await store.search([root])).sort()).toEqual(["d1", "d2", "d3", "d4"])
      expect((await store.search([root, "docs", "v1"]))[0]).toMatchObject({ namespace: [root, "docs", "v1"], key: "d2" })
      expect(await store.search([root, "nothing"])).toEqual([])
    })

    it("filter matches values exactly and with $eq $ne $gt $gte $lt $lte $in $nin, all conditions at once", async () => {
      const ns = [`u${token()}`]
      await store.put(ns, "red3", { color: "red", size: 3 })
      await store.put(ns, "red7", { color: "red", size: 7 })
      await store.put(ns, "blue5", { color: "blue", size: 5 })
      const found = async (filter: Record<string, unknown>) => keys(await store.search(ns, { filter })).sort()
      expect(await found({ color: "red" })).toEqual(["red3", "red7"])
      expect(await found({ color: { $eq: "blue" } })).toEqual(["blue5"])
      expect(await found({ color: { $ne: "red" } })).toEqual(["blue5"])
      expect(await found({ size: { $gt: 3 } })).toEqual(["blue5", "red7"])
      expect(await found({ size: { $gte: 5, $lt: 7 } })).toEqual(["blue5"])
      expect(await found({ size: { $lte: 3 } })).toEqual(["red3"])
      expect(await found({ color: "red", size: { $gt: 4 } })).toEqual(["red7"])
      expect(await found({ size: { $in: [3, 5] } })).toEqual(["blue5", "red3"])
      expect(await found({ color: { $nin: ["red"] } })).toEqual(["blue5"])
      expect(await found({ color: "green" })).toEqual([])
    })

    it("limit and offset page a search without gaps or repeats, with and without a query", async () => {
      // A store of its own: BM25 weighs words by the whole store, which the other cases keep changing meanwhile.
      const own = await ArawnStore.fromLayer(layer())
      try {
        const ns = [`u${token()}`]
        const w = token()
        for (let i = 0; i < 7; i++) await own.put(ns, `k${i}`, { text: `${w} ${"note ".repeat(i + 1)}` })
        for (const query of [undefined, `${w} note`]) {
          const all = keys(await own.search(ns, { limit: 7, ...(query ? { query } : {}) }))
          expect(all.length).toBe(7)
          const pages = await Promise.all([0, 3, 6].map((offset) => own.search(ns, { limit: 3, offset, ...(query ? { query } : {}) })))
          expect(pages.map((p) => p.length)).toEqual([3, 3, 1])
          expect(pages.flatMap(keys)).toEqual(all)
        }
        expect((await own.search(ns)).length).toBe(7)
      } finally {
        await own.stop()
      }
    })

    it("a query ranks the items that match it first, with scores from best to worst", async () => {
      const ns = [`u${token()}`, "memories"]
      await store.put(ns, "food", { text: "the user loves spicy ramen and dumplings" })
      await store.put(ns, "work", { text: "the user writes TypeScript at a logistics company" })
      await store.put(ns, "pets", { text: "the user has a cat called Miso" })
      const hits = await store.search(ns, { query: "what food does the user love? ramen", limit: 3 })
      expect(hits[0]!.key).toBe("food")
      for (const h of hits) expect(typeof h.score).toBe("number")
      for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score!).toBeGreaterThanOrEqual(hits[i]!.score!)
      const filtered = await store.search(ns, { query: "the user", filter: { text: { $ne: "x" } }, limit: 1 })
      expect(filtered.length).toBe(1)
    })

    it("index fields choose the text that is embedded and searched; index false still finds the item by its words", async () => {
      const ns = [`u${token()}`]
      const [title, body] = [token(), token()]
      await store.put(ns, "fields", { title: `${title} heading`, body: `${body} paragraph` }, ["title"])
      // A query always ranks (by words and vectors, which relate any two texts a little): the indexed field's words
      // make a strong match, the other field's none at all.
      const byTitle = await store.search(ns, { query: title })
      const byBody = await store.search(ns, { query: body })
      expect(keys(byTitle)).toEqual(["fields"])
      expect(byTitle[0]!.score!).toBeGreaterThan(2 * (byBody[0]?.score ?? 0))
      const plain = token()
      await store.put(ns, "off", { text: `${plain} unembedded` }, false)
      expect(keys(await store.search(ns, { query: plain }))[0]).toBe("off")
      expect(keys(await store.search(ns, { filter: { text: `${plain} unembedded` } }))).toEqual(["off"])
      const onlyWords = token()
      await unindexed.put(ns, "w", { text: `${onlyWords} stored without vectors` })
      expect(keys(await unindexed.search(ns, { query: onlyWords }))).toEqual(["w"])
    })

    it("listNamespaces: prefix, suffix, * wildcards, maxDepth, limit and offset", async () => {
      const root = `u${token()}`
      for (const ns of [[root, "users", "1", "prefs"], [root, "users", "2", "prefs"], [root, "users", "2", "notes"], [root, "docs"]]) {
        await store.put(ns, "k", { v: 1 })
      }
      expect(await store.listNamespaces({ prefix: [root] })).toEqual([
        [root, "docs"],
        [root, "users", "1", "prefs"],
        [root, "users", "2", "notes"],
        [root, "users", "2", "prefs"]
      ])
      expect(await store.listNamespaces({ prefix: [root], suffix: ["prefs"] })).toEqual([[root, "users", "1", "prefs"], [root, "users", "2", "prefs"]])
      expect(await store.listNamespaces({ prefix: [root, "users", "*", "notes"] })).toEqual([[root, "users", "2", "notes"]])
      expect(await store.listNamespaces({ prefix: [root], maxDepth: 2 })).toEqual([[root, "docs"], [root, "users"]])
      expect(await store.listNamespaces({ prefix: [root], maxDepth: 3, limit: 1, offset: 1 })).toEqual([[root, "users", "1"]])
      await store.delete([root, "docs"], "k")
      expect(await store.listNamespaces({ prefix: [root], maxDepth: 2 })).toEqual([[root, "users"]])
    })

    it("labels holding /, % and spaces round-trip and stay one label", async () => {
      const ns = [`u${token()}`, "a/b", "50% off", " padded "]
      await store.put(ns, "key/with spaces", { v: 1 })
      expect(await store.get(ns, "key/with spaces")).toMatchObject({ namespace: ns, key: "key/with spaces" })
      expect(keys(await store.search([ns[0]!, "a/b"]))).toEqual(["key/with spaces"])
      expect(await store.search([ns[0]!, "a"])).toEqual([])
      expect(await store.listNamespaces({ prefix: [ns[0]!] })).toEqual([ns])
      expect((await store.search([ns[0]!]))[0]!.namespace).toEqual(ns)
    })

    it("invalid namespaces are refused as BaseStore refuses them", async () => {
      await expect(store.put([], "k", { v: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError)
      await expect(store.put(["a.b"], "k", { v: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError)
      await expect(store.put(["langgraph"], "k", { v: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError)
      await expect(store.put(["ok", ""], "k", { v: 1 })).rejects.toBeInstanceOf(InvalidNamespaceError)
    })

    it("a failed operation rejects with the backend's typed error", async () => {
      await expect(store.search([`u${token()}`], { filter: { "no such$field": 1 } })).rejects.toMatchObject({ _tag: "InvalidInput" })
      await expect(store.search([`u${token()}`], { query: "x", limit: 5000 })).rejects.toMatchObject({ _tag: "InvalidInput" })
    })
  })
}

describe("ArawnStore on a SQLite file", () => {
  it("keeps its items across a reopen", async () => {
    const filename = join(dir, `reopen-${token()}.db`)
    const open = () => ArawnStore.fromLayer(SqliteMemory.layer({ filename }).pipe(Layer.provide(Embedder.layerHashing)))
    const first = await open()
    await first.put(["tenant", "notes"], "n1", { text: "persisted across processes" })
    await first.stop()
    const second = await open()
    try {
      expect(await second.get(["tenant", "notes"], "n1")).toMatchObject({ value: { text: "persisted across processes" } })
      expect(keys(await second.search(["tenant"], { query: "persisted" }))).toEqual(["n1"])
    } finally {
      await second.stop()
    }
  })
})
