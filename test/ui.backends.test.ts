/**
 * The inspector's API on every backend (in-memory, SQLite + JSONL, PostgreSQL through PGlite): the page is the same
 * for all of them, so what must hold per backend is what the endpoints answer. The server runs in this process.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Effect, Layer, Redacted } from "effect"
import { join } from "node:path"
import * as Embedder from "../src/Embedder.js"
import * as MemoryBackendModule from "../src/MemoryBackend.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as PgMemoryBackend from "../src/MemoryBackend/Pg.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import * as WorkstreamStoreModule from "../src/WorkstreamStore.js"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as LocalWorkstreamStore from "../src/WorkstreamStore/Local.js"
import * as PgWorkstreamStore from "../src/WorkstreamStore/Pg.js"
import type { Location } from "../src/cli/layers.js"
import { routes } from "../src/cli/ui.js"
import { makeToken, serve } from "../src/cli/uiHttp.js"
import { token as freshToken } from "../src/testing/internal.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"
import { cli, isOneLine } from "./support/cli.js"
import { tempDir } from "./support/tempDir.js"

const SLOW = 240_000
let pglite: PgliteServer | undefined
beforeAll(async () => {
  pglite = await startPglite()
}, SLOW)
afterAll(async () => {
  await pglite?.stop()
}, SLOW)

type Store = Layer.Layer<MemoryBackend | WorkstreamStore, unknown>

const backends: ReadonlyArray<readonly [string, () => { readonly layer: Store; readonly at: Location }]> = [
  ["in-memory", () => ({
    layer: Layer.merge(MemoryBackendModule.layerMemory, WorkstreamStoreModule.layerMemory).pipe(Layer.provide(Embedder.layerHashing)),
    at: { _tag: "Dir", dir: tempDir("arawn-ui-mem-"), read: false }
  })],
  ["SQLite + JSONL", () => {
    const dir = tempDir("arawn-ui-sqlite-")
    return {
      layer: Layer.merge(SqliteMemoryBackend.layer({ filename: join(dir, "memory.db"), readers: 0 }), LocalWorkstreamStore.layer({ dir })).pipe(
        Layer.provide(Embedder.layerHashing)
      ),
      at: { _tag: "Dir", dir, read: false }
    }
  }],
  ["PostgreSQL (PGlite)", () => {
    const options = { url: Redacted.make(pglite!.url), maxConnections: 1, schema: `ui_${freshToken()}` }
    return {
      layer: Layer.merge(PgMemoryBackend.layer(options), PgWorkstreamStore.layer(options)).pipe(Layer.provide(Embedder.layerHashing)),
      at: { _tag: "Url", url: options.url, schema: options.schema, prefix: undefined }
    }
  }]
]

interface Json {
  readonly [key: string]: unknown
}

describe.each(backends)("the inspector's API on %s", (_name, make) => {
  it("pages, searches, explains, shows history, deletes one, and reads threads, their tree and the store", async () => {
    const { layer, at } = make()
    const program = Effect.gen(function*() {
      const m = yield* MemoryBackend
      const ws = yield* WorkstreamStore
      // One batch: the 25 memories share their creation millisecond, so the cursor must page through a tie.
      yield* m.storeMany(Array.from({ length: 25 }, (_, i) => ({ content: `note ${i} about the ledger`, metadata: { tags: ["ledger"] } })))
      yield* m.storeFact({ content: "The region is eu", metadata: { subject: "app", predicate: "region" }, source: "stated" })
      yield* m.storeFact({ content: "The region is eu", metadata: { subject: "app", predicate: "region" }, source: "stated" })
      const thread = yield* ws.create({ title: "Main", tags: ["t"] })
      yield* ws.storeMessages(thread.id, Array.from({ length: 30 }, (_, i) => ({ role: "user" as const, content: `ledger message ${i + 1}` })))
      const fork = yield* ws.fork(thread.id, { atSeq: 10, title: "Branch" })
      const token = makeToken()
      const url = new URL(yield* serve({ host: "127.0.0.1", port: 0, token, readOnly: false, page: "<p>page</p>", routes: routes(at, { readOnly: false, namespace: null }) }))
      const call = (path: string, body?: unknown) =>
        Effect.promise(async () => {
          const r = await fetch(`${url.origin}${path}`, {
            method: body === undefined ? "GET" : "POST",
            headers: { "x-arawn-token": token, ...(body === undefined ? {} : { "content-type": "application/json" }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
          })
          const json: Json = await r.json()
          return { status: r.status, json }
        })

      const ids: Array<string> = []
      let cursor = ""
      do {
        const page = yield* call(`/api/memories?limit=10${cursor === "" ? "" : `&cursor=${cursor}`}`)
        expect(page.status).toBe(200)
        const items = page.json["items"] as ReadonlyArray<{ readonly id: string }>
        ids.push(...items.map((i) => i.id))
        cursor = typeof page.json["nextCursor"] === "string" ? page.json["nextCursor"] : ""
      } while (cursor !== "")
      expect(ids).toHaveLength(26)
      expect(new Set(ids).size).toBe(26)

      const search = yield* call("/api/memories/search?q=ledger&mode=hybrid&limit=5")
      const hits = search.json["hits"] as ReadonlyArray<{ readonly explain: { readonly relevance: number; readonly confidence: number } }>
      expect(hits).toHaveLength(5)
      expect(hits[0]!.explain.relevance).toBeGreaterThan(0)

      const fact = (yield* call("/api/memories/search?q=region&mode=text&limit=1")).json["hits"] as ReadonlyArray<{ readonly memory: { readonly id: string } }>
      const detail = yield* call(`/api/memory?id=${fact[0]!.memory.id}`)
      expect((detail.json["history"] as ReadonlyArray<{ readonly _tag: string }>).map((e) => e._tag)).toEqual(["stored", "reinforced"])

      expect((yield* call("/api/memory/delete", { id: ids[3] })).status).toBe(200)
      expect((yield* call("/api/memories?limit=1")).json["total"]).toBe(25)
      expect((yield* call(`/api/memory?id=${ids[3]}`)).status).toBe(404)
      expect((yield* call("/api/memory/edit", { id: ids[4], content: "edited", tags: ["x"] })).status).toBe(200)
      const edited = (yield* call(`/api/memory?id=${ids[4]}`)).json
      expect((edited["history"] as ReadonlyArray<{ readonly _tag: string }>).map((e) => e._tag)).toEqual(["stored", "updated"])
      expect((yield* call("/api/memory/expire", { id: ids[5] })).status).toBe(200)
      expect((yield* call(`/api/memory?id=${ids[5]}`)).status).toBe(404)
      expect((yield* call("/api/memories?limit=1")).json["total"]).toBe(24)
      expect((yield* call("/api/memory/delete", { id: "not-a-uuid" })).status).toBe(400)
      expect((yield* call("/api/where?where=%7B%22extra.x%22%3A%7B%22%24bad%22%3A1%7D%7D")).json["ok"]).toBe(false)
      expect((yield* call("/api/memories?where=%7B%22nope%22%3A1%7D")).status).toBe(400)
      expect((yield* call("/api/memories?session=not-a-session")).status).toBe(400)
      expect((yield* call(`/api/memories?thread=${thread.id}`)).json["total"]).toBe(0)

      const threads = (yield* call("/api/threads")).json["items"] as ReadonlyArray<{ readonly id: string }>
      expect(threads.map((t) => t.id).sort()).toEqual([thread.id, fork.id].sort())
      const window = (yield* call(`/api/thread/messages?id=${thread.id}&from=21&to=30`)).json["messages"] as ReadonlyArray<{ readonly seq: number }>
      expect(window.map((x) => x.seq)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30])
      const tree = (yield* call(`/api/thread/tree?id=${fork.id}`)).json
      expect(tree["root"]).toBe(thread.id)
      expect(tree["nodes"]).toEqual([
        expect.objectContaining({ id: thread.id, parent: null }),
        expect.objectContaining({ id: fork.id, parent: thread.id, atSeq: 10 })
      ])
      const found = (yield* call("/api/threads/search?q=ledger")).json["hits"] as ReadonlyArray<{ readonly snippet: string }>
      expect(found.length).toBeGreaterThan(0)
      expect(found[0]!.snippet).toContain("ledger")

      const store = (yield* call("/api/store")).json
      expect(store).toMatchObject({ live: 24, threads: 2, messages: 40, stale: false })
      const timeline = store["timeline"] as ReadonlyArray<{ readonly memories: number; readonly messages: number }>
      expect(timeline.reduce((n, b) => n + b.memories, 0)).toBe(24)
      expect(timeline.reduce((n, b) => n + b.messages, 0)).toBe(40)
    })
    await Effect.runPromise(Effect.scoped(Effect.provide(program, layer)))
  }, SLOW)
})

describe("arawn-store ui on the command line", () => {
  it("refuses a store that does not exist and a port out of range, in one line each", async () => {
    const missing = join(tempDir("arawn-ui-cli-"), "nothing-here")
    const r = await cli(["--dir", missing, "ui"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`no store at ${missing}`)
    expect(isOneLine(r.stderr)).toBe(true)
    const port = await cli(["--dir", missing, "ui", "--port", "70000"])
    expect(port.code).toBe(2)
    expect(port.stderr).toContain("--port must be a port number from 0 to 65535")
  }, SLOW)
})
