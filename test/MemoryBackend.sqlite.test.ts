import { execFile, spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, Layer, ManagedRuntime, Option, Schema, Stream } from "effect"
import * as fc from "fast-check"
import { Embedder } from "arawn-store"
import { MemoryBackendModel, MemoryBackendSuite } from "arawn-store/testing"
import Database from "better-sqlite3"
import { MemoryId } from "../src/Ids.js"
import type { NewMemory } from "../src/Memory.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { outcome, token, uuid } from "../src/testing/internal.js"
import { bundled } from "./support/bundle.js"
import { removedAfterAll } from "./support/tempDir.js"

const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-memory-")))
const file = (name: string) => join(dir, `${name}-${token()}.db`)
const hashing384 = Embedder.layerHashing
const hashing64 = Embedder.layerHashingWith({ dimensions: 64 })
const onFile = (filename: string, embedder = hashing384, options: Omit<SqliteMemory.FileOptions, "filename"> = {}) =>
  SqliteMemory.layer({ ...options, filename }).pipe(Layer.provide(embedder))

MemoryBackendSuite.suite("MemoryBackend/Sqlite (file)", onFile(join(dir, "suite.db")), {
  withOptions: (options) => onFile(file("options"), hashing384, options)
})
MemoryBackendSuite.suite("MemoryBackend/Sqlite (:memory:)", onFile(":memory:"), {
  withOptions: (options) => onFile(":memory:", hashing384, options)
})
// Every filtered and unfiltered vector search goes through the bit index here, never the exact scan.
MemoryBackendSuite.suite("MemoryBackend/Sqlite (:memory:, bit index only)", onFile(":memory:", hashing384, { exactScanLimit: 0 }), {
  withOptions: (options) => onFile(":memory:", hashing384, { exactScanLimit: 0, ...options })
})
MemoryBackendModel.suite("MemoryBackend/Sqlite (file) model", onFile(join(dir, "model.db")))

const ids = (hits: ReadonlyArray<{ readonly memory: { readonly id: MemoryId } }>) => hits.map((h) => h.memory.id)

describe("MemoryBackend/Sqlite", () => {
  it.effect("a reopened file still has every memory, by id, by words and by vector", () =>
    Effect.gen(function*() {
      const filename = file("reopen")
      const w = token()
      const stored = yield* Effect.provide(
        Effect.flatMap(MemoryBackend, (m) =>
          m.storeMany([
            { content: `${w} the deploy pipeline runs on fridays`, metadata: { tags: ["ops"] }, citation: { _tag: "web", url: "https://x.test", fetchedAt: "2026-01-01T00:00:00.000Z" } },
            { content: `${w} sqlite keeps the vectors`, contentType: "fact", source: "stated" }
          ])),
        onFile(filename)
      )
      yield* Effect.provide(
        Effect.gen(function*() {
          const m = yield* MemoryBackend
          const first = Option.getOrThrow(yield* m.get(stored[0]!))
          expect(first.content).toBe(`${w} the deploy pipeline runs on fridays`)
          expect(first.metadata.tags).toEqual(["ops"])
          expect(first.citation?._tag).toBe("web")
          expect(ids(yield* m.search(`${w} sqlite`, { mode: "text" }))[0]).toBe(stored[1])
          const vector = yield* m.search(`${w} sqlite keeps the vectors`, { mode: "vector", limit: 1 })
          expect(vector[0]!.memory.id).toBe(stored[1])
          expect(vector[0]!.explain.vectorDistance!).toBeLessThan(1e-3)
          expect((yield* m.stats()).memories).toBe(2)
        }),
        onFile(filename)
      )
    }))

  it.each([0, 2])("a search after another store on the file reindexed sees the new generation, and its space (readers %i)", async (readers) => {
    const filename = file("swapped")
    const w = token()
    const searcher = ManagedRuntime.make(onFile(filename, hashing384, { readers }))
    const same = ManagedRuntime.make(onFile(filename, hashing384, { readers: 0 }))
    const other = ManagedRuntime.make(onFile(filename, hashing64, { readers: 0 }))
    try {
      const m = await searcher.runPromise(MemoryBackend)
      const seeded = await searcher.runPromise(m.storeMany(Array.from({ length: 20 }, (_, i) => ({ content: `${w} entry ${i} about topic ${i}` }))))
      const nearest = (q: string) => searcher.runPromise(Effect.map(m.search(q, { mode: "vector", limit: 1 }), ids))
      expect(await nearest(`${w} entry 3 about topic 3`)).toEqual([seeded[3]])
      // The same space, reindexed elsewhere: the generation this store last read is dropped under it.
      await same.runPromise(Effect.flatMap(MemoryBackend, (o) => Stream.runDrain(o.reindex())))
      expect(await nearest(`${w} entry 5 about topic 5`)).toEqual([seeded[5]])
      expect(await nearest(`${w} entry 6 about topic 6`)).toEqual([seeded[6]])
      // Another space: this store's embedder no longer matches, and says so.
      await other.runPromise(Effect.flatMap(MemoryBackend, (o) => Stream.runDrain(o.reindex())))
      expect(await searcher.runPromise(outcome(m.search(w, { mode: "vector" })))).toBe("EmbeddingSpaceMismatch")
      // Back to this store's space: seen at once.
      await same.runPromise(Effect.flatMap(MemoryBackend, (o) => Stream.runDrain(o.reindex())))
      expect(await nearest(`${w} entry 7 about topic 7`)).toEqual([seeded[7]])
    } finally {
      await other.dispose()
      await same.dispose()
      await searcher.dispose()
    }
  })

  it.effect("another embedder: vector paths refuse with EmbeddingSpaceMismatch, the rest works; reindex (interrupted, then rerun) clears it", () =>
    Effect.gen(function*() {
      const filename = file("mismatch")
      const w = token()
      const seeded = yield* Effect.provide(
        Effect.flatMap(MemoryBackend, (m) =>
          m.storeMany(Array.from({ length: 100 }, (_, i) => ({ content: `${w} entry ${i} about topic ${i % 7}`, metadata: { tags: ["t"] } })))),
        onFile(filename)
      )
      const reopened64 = <A, E>(body: Effect.Effect<A, E, MemoryBackend>) => Effect.provide(body, onFile(filename, hashing64))

      yield* reopened64(Effect.gen(function*() {
        const m = yield* MemoryBackend
        expect(yield* outcome(m.store({ content: "new" }))).toBe("EmbeddingSpaceMismatch")
        expect(yield* outcome(m.storeMany([{ content: "new" }]))).toBe("EmbeddingSpaceMismatch")
        expect(yield* outcome(m.storeFact({ content: "x", metadata: { subject: "s", predicate: "p" } }))).toBe("EmbeddingSpaceMismatch")
        expect(yield* outcome(m.update(seeded[0]!, { content: "changed" }))).toBe("EmbeddingSpaceMismatch")
        expect(yield* outcome(m.search(w, { mode: "vector" }))).toBe("EmbeddingSpaceMismatch")
        expect(yield* outcome(m.search(w))).toBe("EmbeddingSpaceMismatch")
        expect((yield* m.search(`${w} entry`, { mode: "text", limit: 5 })).length).toBe(5)
        expect(Option.isSome(yield* m.get(seeded[1]!))).toBe(true)
        expect((yield* m.update(seeded[1]!, { source: "stated" })).confidence.source).toBe("stated")
        expect(yield* m.count()).toBe(100)
        expect(yield* Stream.runCount(m.list({ tags: ["t"] }))).toBe(100)
        yield* m.delete(seeded[2]!)
        const st = yield* m.stats()
        expect(st.stale).toBe(true)
        expect(st.embedder.dimensions).toBe(64)
        expect(st.memories).toBe(99)
        // Interrupted after two batches: the old vectors stay in charge, the store stays stale.
        const partial = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.take(m.reindex(), 2)))
        expect(partial.map((p) => p.done)).toEqual([32, 64])
        expect(yield* outcome(m.search(w, { mode: "vector" }))).toBe("EmbeddingSpaceMismatch")
        expect((yield* m.stats()).stale).toBe(true)
      }))

      yield* reopened64(Effect.gen(function*() {
        const m = yield* MemoryBackend
        const progress = Chunk.toReadonlyArray(yield* Stream.runCollect(m.reindex()))
        // The rerun resumes: rows embedded before the interruption are not done again.
        expect(progress[0]!.done).toBeGreaterThan(64)
        expect(progress[progress.length - 1]).toEqual({ done: 99, total: 99 })
        const st = yield* m.stats()
        expect(st).toMatchObject({ stale: false, memories: 99, vectors: 99 })
        const hit = yield* m.search(`${w} entry 5 about topic 5`, { mode: "vector", limit: 1 })
        expect(hit[0]!.memory.content).toBe(`${w} entry 5 about topic 5`)
        expect(hit[0]!.explain.vectorDistance!).toBeLessThan(1e-3)
        expect(yield* outcome(m.store({ content: `${w} after reindex` }))).toBe("success")
      }))

      // The store now belongs to the 64-dim space: the original embedder is the stranger.
      yield* Effect.provide(
        Effect.flatMap(MemoryBackend, (m) => Effect.map(outcome(m.search(w, { mode: "vector" })), (o) => expect(o).toBe("EmbeddingSpaceMismatch"))),
        onFile(filename)
      )
    }), { timeout: 60_000 })

  it.effect("FTS syntax in queries is searched as words, never parsed", () =>
    Effect.provide(
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = uuid()
        const w = token()
        const [plain, ops] = yield* m.storeMany([
          { content: `${w} plain words only`, sessionId: s },
          { content: `${w} uses NEAR and OR and AND and NOT as words`, sessionId: s }
        ])
        const hostile = [
          `"`, `'`, `""`, `*`, `(`, `)`, `^`, `:`, `-`, `+`, `%`, `_`, `\\`, `;`,
          `NEAR`, `OR`, `AND`, `NOT`, `NEAR(${w} plain, 2)`, `${w}*`, `"${w}`, `${w}"`, `content:${w}`, `^${w}`,
          `${w} OR`, `OR ${w}`, `(${w}`, `{content}: ${w}`, `${w}'; DROP TABLE arawn_store_memories; --`,
          `${w} \u0001 control`
        ]
        for (const q of hostile) {
          const hits = yield* m.search(q, { sessionId: s, mode: "text" })
          if (q.includes(w)) expect(ids(hits)).toContain(plain)
        }
        expect(ids(yield* m.search("NEAR OR", { sessionId: s, mode: "text" }))).toEqual([ops])
        for (const q of [`"`, `*`, `(`, `'`, `;`, `^`, "🚀"]) expect(yield* m.search(q, { sessionId: s, mode: "text" })).toEqual([])
        expect(yield* m.count({ sessionId: s })).toBe(2)
      }),
      onFile(":memory:")
    ))

  it.effect("1 MB of content round-trips and is found by its words and its vector", () =>
    Effect.provide(
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const w = token()
        const words = Array.from({ length: 150_000 }, (_, i) => `word${i % 5000}`).join(" ")
        const content = `${w} ${words}`.slice(0, 1_048_576)
        const id = yield* m.store({ content })
        expect(Option.getOrThrow(yield* m.get(id)).content).toBe(content)
        expect(ids(yield* m.search(w, { mode: "text" }))).toEqual([id])
        expect(ids(yield* m.search(content.slice(0, 5000), { mode: "vector", limit: 1 }))).toEqual([id])
      }),
      onFile(":memory:")
    ))

  it.effect("unicode content (CJK, accents, emoji) is searchable by its words", () =>
    Effect.provide(
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const s = uuid()
        const [tokyo, cafe, rocket] = yield* m.storeMany([
          { content: "東京 の 天気 は 晴れ です", sessionId: s },
          { content: "Le café de Zoë ouvre à 7h", sessionId: s },
          { content: "deploy 🚀 succeeded 🎉 at midnight", sessionId: s }
        ])
        expect(ids(yield* m.search("東京", { sessionId: s, mode: "text" }))).toEqual([tokyo])
        expect(ids(yield* m.search("晴れ", { sessionId: s, mode: "text" }))).toEqual([tokyo])
        expect(ids(yield* m.search("café", { sessionId: s, mode: "text" }))).toEqual([cafe])
        expect(ids(yield* m.search("zoë", { sessionId: s, mode: "text" }))).toEqual([cafe])
        expect(ids(yield* m.search("🚀 succeeded", { sessionId: s, mode: "text" }))).toEqual([rocket])
        expect(Option.getOrThrow(yield* m.get(rocket!)).content).toBe("deploy 🚀 succeeded 🎉 at midnight")
        expect(ids(yield* m.search("東京 の 天気 は 晴れ です", { sessionId: s, mode: "vector", limit: 1 }))).toEqual([tokyo])
      }),
      onFile(":memory:")
    ))

  for (const exactScanLimit of [2048, 0]) {
    it.effect(`a filter matching under 1% of 5,000 memories still fills the limit (exactScanLimit ${exactScanLimit})`, () =>
      Effect.provide(
        Effect.gen(function*() {
          const m = yield* MemoryBackend
          const w = token()
          const rare = uuid()
          const inputs: Array<NewMemory> = Array.from({ length: 5000 }, (_, i) => ({
            content: `${w} shared topic words ${i % 50} item ${i}`,
            ...(i % 125 === 0 ? { sessionId: rare, metadata: { tags: ["rare"] } } : {})
          }))
          yield* m.storeMany(inputs)
          expect(yield* m.count({ sessionId: rare })).toBe(40)
          for (const mode of ["vector", "hybrid", "text"] as const) {
            const bySession = yield* m.search(`${w} shared topic words 3`, { mode, sessionId: rare, limit: 10 })
            expect(bySession.length).toBe(10)
            expect(bySession.every((h) => h.memory.sessionId === rare)).toBe(true)
            const byTag = yield* m.search(`${w} shared topic words 3`, { mode, tags: ["rare"], limit: 30 })
            expect(byTag.length).toBe(30)
          }
          // The index path returns the exact answer here too: the same ids as an exhaustive scan of the 40.
          const all = yield* m.search(`${w} shared topic words 3`, { mode: "vector", sessionId: rare, limit: 40 })
          const top = yield* m.search(`${w} shared topic words 3`, { mode: "vector", sessionId: rare, limit: 10 })
          expect(ids(top)).toEqual(ids(all).slice(0, 10))
        }),
        onFile(":memory:", hashing384, { exactScanLimit })
      ), { timeout: 60_000 })
  }

  it("never leaves an orphan: rows, vectors, codes and text entries always agree, and deleted memories never come back", async () => {
    const runtime = ManagedRuntime.make(
      SqliteMemory.layer().pipe(Layer.provide(hashing384), Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" })))
    )
    const Count = Schema.Array(Schema.Struct({ n: Schema.Number }))
    const Meta = Schema.Array(Schema.Struct({ value: Schema.String }))
    const counts = Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const n = (q: string) => Effect.map(Effect.flatMap(sql.unsafe(q), Schema.decodeUnknown(Count)), (r) => r[0]!.n)
      const value = (yield* Effect.flatMap(
        sql.unsafe("SELECT value FROM arawn_store_memory_meta WHERE key = 'space.generation'"),
        Schema.decodeUnknown(Meta)
      ))[0]!.value
      return {
        rows: yield* n("SELECT count(*) AS n FROM arawn_store_memories"),
        vectors: yield* n(`SELECT count(*) AS n FROM arawn_store_memory_vectors_${value}`),
        codes: yield* n(`SELECT count(*) AS n FROM arawn_store_memory_codes_${value}`),
        text: yield* n("SELECT count(*) AS n FROM arawn_store_memory_fts"),
        tags: yield* n("SELECT count(*) AS n FROM arawn_store_memory_tags"),
        orphanTags: yield* n("SELECT count(*) AS n FROM arawn_store_memory_tags t WHERE NOT EXISTS (SELECT 1 FROM arawn_store_memories m WHERE m.pk = t.memory_pk)"),
        orphanVectors: yield* n(`SELECT count(*) AS n FROM arawn_store_memory_vectors_${value} v WHERE NOT EXISTS (SELECT 1 FROM arawn_store_memories m WHERE m.pk = v.pk)`)
      }
    })
    const word = fc.constantFrom("alpha", "beta", "gamma", "delta")
    const content = fc.oneof(
      { weight: 5, arbitrary: fc.array(word, { minLength: 1, maxLength: 4 }).map((ws) => ws.join(" ")) },
      { weight: 1, arbitrary: fc.constantFrom("", "  ", "bad\u0000") }
    )
    const tags = fc.array(fc.constantFrom("x", "y", "z"), { maxLength: 2 })
    const command = fc.oneof(
      fc.record({ op: fc.constant("store" as const), content, tags, reuse: fc.option(fc.nat(), { nil: undefined }) }),
      fc.record({ op: fc.constant("storeMany" as const), items: fc.array(fc.record({ content, tags }), { maxLength: 4 }), dup: fc.boolean() }),
      fc.record({ op: fc.constant("update" as const), target: fc.nat(), content: fc.option(content, { nil: undefined }), tags: fc.option(tags, { nil: undefined }) }),
      fc.record({ op: fc.constant("delete" as const), target: fc.nat() }),
      fc.record({ op: fc.constant("storeFact" as const), content, subject: fc.constantFrom("s1", "s2"), predicate: fc.constantFrom("is", "has") })
    )
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
          const session = uuid()
          const live: Array<MemoryId> = []
          const deleted: Array<MemoryId> = []
          const pick = (n: number) => (live.length === 0 ? (uuid() as MemoryId) : live[n % live.length]!)
          await runtime.runPromise(Effect.gen(function*() {
            const m = yield* MemoryBackend
            for (const c of commands) {
              const attempt = <A, E>(e: Effect.Effect<A, E>) => Effect.option(e)
              switch (c.op) {
                case "store": {
                  const id = c.reuse !== undefined && live.length > 0 ? pick(c.reuse) : undefined
                  const r = yield* attempt(m.store({ content: c.content, sessionId: session, metadata: { tags: c.tags }, ...(id ? { id } : {}) }))
                  // A store of a live id with the same content is a retry: it returns that id again.
                  if (Option.isSome(r) && !live.includes(r.value)) live.push(r.value)
                  break
                }
                case "storeMany": {
                  const items = c.items.map((i) => ({ content: i.content, sessionId: session, metadata: { tags: i.tags } }))
                  const dupId = uuid() as MemoryId
                  const batch = c.dup && items.length >= 2 ? items.map((i, k) => (k < 2 ? { ...i, id: dupId } : i)) : items
                  const r = yield* attempt(m.storeMany(batch))
                  if (Option.isSome(r)) live.push(...r.value)
                  break
                }
                case "update": {
                  yield* attempt(m.update(pick(c.target), {
                    ...(c.content !== undefined ? { content: c.content } : {}),
                    ...(c.tags !== undefined ? { metadata: { tags: c.tags } } : {})
                  }))
                  break
                }
                case "delete": {
                  const id = pick(c.target)
                  yield* m.delete(id)
                  const at = live.indexOf(id)
                  if (at >= 0) live.splice(at, 1)
                  deleted.push(id)
                  break
                }
                case "storeFact": {
                  const r = yield* attempt(m.storeFact({ content: c.content, sessionId: session, metadata: { subject: `${c.subject}-${session}`, predicate: c.predicate } }))
                  if (Option.isSome(r) && !live.includes(r.value.id)) live.push(r.value.id)
                  break
                }
              }
            }
            const n = yield* counts
            expect(n.vectors).toBe(n.rows)
            expect(n.codes).toBe(n.rows)
            expect(n.text).toBe(n.rows)
            expect(n.orphanTags).toBe(0)
            expect(n.orphanVectors).toBe(0)
            expect(yield* m.count({ sessionId: session, includeSuperseded: true })).toBe(live.length)
            for (const mode of ["text", "vector", "hybrid"] as const) {
              const hits = ids(yield* m.search("alpha beta gamma delta", { sessionId: session, mode, limit: 100, includeSuperseded: true }))
              for (const id of deleted) expect(hits).not.toContain(id)
            }
            for (const id of deleted) expect(Option.isNone(yield* m.get(id))).toBe(true)
          }))
        }),
        { numRuns: 40 }
      )
    } finally {
      await runtime.dispose()
    }
  }, 120_000)

})

describe("MemoryBackend/Sqlite inserts on the store's own write connection", () => {
  // Plain batches go down the direct path; a batch with an id already held, or one that finds the write lock taken,
  // goes down the store's general path. Both must give the same outcome.
  const tables = (filename: string) => {
    const db = new Database(filename, { readonly: true })
    try {
      const n = (q: string) => Number((db.prepare(q).get() as { n: number }).n)
      return {
        rows: n("SELECT count(*) AS n FROM arawn_store_memories"),
        vectors: n("SELECT count(*) AS n FROM arawn_store_memory_vectors_1"),
        text: n("SELECT count(*) AS n FROM arawn_store_memory_fts"),
        tags: n("SELECT count(*) AS n FROM arawn_store_memory_tags"),
        events: n("SELECT count(*) AS n FROM arawn_store_memory_events"),
        maxPk: n("SELECT coalesce(max(pk), 0) AS n FROM arawn_store_memories")
      }
    } finally {
      db.close()
    }
  }

  it.live("plain batches, a retry, an expired holder and a taken id mixed into batches: same outcomes, nothing half-written", () => {
    const filename = file("direct")
    return Effect.provide(
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        const w = token()
        const first = yield* m.storeMany([
          { content: `${w} first plain memory`, metadata: { tags: ["a", "b"] } },
          { content: `${w} second plain memory`, embed: false }
        ])
        expect(tables(filename)).toEqual({ rows: 2, vectors: 1, text: 2, tags: 2, events: 2, maxPk: 2 })
        expect(Chunk.toArray(yield* Stream.runCollect(m.history(first[0]!))).map((e) => e._tag)).toEqual(["stored"])
        expect(ids(yield* m.search(`${w} first`, { mode: "text" }))[0]).toBe(first[0])
        expect(ids(yield* m.search(`${w} first plain memory`, { mode: "vector" }))).toContain(first[0])
        // A retry of a stored memory beside a new one: the retry is returned, not written again.
        const retried = yield* m.storeMany([{ id: first[0]!, content: `${w} first plain memory`, metadata: { tags: ["a", "b"] } }, { content: `${w} third` }])
        expect(retried[0]).toBe(first[0])
        expect(tables(filename).rows).toBe(3)
        // An id a live memory holds for another write refuses the whole batch.
        const taken = yield* Effect.flip(m.storeMany([{ content: `${w} fourth` }, { id: first[1]!, content: `${w} other content` }]))
        expect(taken._tag).toBe("InvalidInput")
        expect(tables(filename).rows).toBe(3)
        // An expired holder gives its id up: the new memory takes it, with its own text and vector.
        const expiring = yield* m.store({ content: `${w} ephemeral`, ttl: Duration.millis(50) })
        yield* Effect.sleep("80 millis")
        yield* m.storeMany([{ id: expiring, content: `${w} replacement` }, { content: `${w} fifth` }])
        expect(Option.map(yield* m.get(expiring), (x) => x.content)).toEqual(Option.some(`${w} replacement`))
        const after = tables(filename)
        expect(after.rows).toBe(5)
        expect(after.vectors).toBe(4)
        expect(after.text).toBe(5)
        expect(after.events).toBe(5)
        expect(ids(yield* m.search("ephemeral", { mode: "text" }))).toEqual([])
      }),
      onFile(filename)
    )
  })

  it.live("a batch that finds another process holding the write lock waits for it, then commits", () => {
    const filename = file("locked")
    return Effect.provide(
      Effect.gen(function*() {
        const m = yield* MemoryBackend
        yield* m.store({ content: "opens the file" })
        // Another process takes the write lock, says so, and commits 2 s later (under the 5 s busy timeout; long
        // enough that it still holds the lock when its message arrives on a loaded machine).
        const holder = spawn(process.execPath, ["-e", `
          const db = new (require("better-sqlite3"))(${JSON.stringify(filename)})
          db.exec("BEGIN IMMEDIATE")
          process.stdout.write("locked\\n")
          setTimeout(() => { db.exec("COMMIT"); db.close() }, 2000)
        `], { stdio: ["ignore", "pipe", "inherit"] })
        yield* Effect.async<void>((resume) => {
          holder.stdout.once("data", () => resume(Effect.void))
        })
        const started = performance.now()
        const stored = yield* m.storeMany([{ content: "waited one" }, { content: "waited two" }])
        expect(performance.now() - started).toBeGreaterThanOrEqual(100)
        expect(stored.length).toBe(2)
        expect(tables(filename)).toMatchObject({ rows: 3, vectors: 3, text: 3, events: 3 })
      }),
      onFile(filename)
    )
  }, 20_000)
})

const memoryChild = bundled("memory-child.ts")

interface ChildRun {
  readonly lines: Array<string>
  readonly code: number | null
  readonly kill: () => void
  readonly done: Promise<void>
}

/** Starts a child on `job`; `onLine` sees every acknowledged line as it arrives. */
const startChild = async (job: Record<string, unknown>, onLine: (line: string, run: ChildRun) => void = () => {}) => {
  const command = await memoryChild()
  const child = spawn(process.execPath, [...command, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] })
  const run: { lines: Array<string>; code: number | null; kill: () => void; done: Promise<void> } = {
    lines: [],
    code: null,
    kill: () => child.kill("SIGKILL"),
    done: Promise.resolve()
  }
  let buffer = ""
  child.stdout.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8")
    for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      run.lines.push(line)
      onLine(line, run)
    }
  })
  run.done = new Promise((resolve) => child.on("close", (code) => {
    run.code = code
    resolve()
  }))
  return run
}

/** How many of `ids` the store has. */
const present = (m: MemoryBackend["Type"], ids: ReadonlyArray<string>) =>
  Effect.map(
    Effect.forEach(ids, (id) => m.get(MemoryId.make(id)), { concurrency: 8 }),
    (found) => found.filter(Option.isSome).length
  )

const within = <A, E>(filename: string, dims: number, body: Effect.Effect<A, E, MemoryBackend>) =>
  Effect.runPromise(Effect.provide(body, onFile(filename, dims === 384 ? hashing384 : Embedder.layerHashingWith({ dimensions: dims }))))

describe("MemoryBackend/Sqlite with several processes on one file", () => {
  it("writers, a fact racer and a killed writer: every acknowledged write present, one live fact, counts agree", async () => {
    const filename = file("processes")
    await within(filename, 384, Effect.flatMap(MemoryBackend, (m) => m.count()))
    const subject = `shared.${token()}`
    const writers = await Promise.all(["w1", "w2", "w3"].map((tag) => startChild({ file: filename, dims: 384, job: "write", tag, count: 150 })))
    const racers = await Promise.all(["f1", "f2"].map((tag) => startChild({ file: filename, dims: 384, job: "facts", tag, subject, count: 30 })))
    const victim = await startChild({ file: filename, dims: 384, job: "write", tag: "killed", count: 400 }, (_, run) => {
      if (run.lines.length === 40) run.kill()
    })
    await Promise.all([...writers, ...racers, victim].map((r) => r.done))
    for (const r of [...writers, ...racers]) expect([r.code, r.lines.filter((l) => l.startsWith("failed"))]).toEqual([0, []])
    expect(victim.code).not.toBe(0)
    const acknowledged = [...writers, victim].flatMap((r) => r.lines.filter((l) => !l.startsWith("failed")))
    expect(acknowledged.length).toBeGreaterThanOrEqual(450 + 40)
    await within(filename, 384, Effect.gen(function*() {
      const m = yield* MemoryBackend
      for (const tag of ["w1", "w2", "w3"]) expect(yield* m.count({ tags: [tag] })).toBe(150)
      expect(yield* m.count({ tags: ["killed"] })).toBeGreaterThanOrEqual(victim.lines.length)
      const found = yield* present(m, acknowledged)
      expect(found).toBe(acknowledged.length)
      const st = yield* m.stats()
      expect(st.vectors).toBe(st.memories)
      // Two processes raced 60 storeFacts on one subject+predicate: one live fact, 59 superseded.
      const facts = (includeSuperseded: boolean) =>
        Effect.map(Effect.all([m.count({ tags: ["f1"], includeSuperseded }), m.count({ tags: ["f2"], includeSuperseded })]), ([a, b]) => a + b)
      expect(yield* facts(false)).toBe(1)
      expect(yield* facts(true)).toBe(60)
    }))
  }, 120_000)

  it("reindex in one process while another writes with the old embedder: the swap waits for every write", async () => {
    const filename = file("reindex-writers")
    await within(filename, 64, Effect.flatMap(MemoryBackend, (m) =>
      m.storeMany(Array.from({ length: 300 }, (_, i) => ({ content: `seed ${i} about topic ${i % 9}` })))))
    const writer = await startChild({ file: filename, dims: 64, job: "write", tag: "old", count: 2000 })
    const reindexer = await startChild({ file: filename, dims: 384, job: "reindex" })
    await Promise.all([writer.done, reindexer.done])
    expect(reindexer.code).toBe(0)
    // After the swap the old embedder's writes are refused, typed; before it every one is kept.
    if (writer.code !== 0) expect(writer.lines[writer.lines.length - 1]).toContain("EmbeddingSpaceMismatch")
    const acknowledged = writer.lines.filter((l) => !l.startsWith("failed"))
    await within(filename, 384, Effect.gen(function*() {
      const m = yield* MemoryBackend
      const st = yield* m.stats()
      expect(st.stale).toBe(false)
      expect(st.memories).toBe(300 + acknowledged.length)
      expect(st.vectors).toBe(st.memories)
      expect(yield* present(m, acknowledged)).toBe(acknowledged.length)
      const hit = yield* m.search("seed 7 about topic 7", { mode: "vector", limit: 1 })
      expect(hit[0]!.memory.content).toBe("seed 7 about topic 7")
    }))
  }, 120_000)
})

/** Mounts a tmpfs of `size` at a fresh directory (root only) and hands it to `body`, unmounting afterwards. */
const onSmallDisk = async (size: string, body: (dir: string) => Promise<void>) => {
  const mountPoint = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-full-")))
  const run = promisify(execFile)
  await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", mountPoint])
  try {
    await body(mountPoint)
  } finally {
    await run("umount", ["-l", mountPoint])
  }
}

const isRoot = process.getuid?.() === 0
if (!isRoot) console.warn("MemoryBackend/Sqlite: the full-disk test needs root to mount a small tmpfs; it does not run here")

describe("MemoryBackend/Sqlite on a full disk", () => {
  it.runIf(isRoot)("a write that finds the disk full fails with StorageError, never a defect; acknowledged memories stay readable", async () => {
    await onSmallDisk("4m", async (dir) => {
      const runtime = ManagedRuntime.make(onFile(join(dir, "full.db")))
      try {
        const m = await runtime.runPromise(MemoryBackend)
        const acknowledged: Array<MemoryId> = []
        let failure: Exit.Exit<unknown, unknown> | undefined
        for (let i = 0; i < 400 && failure === undefined; i++) {
          const batch = Array.from({ length: 10 }, (_, j) => ({ content: `filler ${i} ${j} ${"lorem ipsum dolor ".repeat(30)}` }))
          const exit = await runtime.runPromiseExit(m.storeMany(batch))
          if (Exit.isSuccess(exit)) acknowledged.push(...exit.value)
          else failure = exit
        }
        expect(failure).toBeDefined()
        if (failure === undefined || Exit.isSuccess(failure)) return
        // A typed failure, not a die: the caller can tell "disk full" from a bug.
        expect(Cause.isDie(failure.cause)).toBe(false)
        expect(Option.map(Cause.failureOption(failure.cause), (e) => (e as { readonly _tag: string })._tag)).toEqual(Option.some("StorageError"))
        expect(acknowledged.length).toBeGreaterThan(0)
        // Nothing acknowledged was lost, nothing half-written shows up, and the store keeps answering reads.
        expect(await runtime.runPromise(m.count())).toBe(acknowledged.length)
        for (const id of [acknowledged[0]!, acknowledged[acknowledged.length - 1]!]) {
          expect(Option.isSome(await runtime.runPromise(m.get(id)))).toBe(true)
        }
        const st = await runtime.runPromise(m.stats())
        expect(st.vectors).toBe(st.memories)
        // Deletes and single stores on the full disk fail typed too, or succeed; they never die.
        for (const effect of [Effect.asVoid(m.store({ content: "one more ".repeat(500) })), m.delete(acknowledged[0]!)]) {
          const exit = await runtime.runPromiseExit(effect)
          if (Exit.isFailure(exit)) expect(Cause.isDie(exit.cause)).toBe(false)
        }
      } finally {
        await runtime.dispose()
      }
    })
  }, 120_000)
})

describe("MemoryBackend/Sqlite on a damaged file", () => {
  it.effect("a file that is not a database, or a directory in its place, is a StorageError", () =>
    Effect.gen(function*() {
      const garbage = file("garbage")
      writeFileSync(garbage, "this is not a sqlite file, just text ".repeat(200))
      const blocked = file("blocked")
      mkdirSync(blocked)
      for (const filename of [garbage, blocked]) {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(onFile(filename))))
        expect(exit._tag).toBe("Failure")
        if (exit._tag === "Failure") {
          const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(failure?._tag).toBe("StorageError")
        }
      }
    }))
})
