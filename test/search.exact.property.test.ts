import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Effect, Layer, TestClock } from "effect"
import fc from "fast-check"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemoryBackend from "arawn-store/MemoryBackend/Sqlite"

const VOCABULARY = ("replica wal lag cache eviction redis queue consumer offset partition index lock deadlock " +
  "timeout retry backoff token expiry certificate proxy upstream shard mapping schema migration the a of").split(" ")
const DAY = 86_400_000
const SESSIONS = ["0b7e1a52-3c1d-4f6e-9a7b-1c2d3e4f5a61", "0b7e1a52-3c1d-4f6e-9a7b-1c2d3e4f5a62", "0b7e1a52-3c1d-4f6e-9a7b-1c2d3e4f5a63"]

/** A deterministic generator of numbers in [0,1). */
const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}

/**
 * 400 memories, 6 texts of a small vocabulary (so BM25 and vector scores tie and crowd), in two namespaces and three
 * sessions, with every source, reinforcements, superseded ones, idle times, metadata for `where`, and some that
 * expire before the searches run.
 */
const seedStore = Effect.gen(function*() {
  const m = yield* MemoryBackend.MemoryBackend
  const random = seeded(42)
  const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)]!
  const now = yield* DateTime.now
  // Few distinct texts, so many memories tie in both rankings and only confidence orders them.
  const texts = Array.from({ length: 6 }, () => Array.from({ length: 2 + Math.floor(random() * 8) }, () => pick(VOCABULARY)).join(" "))
  for (let i = 0; i < 400; i++) {
    yield* m.store({
      content: pick(texts),
      namespace: pick(["alpha", "beta"]),
      sessionId: pick([...SESSIONS]),
      source: pick(["stated", "system", "observed", "inferred"] as const),
      createdAt: DateTime.unsafeMake(now.epochMillis - Math.floor(random() * 4) * DAY),
      metadata: { tags: random() < 0.5 ? ["ops"] : [], extra: { n: Math.floor(random() * 10) } },
      history: {
        reinforcementCount: Math.floor(random() * 6),
        superseded: random() < 0.1,
        lastAccessed: DateTime.unsafeMake(now.epochMillis - pick([0, 40, 200, 500]) * DAY)
      },
      ...(random() < 0.15 ? { expiresAt: DateTime.unsafeMake(now.epochMillis + 60_000) } : {})
    })
  }
  // The memories given a minute to live have expired by the time the searches run.
  yield* TestClock.adjust("2 minutes")
})

const search = fc.record({
  query: fc.array(fc.constantFrom(...VOCABULARY, "unknownword"), { minLength: 1, maxLength: 8 }).map((ws) => ws.join(" ")),
  mode: fc.constantFrom("text", "vector", "hybrid" as const),
  limit: fc.integer({ min: 1, max: 12 }),
  minScore: fc.option(fc.constantFrom(0.05, 0.2, 0.4), { nil: undefined }),
  namespace: fc.option(fc.constantFrom("alpha", "beta"), { nil: undefined, freq: 2 }),
  sessionId: fc.option(fc.constantFrom(SESSIONS[0], SESSIONS[1]), { nil: undefined, freq: 2 }),
  tags: fc.option(fc.constant(["ops"]), { nil: undefined, freq: 2 }),
  where: fc.option(fc.constantFrom({ "extra.n": { $gte: 5 } }, { "extra.n": { $lt: 3 } }), { nil: undefined, freq: 2 }),
  includeSuperseded: fc.boolean(),
  weights: fc.option(fc.constantFrom({ vector: 0, text: 1 }, { vector: 1, text: 0 }, { vector: 0.4, text: 0.6 }), { nil: undefined })
})

type Hit = { readonly id: string; readonly score: number }
const view = (hits: ReadonlyArray<{ readonly memory: { readonly id: string }; readonly score: number }>): Array<Hit> =>
  hits.map((h) => ({ id: h.memory.id, score: h.score }))

/**
 * Every search at a small limit equals the head of the same search over everything: the limit 1000 page of a
 * 400-memory store is every match (each ranking is read to its end), with minScore applied afterwards.
 */
const exactSuite = (name: string, layer: () => Layer.Layer<MemoryBackend.MemoryBackend, unknown>) =>
  it.effect(`${name}: a search's page is the head of the ranking over every memory that passes its filters`, () =>
    Effect.gen(function*() {
      yield* seedStore
      const m = yield* MemoryBackend.MemoryBackend
      const runs = fc.sample(search, { numRuns: 60, seed: 20 })
      for (const { minScore, ...o } of runs) {
        const page = view(yield* m.search(o.query, { ...o, ...(minScore === undefined ? {} : { minScore }) }))
        const all = view(yield* m.search(o.query, { ...o, limit: 1000 }))
        const expected = all.filter((h) => minScore === undefined || h.score >= minScore).slice(0, o.limit)
        expect({ ...o, minScore, page }).toEqual({ ...o, minScore, page: expected })
      }
    }).pipe(Effect.provide(layer())), 120_000)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "arawn-exact-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)
const onFile = (filename: string, exactScanLimit?: number) =>
  SqliteMemoryBackend.layer({ filename, ...(exactScanLimit === undefined ? {} : { exactScanLimit }) }).pipe(Layer.provide(Embedder.layerHashing))
/** The same file read through its client alone: no connection with the score function, so pages are proven. */
const onClient = (filename: string) =>
  SqliteMemoryBackend.layer().pipe(Layer.provide(Embedder.layerHashing), Layer.provide(SqliteClient.layer({ filename })))

const explained = (hits: ReadonlyArray<{ readonly memory: { readonly id: string }; readonly score: number; readonly explain: unknown }>) =>
  hits.map((h) => ({ id: h.memory.id, score: h.score, explain: h.explain }))

describe("search is exact", () => {
  exactSuite("the SQLite layer on a file", () => Layer.unwrapScoped(Effect.map(tempDir, (dir) => onFile(join(dir, "memory.db")))))
  it.scoped("the SQLite layer on a file: a filtered set ranked whole in SQL gives the page proven from the rankings", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "memory.db")
      const whole = Context.get(yield* Layer.build(onFile(file)), MemoryBackend.MemoryBackend)
      yield* Effect.provideService(seedStore, MemoryBackend.MemoryBackend, whole)
      const proven = Context.get(yield* Layer.build(onClient(file)), MemoryBackend.MemoryBackend)
      for (const { minScore, ...o } of fc.sample(search, { numRuns: 80, seed: 21 })) {
        const options = { ...o, ...(minScore === undefined ? {} : { minScore }) }
        const page = explained(yield* whole.search(o.query, options))
        expect({ ...options, page }).toEqual({ ...options, page: explained(yield* proven.search(o.query, options)) })
      }
    }), 120_000)
  // Sets past 100 memories (most here) are read from the bit index, which on 400 memories proposes every one of
  // them: the same pages, through the reads a large store takes once its whole-set ranking declines.
  exactSuite("the SQLite layer on a file, sets of over 100 memories read ranking by ranking", () =>
    Layer.unwrapScoped(Effect.map(tempDir, (dir) => onFile(join(dir, "memory.db"), 100))))
  exactSuite("the in-memory layer", () => MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing)))
  exactSuite("the SQLite layer", () => SqliteMemoryBackend.layer({ filename: ":memory:" }).pipe(Layer.provide(Embedder.layerHashing)))
})
