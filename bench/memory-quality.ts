/**
 * Search quality of the in-memory and SQLite MemoryBackends on the judged fixture
 * (test/fixtures/memory-quality.json): nDCG@10 and recall@10 for text, vector and hybrid, with text search timed
 * beside a raw FTS5 table (`porter unicode61`, bm25) of the same memories.
 *
 *   npx tsx bench/memory-quality.ts [--quick]
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"
import { Effect, Layer } from "effect"
import { Embedder, MemoryBackend } from "../src/index.js"
import type { SearchMode } from "../src/Memory.js"
import { words } from "../src/internal/text.js"
import { decodeFixture, evaluateLoaded, loadFixture, pad } from "../src/testing/MemoryQuality.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import type { ModeQuality, QualityFixture } from "../src/testing/MemoryQuality.js"
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

const note = (q: ModeQuality) =>
  `nDCG@10 ${q.ndcg.toFixed(3)}  recall@10 ${q.recall.toFixed(3)}` +
  (q.medianRelevance
    ? `  median relevance: relevant ${q.medianRelevance.relevant.toFixed(2)} / irrelevant ${q.medianRelevance.irrelevant.toFixed(2)}`
    : "")

/** Quality rows: per mode and layer (in-memory, SQLite), the metrics and timing; text is timed beside raw FTS5. */
export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const fixture = await Effect.runPromise(loadQualityFixture())
  const fts = makeFts5(fixture)
  const batches = options.quick ? 3 : 20
  const size = `${fixture.memories.length} mem x ${fixture.queries.length} q`
  const ftsTiming = await measure(() => fixture.queries.forEach((q) => fts.search(q.query, 50)), {
    batches,
    batchSize: fixture.queries.length
  })
  const evaluateLayer = (label: string, layer: Layer.Layer<MemoryBackend.MemoryBackend | Embedder.Embedder, unknown>) =>
    Effect.runPromise(Effect.scoped(Effect.provide(
      Effect.gen(function*() {
        const backend = yield* MemoryBackend.MemoryBackend
        const loaded = yield* loadFixture(fixture)
        const ours = yield* evaluateLoaded(fixture, loaded)
        const timeMode = (mode: SearchMode): Promise<Timing> =>
          measure(() =>
            Effect.runPromise(Effect.forEach(fixture.queries, (q) =>
              backend.search(q.query, { sessionId: loaded.sessionId, mode, limit: 10 }))), {
            batches,
            batchSize: fixture.queries.length
          })
        const rows: Array<BenchRow> = []
        for (const q of ours) {
          const mode = q.mode as SearchMode
          rows.push({
            area: "memory-quality",
            operation: `search ${mode} (${label})`,
            size,
            ours: yield* Effect.promise(() => timeMode(mode)),
            ...(mode === "text" ? { floor: { name: "raw FTS5 bm25", timing: ftsTiming } } : {}),
            note: note(q)
          })
        }
        return rows
      }),
      layer
    )))
  const sqlite = () => SqliteMemoryBackend.layer({ filename: ":memory:" }).pipe(Layer.provideMerge(Embedder.layerHashing))
  /** Quality alone (no timing) of the SQLite layer on a variant of the fixture: random sources, or distractors. */
  const variant = (label: string, judged: QualityFixture, load: { readonly sources?: "random" }) =>
    Effect.runPromise(Effect.scoped(Effect.provide(
      Effect.map(Effect.flatMap(loadFixture(judged, load), (loaded) => evaluateLoaded(judged, loaded)), (report) =>
        report.map((q): BenchRow => ({
          area: "memory-quality",
          operation: `search ${q.mode} (sqlite, ${label})`,
          size: `${judged.memories.length} mem x ${judged.queries.length} q`,
          ours: { p50Ms: NaN, p95Ms: NaN, opsPerSec: NaN },
          note: note(q)
        }))),
      sqlite()
    )))
  /**
   * Confidence fairness on long queries over abstracts (`memory-quality-abstracts.json`): nDCG@10 with sources
   * stated or inferred at random, beside the same with one source for all (target: >= 0.97x in text and hybrid).
   */
  const fairness = async () => {
    const abstracts = Effect.runSync(decodeFixture(
      JSON.parse(readFileSync(new URL("../test/fixtures/memory-quality-abstracts.json", import.meta.url), "utf8"))
    ))
    const measure = (sources: "uniform" | "random") =>
      Effect.runPromise(Effect.scoped(Effect.provide(
        Effect.flatMap(loadFixture(abstracts, { sources }), (loaded) => evaluateLoaded(abstracts, loaded)),
        sqlite()
      )))
    const [uniform, random] = [await measure("uniform"), await measure("random")]
    return random.map((q): BenchRow => {
      const u = uniform.find((x) => x.mode === q.mode)!.ndcg
      return {
        area: "memory-quality",
        operation: `search ${q.mode} (sqlite, abstracts, sources at random)`,
        size: `${abstracts.memories.length} mem x ${abstracts.queries.length} q`,
        ours: { p50Ms: NaN, p95Ms: NaN, opsPerSec: NaN },
        note: `${note(q)}  ${(q.ndcg / u).toFixed(3)}x the uniform-source nDCG@10 (${u.toFixed(3)})`
      }
    })
  }
  try {
    return [
      ...(await evaluateLayer("in-memory", MemoryBackend.layerMemory.pipe(Layer.provideMerge(Embedder.layerHashing)))),
      ...(await evaluateLayer("sqlite", sqlite())),
      ...(await variant("sources at random", fixture, { sources: "random" })),
      ...(await fairness()),
      ...(await variant("+20k distractors", pad(fixture, 20_000), {}))
    ]
  } finally {
    fts.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run({ quick: process.argv.includes("--quick") }).then((rows) => console.log(formatTable(rows)))
}
