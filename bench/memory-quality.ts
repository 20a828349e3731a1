/**
 * Search quality of the in-memory MemoryBackend on the judged fixture (test/fixtures/memory-quality.json):
 * nDCG@10 and recall@10 for text, vector and hybrid, and beside them the same fixture ranked by a raw FTS5 table
 * (`porter unicode61`, bm25) fused with the same vector ranking, which approximates what the SQLite layer will do.
 *
 *   npx tsx bench/memory-quality.ts [--quick]
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { DateTime, Effect, Layer } from "effect"
import { Embedder, MemoryBackend } from "../src/index.js"
import type { FusionWeights, Memory, SearchMode } from "../src/Memory.js"
import { candidateDepth, mergeRankings, scoreCandidates } from "../src/internal/ranking.js"
import { words } from "../src/internal/text.js"
import { evaluateLoaded, loadFixture, decodeFixture, summarise } from "../src/testing/MemoryQuality.js"
import type { LoadedFixture, ModeQuality, QualityFixture } from "../src/testing/MemoryQuality.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { formatTable, measure } from "./harness.js"

/** The few better-sqlite3 calls used here (the package ships no types). */
interface Statement {
  run(...params: ReadonlyArray<unknown>): unknown
  all(...params: ReadonlyArray<unknown>): Array<{ readonly rowid: number; readonly score: number }>
}
interface Database {
  exec(sql: string): void
  prepare(sql: string): Statement
  close(): void
}
const require = createRequire(import.meta.url)
const openDatabase: (path: string) => Database = (path) => {
  const Ctor: new(path: string) => Database = require("better-sqlite3")
  return new Ctor(path)
}

/** The judged fixture shipped with the tests. */
export const loadQualityFixture = (): Effect.Effect<QualityFixture, Error> =>
  decodeFixture(JSON.parse(readFileSync(new URL("../test/fixtures/memory-quality.json", import.meta.url), "utf8")))

/** A raw FTS5 index of the fixture: the text ranking the SQLite layer will produce. */
export const makeFts5 = (fixture: QualityFixture) => {
  const db = openDatabase(":memory:")
  db.exec("CREATE VIRTUAL TABLE fts USING fts5(content, tokenize = 'porter unicode61')")
  const insert = db.prepare("INSERT INTO fts(rowid, content) VALUES (?, ?)")
  fixture.memories.forEach((m, i) => insert.run(i + 1, m.content))
  const select = db.prepare("SELECT rowid, -bm25(fts) AS score FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?")
  /** Fixture ids and positive bm25, best first; every word quoted and OR-ed, so user text never reaches FTS5 syntax. */
  const search = (query: string, limit: number): Array<{ readonly id: string; readonly score: number }> => {
    const terms = Array.from(new Set(words(query))).map((w) => `"${w.replaceAll("\"", "\"\"")}"`)
    if (terms.length === 0) return []
    return select.all(terms.join(" OR "), limit).map((r) => ({ id: fixture.memories[r.rowid - 1]!.id, score: r.score }))
  }
  return { search, close: () => db.close() }
}

/**
 * The FTS5 approximation: FTS5 bm25 for the text ranking, the backend's own vector ranking, fused by the same
 * `scoreCandidates` every layer uses.
 */
const fts5Quality = (
  fixture: QualityFixture,
  loaded: LoadedFixture,
  fts: ReturnType<typeof makeFts5>,
  weights: FusionWeights
) =>
  Effect.gen(function*() {
    const backend = yield* MemoryBackend.MemoryBackend
    const now = yield* DateTime.now
    const byFixtureId = new Map<string, Memory>()
    for (const memory of (yield* backend.search("x", { sessionId: loaded.sessionId, mode: "vector", limit: 1000 }))
      .map((h) => h.memory)) {
      byFixtureId.set(loaded.toFixtureId.get(memory.id)!, memory)
    }
    const depth = candidateDepth(10)
    const out: Array<ModeQuality> = []
    for (const mode of ["text", "hybrid"] as const satisfies ReadonlyArray<SearchMode>) {
      const rankings = new Map<string, ReadonlyArray<string>>()
      const relevances = new Map<string, ReadonlyArray<number>>()
      for (const q of fixture.queries) {
        const text = fts.search(q.query, depth).map((h) => ({ memory: byFixtureId.get(h.id)!, score: h.score }))
        const vector = mode === "text" ? [] : (yield* backend.search(q.query, {
          sessionId: loaded.sessionId,
          mode: "vector",
          limit: depth
        })).map((h) => ({ memory: h.memory, distance: h.explain.vectorDistance ?? 1 }))
        const hits = scoreCandidates(mergeRankings(vector, text), { mode, weights, now, limit: 10 })
        rankings.set(q.id, hits.map((h) => loaded.toFixtureId.get(h.memory.id)!))
        relevances.set(q.id, hits.map((h) => h.explain.relevance))
      }
      out.push(summarise(`fts5 ${mode}`, fixture, rankings, 10, relevances))
    }
    return out
  })

const note = (q: ModeQuality) =>
  `nDCG@10 ${q.ndcg.toFixed(3)}  recall@10 ${q.recall.toFixed(3)}` +
  (q.medianRelevance
    ? `  median relevance: relevant ${q.medianRelevance.relevant.toFixed(2)} / irrelevant ${q.medianRelevance.irrelevant.toFixed(2)}`
    : "")

/** Quality rows: per mode, the in-memory layer's metrics and timing; FTS5 rows time the raw FTS5 query. */
export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const fixture = await Effect.runPromise(loadQualityFixture())
  const layer = MemoryBackend.layerMemory.pipe(Layer.provideMerge(Embedder.layerHashing))
  const fts = makeFts5(fixture)
  const batches = options.quick ? 3 : 20
  const size = `${fixture.memories.length} mem x ${fixture.queries.length} q`
  try {
    return await Effect.runPromise(Effect.provide(
      Effect.gen(function*() {
        const backend = yield* MemoryBackend.MemoryBackend
        const embedder = yield* Embedder.Embedder
        const loaded = yield* loadFixture(fixture)
        const ours = yield* evaluateLoaded(fixture, loaded)
        const approx = yield* fts5Quality(fixture, loaded, fts, embedder.weights)
        const timeMode = (mode: SearchMode): Promise<Timing> =>
          measure(() =>
            Effect.runPromise(Effect.forEach(fixture.queries, (q) =>
              backend.search(q.query, { sessionId: loaded.sessionId, mode, limit: 10 }))), {
            batches,
            batchSize: fixture.queries.length
          })
        const ftsTiming = yield* Effect.promise(() =>
          measure(() => fixture.queries.forEach((q) => fts.search(q.query, 50)), {
            batches,
            batchSize: fixture.queries.length
          })
        )
        const rows: Array<BenchRow> = []
        for (const q of ours) {
          const mode = q.mode as SearchMode
          const fts5 = approx.find((a) => a.mode === `fts5 ${mode}`)
          rows.push({
            area: "memory-quality",
            operation: `search ${mode} (in-memory)`,
            size,
            ours: yield* Effect.promise(() => timeMode(mode)),
            ...(mode === "text" ? { floor: { name: "raw FTS5 bm25", timing: ftsTiming } } : {}),
            note: note(q)
          })
          if (fts5 !== undefined) {
            rows.push({
              area: "memory-quality",
              operation: `search ${mode} (FTS5 approx)`,
              size,
              ours: ftsTiming,
              note: `${note(fts5)}  (timed: the FTS5 query alone)`
            })
          }
        }
        return rows
      }),
      layer
    ))
  } finally {
    fts.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run({ quick: process.argv.includes("--quick") }).then((rows) => console.log(formatTable(rows)))
}
