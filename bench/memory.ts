/**
 * MemoryBackend/Sqlite, each operation beside its raw floor measured in the same run: raw better-sqlite3 +
 * sqlite-vec (exact float vec0 KNN with mmap, FTS5 bm25, prepared inserts). Searches at limit 10 and 100 on a
 * store of ~1.5k memories of ~1 KB and on 100k (10k with --quick) short memories x 384 dims; filtered searches (a
 * session, a namespace, a where condition); storeMany. `--scale 1m` runs the 1M build and searches of
 * memory-scale.ts instead.
 */
import { rmSync } from "node:fs"
import { Effect, ManagedRuntime } from "effect"
import type { Database as Db, Statement } from "better-sqlite3"
import * as Embedder from "../src/Embedder.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import type { SearchMode } from "../src/Memory.js"
import { makeCoder } from "../src/internal/simhash.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { formatTable, measure, ratio } from "./harness.js"
import { scaleRows } from "./memory-scale.js"
import type { Shape } from "./memory-corpus.js"
import { build, bytes, corpus, DIMS, DIR, idOf, KILOBYTE, layerFor, mulberry32, openRaw, rowsOf, sentence, sessionOf, SHORT } from "./memory-corpus.js"

type Backend = MemoryBackend["Type"]
type Runtime = ManagedRuntime.ManagedRuntime<MemoryBackend, unknown>

const hashing = Embedder.makeHashing()
const embed = (q: string) => Effect.runSync(hashing.embed([q]))[0]!
const ftsQuery = (q: string) => q.split(" ").map((w) => `"${w}"`).join(" OR ")

/** The raw floors of one store: exact KNN, FTS5 bm25 joined to its rows, and both back to back (a raw fusion). */
const floors = (db: Db) => {
  const knn = db.prepare("SELECT rowid, distance FROM vec WHERE embedding MATCH ? AND k = ?")
  const fts = db.prepare("SELECT m.*, bm25(fts) AS r FROM fts JOIN memories m ON m.pk = fts.rowid WHERE fts MATCH ? ORDER BY r LIMIT ?")
  return {
    vector: (q: string, limit: number) => knn.all(bytes(embed(q)), BigInt(limit)),
    text: (q: string, limit: number) => fts.all(ftsQuery(q), limit),
    hybrid: (q: string, limit: number) => [knn.all(bytes(embed(q)), BigInt(limit)), fts.all(ftsQuery(q), limit)],
    knn
  }
}

const FLOOR_NAME: Record<SearchMode, string> = {
  vector: "raw sqlite-vec exact KNN (mmap)",
  text: "raw FTS5 bm25",
  hybrid: "raw KNN + raw FTS5, back to back"
}

/** One row per mode and limit: our search beside the raw query of the same limit, round-robin over `queries`. */
const searchRows = async (
  runtime: Runtime,
  backend: Backend,
  db: Db,
  queries: ReadonlyArray<string>,
  size: string,
  limits: ReadonlyArray<number>
): Promise<Array<BenchRow>> => {
  const raw = floors(db)
  const rows: Array<BenchRow> = []
  for (const limit of limits) {
    for (const mode of ["vector", "text", "hybrid"] as const) {
      let qi = 0
      const floor = await measure(() => raw[mode](queries[qi++ % queries.length]!, limit), { batches: queries.length })
      qi = 0
      const ours = await measure(
        () => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode, limit })),
        { batches: queries.length }
      )
      const recall = mode === "vector" ? ` recall@10 ${(await recallAt10(runtime, backend, raw.knn, queries)).toFixed(3)}` : ""
      rows.push({
        area: "memory",
        operation: `search ${mode} (limit ${limit})`,
        size,
        ours,
        floor: { name: FLOOR_NAME[mode], timing: floor },
        note: `${(ours.p50Ms / floor.p50Ms).toFixed(2)}x the floor's p50${recall}`
      })
    }
  }
  return rows
}

const recallAt10 = async (runtime: Runtime, backend: Backend, knn: Statement, queries: ReadonlyArray<string>) => {
  let recall = 0
  for (const q of queries) {
    const truth = new Set((knn.all(bytes(embed(q)), 10n) as Array<{ rowid: number }>).map((r) => idOf(r.rowid - 1)))
    const ours = await runtime.runPromise(backend.search(q, { mode: "vector", limit: 10 }))
    recall += ours.filter((h) => truth.has(h.memory.id)).length / 10
  }
  return recall / queries.length
}

/** Hybrid searches under a filter beside the same search unfiltered, and how often a filter came up short. */
const filteredRows = async (runtime: Runtime, backend: Backend, queries: ReadonlyArray<string>, size: string) => {
  const rows: Array<BenchRow> = []
  let qi = 0
  const unfiltered = await measure(() => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { limit: 10 })), {
    batches: queries.length
  })
  const filters = [
    ["session filter (0.5% of rows)", (i: number) => ({ sessionId: sessionOf(i) })],
    ["namespace filter (1% of rows)", (i: number) => ({ namespace: `tenant-${i % 100}` })],
    ["where extra.bucket = 3 (10% of rows)", () => ({ where: { "extra.bucket": 3 } })]
  ] as const
  for (const [label, filterOf] of filters) {
    qi = 0
    let short = 0
    const ours = await measure(async () => {
      const i = qi++
      const hits = await runtime.runPromise(backend.search(queries[i % queries.length]!, { limit: 10, ...filterOf(i) }))
      if (hits.length < 10) short++
    }, { batches: queries.length })
    rows.push({
      area: "memory",
      operation: `search hybrid, ${label}`,
      size,
      ours,
      floor: { name: "our hybrid search unfiltered", timing: unfiltered },
      note: `${short} of ${queries.length + 5} searches short of 10 hits`
    })
  }
  return rows
}

const queriesFor = (count: number, seed: number) => {
  const random = mulberry32(seed)
  return Array.from({ length: count }, () => sentence(random, 4 + Math.floor(random() * 6)))
}

const searchArea = async (n: number, shape: Shape, queries: ReadonlyArray<string>, filtered: boolean) => {
  const { floor, runtime } = await build(n, shape)
  const backend = await runtime.runPromise(MemoryBackend)
  const size = `${n >= 1000 ? `${n / 1000}k` : n} x ${DIMS}d${shape === KILOBYTE ? ", ~1 KB each" : ""}`
  const rows = await searchRows(runtime, backend, floor, queries, size, [10, 100])
  if (filtered) rows.push(...await filteredRows(runtime, backend, queries, size))
  floor.close()
  await runtime.dispose()
  return rows
}

/** storeMany into a fresh store beside raw inserts of the same corpus (precomputed embeddings on both sides). */
const insertRows = async (quick: boolean): Promise<Array<BenchRow>> => {
  const total = quick ? 5_000 : 20_000
  const batch = 500
  for (const f of [`${DIR}/insert-ours.db`, `${DIR}/insert-raw.db`]) for (const s of ["", "-wal", "-shm"]) rmSync(f + s, { force: true })
  const batches = Array.from({ length: total / batch + 5 }, (_, b) => corpus(batch, 5_000_000 + b))
  // The inputs are made before timing, as the floor's rows are: building them is the caller's cost, not the store's.
  const inputs = batches.map((c, b) => rowsOf(c, b * batch))
  const runtime = ManagedRuntime.make(layerFor(`${DIR}/insert-ours.db`))
  const backend = await runtime.runPromise(MemoryBackend)
  let bi = 0
  const ours = await measure(() => runtime.runPromise(backend.storeMany(inputs[bi++]!)), { batches: total / batch, batchSize: batch })
  const raw = openRaw(`${DIR}/insert-raw.db`)
  const code = makeCoder(DIMS)
  bi = 0
  const floor = await measure(() => raw.insert(batches[bi++]!, (bi - 1) * batch), { batches: total / batch, batchSize: batch })
  bi = 0
  const codes = await measure(() => {
    for (const v of batches[bi++]!.vectors) code(v)
  }, { batches: total / batch, batchSize: batch })
  raw.db.close()
  await runtime.dispose()
  return [{
    area: "memory",
    operation: `storeMany (${batch}/call)`,
    size: `${total / 1000}k x ${DIMS}d`,
    ours: timing(ours),
    floor: { name: "raw row+vec0 float+fts, 1 txn", timing: floor },
    note: `precomputed embeddings; SimHash codes alone ${(codes.p50Ms * 1000).toFixed(0)} us/row`
  }]
}

const timing = (t: Timing) => t

/** Runs the memory benchmark and returns its rows. */
export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  if (options.scale === "1m") return scaleRows(1_000_000, options.scaleDir)
  const large = options.quick ? 10_000 : 100_000
  const queries = queriesFor(options.quick ? 40 : 100, 99)
  return [
    ...await searchArea(1_500, KILOBYTE, queries, false),
    ...await searchArea(large, SHORT, queries, true),
    ...await insertRows(options.quick)
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scale = process.argv.includes("--scale") ? process.argv[process.argv.indexOf("--scale") + 1] : undefined
  const scaleDir = process.argv.includes("--scale-dir") ? process.argv[process.argv.indexOf("--scale-dir") + 1] : undefined
  const rows = await run({
    quick: process.argv.includes("--quick"),
    ...(scale !== undefined ? { scale } : {}),
    ...(scaleDir !== undefined ? { scaleDir } : {})
  })
  console.log(formatTable(rows))
  for (const r of rows) {
    const q = ratio(r)
    if (q !== undefined) console.log(`${r.operation} ${r.size}: ${(q * 100).toFixed(0)}% of the floor's throughput`)
  }
}
