/**
 * MemoryBackend/Sqlite at 100k memories x 384 dims (10k with --quick), each operation beside its raw floor measured
 * in the same run: raw better-sqlite3 + sqlite-vec (exact float vec0 KNN with mmap, FTS5 bm25, prepared inserts).
 * The corpus is synthetic (random sentences over a Zipf-like vocabulary) embedded with the hashing embedder; the
 * built databases are cached under tmp/bench/ (git-ignored) between runs.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs"
import { performance } from "node:perf_hooks"
import Database from "better-sqlite3"
import { Effect, Layer, ManagedRuntime } from "effect"
import { getLoadablePath } from "sqlite-vec"
import * as Embedder from "../src/Embedder.js"
import type { MemoryId } from "../src/Ids.js"
import type { NewMemory } from "../src/Memory.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { makeCoder } from "../src/internal/simhash.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { formatTable, measure, ratio } from "./harness.js"

const DIMS = 384
const DIR = "tmp/bench"

const mulberry32 = (seed: number) => () => {
  let a = (seed = (seed + 0x6d2b79f5) | 0)
  a = Math.imul(a ^ (a >>> 15), 1 | a)
  a = (a + Math.imul(a ^ (a >>> 7), 61 | a)) ^ a
  return ((a ^ (a >>> 14)) >>> 0) / 4294967296
}

const SYLLABLES = ["ka", "to", "ri", "men", "sol", "va", "tur", "lin", "po", "da", "xe", "qui", "bra", "no", "lu", "fer"]
const VOCABULARY = (() => {
  const random = mulberry32(1)
  return Array.from({ length: 20_000 }, (_, i) => {
    let w = ""
    for (let j = 0; j < 2 + Math.floor(random() * 3); j++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)]
    return w + i.toString(36)
  })
})()
/** Log-uniform ranks: a few very common words, a long tail of rare ones (roughly Zipf). */
const sentence = (random: () => number, words: number) =>
  Array.from({ length: words }, () =>
    VOCABULARY[Math.min(VOCABULARY.length - 1, Math.floor(Math.exp(random() * Math.log(VOCABULARY.length))) - 1)]!
  ).join(" ")

const idOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}` as MemoryId
const sessionOf = (i: number) => `10000000-0000-4000-8000-${(i % 200).toString(16).padStart(12, "0")}`
const bytes = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

interface Corpus {
  readonly texts: ReadonlyArray<string>
  readonly vectors: ReadonlyArray<Float32Array>
}

const corpus = (n: number, seed: number): Corpus => {
  const random = mulberry32(seed)
  const hashing = Embedder.makeHashing()
  const texts = Array.from({ length: n }, () => sentence(random, 8 + Math.floor(random() * 12)))
  return { texts, vectors: Effect.runSync(hashing.embed(texts)) }
}

const rowsOf = (c: Corpus, offset: number): Array<NewMemory> =>
  c.texts.map((content, i) => ({
    id: idOf(offset + i),
    content,
    // 200 sessions: a session filter matches 0.5% of the store.
    sessionId: sessionOf(offset + i),
    embedding: new Float32Array(c.vectors[i]!)
  }))

const openRaw = (file: string) => {
  const db = new Database(file)
  db.loadExtension(getLoadablePath())
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.pragma("mmap_size = 1073741824")
  db.exec(`CREATE TABLE IF NOT EXISTS memories (pk INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, content TEXT NOT NULL,
      session_id TEXT, metadata TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE VIRTUAL TABLE IF NOT EXISTS vec USING vec0(embedding float[${DIMS}] distance_metric=cosine);
    CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(content, content='', contentless_delete=1, tokenize='porter unicode61');`)
  const row = db.prepare("INSERT INTO memories (pk, id, content, session_id, metadata, created_at) VALUES (?, ?, ?, ?, '{}', ?)")
  const vec = db.prepare("INSERT INTO vec (rowid, embedding) VALUES (?, ?)")
  const fts = db.prepare("INSERT INTO fts (rowid, content) VALUES (?, ?)")
  const insert = db.transaction((c: Corpus, offset: number) => {
    c.texts.forEach((content, i) => {
      const pk = BigInt(offset + i + 1)
      row.run(pk, idOf(offset + i), content, sessionOf(offset + i), 1_700_000_000_000)
      vec.run(pk, bytes(c.vectors[i]!))
      fts.run(pk, content)
    })
  })
  return { db, insert }
}

/** Raw better-sqlite3 writes into a store our layer created: exactly our rows, vectors, codes and text entries. */
const openSame = (file: string) => {
  const db = new Database(file)
  db.loadExtension(getLoadablePath())
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  const code = makeCoder(DIMS)
  const row = db.prepare(
    `INSERT INTO arawn_store_memories (pk, id, content_type, content, session_id, workstream_id, metadata, source,
       reinforcement_count, superseded, superseded_by, last_accessed, citation, created_at, updated_at, accessed_at,
       access_count) VALUES (?, ?, 'note', ?, ?, NULL, '{"tags":[],"extra":{}}', 'inferred', 0, 0, NULL, ?, NULL, ?, ?, ?, 0)`
  )
  const vec = db.prepare("INSERT INTO arawn_store_memory_vectors_1 (pk, vector) VALUES (?, ?)")
  const codes = db.prepare("INSERT INTO arawn_store_memory_codes_1 (rowid, part, code) VALUES (?, ?, vec_bit(?))")
  const fts = db.prepare("INSERT INTO arawn_store_memory_fts (rowid, content) VALUES (?, ?)")
  const insert = db.transaction((c: Corpus, offset: number) => {
    c.texts.forEach((content, i) => {
      const pk = BigInt(offset + i + 1)
      const at = 1_700_000_000_000
      row.run(pk, idOf(offset + i), content, sessionOf(offset + i), at, at, at, at)
      vec.run(pk, bytes(c.vectors[i]!))
      codes.run(pk, pk % 64n, code(c.vectors[i]!)) // the store's 64 partitions
      fts.run(pk, content)
    })
  })
  return { db, insert }
}

const layerFor = (filename: string) =>
  SqliteMemory.layer({ filename }).pipe(Layer.provide(Embedder.layerHashing))

const BATCH = 1000

/** Opens (building if needed) our store and the raw floor database over the same corpus. */
const build = async (n: number) => {
  mkdirSync(DIR, { recursive: true })
  const ours = `${DIR}/memory-${n}.db`
  const raw = `${DIR}/raw-${n}.db`
  const cached = existsSync(ours) && existsSync(raw)
  if (!cached) for (const f of [ours, raw]) for (const s of ["", "-wal", "-shm"]) rmSync(f + s, { force: true })
  const runtime = ManagedRuntime.make(layerFor(ours))
  const floor = openRaw(raw)
  if (!cached) {
    const t0 = performance.now()
    for (let offset = 0; offset < n; offset += BATCH) {
      const c = corpus(Math.min(BATCH, n - offset), 1000 + offset)
      await runtime.runPromise(Effect.flatMap(MemoryBackend, (m) => m.storeMany(rowsOf(c, offset))))
      floor.insert(c, offset)
    }
    console.error(`built ${n} memories in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  return { runtime, floor: floor.db }
}

const timing = (t: Timing) => t

/** Runs the memory benchmark and returns its rows. */
export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const n = options.quick ? 10_000 : 100_000
  const size = `${n / 1000}k x ${DIMS}d`
  const { floor, runtime } = await build(n)
  const backend = await runtime.runPromise(MemoryBackend)
  const rows: Array<BenchRow> = []
  const queryRandom = mulberry32(99)
  const queries = Array.from({ length: options.quick ? 40 : 100 }, () => sentence(queryRandom, 4 + Math.floor(queryRandom() * 6)))
  const hashing = Embedder.makeHashing()
  const queryVectors = Effect.runSync(hashing.embed(queries))

  // --- vector search + recall@10 against exact search ---------------------------------------------------------
  const exact = floor.prepare("SELECT rowid, distance FROM vec WHERE embedding MATCH ? AND k = ?")
  let qi = 0
  const floorVector = await measure(() => {
    const i = qi++ % queries.length
    // The floor embeds the query too, as our search does.
    const v = Effect.runSync(hashing.embed([queries[i]!]))[0]!
    return exact.all(bytes(v), 10n)
  }, { batches: queries.length })
  let recall = 0
  for (let i = 0; i < queries.length; i++) {
    const truth = new Set((exact.all(bytes(queryVectors[i]!), 10n) as Array<{ rowid: number }>).map((r) => idOf(r.rowid - 1)))
    const ours = await runtime.runPromise(backend.search(queries[i]!, { mode: "vector", limit: 10 }))
    recall += ours.filter((h) => truth.has(h.memory.id)).length / 10
  }
  recall /= queries.length
  qi = 0
  const oursVector = await measure(
    () => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode: "vector", limit: 10 })),
    { batches: queries.length }
  )
  rows.push({
    area: "memory",
    operation: "search vector (limit 10)",
    size,
    ours: oursVector,
    floor: { name: "sqlite-vec exact float KNN (mmap)", timing: floorVector },
    note: `recall@10 ${recall.toFixed(3)}`
  })

  // --- text and hybrid ------------------------------------------------------------------------------------------
  const ftsQuery = (q: string) => q.split(" ").map((w) => `"${w}"`).join(" OR ")
  const fts = floor.prepare(
    "SELECT m.*, bm25(fts) AS r FROM fts JOIN memories m ON m.pk = fts.rowid WHERE fts MATCH ? ORDER BY r LIMIT ?"
  )
  qi = 0
  const floorText = await measure(() => fts.all(ftsQuery(queries[qi++ % queries.length]!), 50), { batches: queries.length })
  qi = 0
  const oursText = await measure(
    () => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode: "text", limit: 10 })),
    { batches: queries.length }
  )
  rows.push({ area: "memory", operation: "search text (limit 10)", size, ours: oursText, floor: { name: "raw FTS5 bm25 top-50", timing: floorText } })
  qi = 0
  const floorHybrid = await measure(() => {
    const q = queries[qi++ % queries.length]!
    const v = Effect.runSync(hashing.embed([q]))[0]!
    return [exact.all(bytes(v), 50n), fts.all(ftsQuery(q), 50)]
  }, { batches: queries.length })
  qi = 0
  const oursHybrid = await measure(
    () => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { limit: 10 })),
    { batches: queries.length }
  )
  rows.push({
    area: "memory",
    operation: "search hybrid (limit 10)",
    size,
    ours: oursHybrid,
    floor: { name: "exact KNN top-50 + FTS5 top-50", timing: floorHybrid }
  })

  // --- a selective filter (one session = 0.5% of the store) --------------------------------------------------------
  qi = 0
  let short = 0
  const oursFiltered = await measure(async () => {
    const i = qi++
    const hits = await runtime.runPromise(
      backend.search(queries[i % queries.length]!, { mode: "vector", limit: 10, sessionId: sessionOf(i) })
    )
    if (hits.length < 10) short++
  }, { batches: queries.length })
  rows.push({
    area: "memory",
    operation: "search vector, session filter",
    size,
    ours: oursFiltered,
    note: `0.5% of rows match; ${short} of ${queries.length + 5} searches short of 10 hits`
  })

  // --- storeMany vs raw inserts (fresh databases; precomputed embeddings on both sides) ---------------------------
  const insertRows = options.quick ? 5_000 : 20_000
  const insertBatch = 500
  for (const f of [`${DIR}/insert-ours.db`, `${DIR}/insert-raw.db`]) for (const s of ["", "-wal", "-shm"]) rmSync(f + s, { force: true })
  const batches = Array.from({ length: insertRows / insertBatch + 5 }, (_, b) => corpus(insertBatch, 5_000_000 + b))
  const insertRuntime = ManagedRuntime.make(layerFor(`${DIR}/insert-ours.db`))
  const inserter = await insertRuntime.runPromise(MemoryBackend)
  let bi = 0
  const oursInsert = await measure(() => {
    const b = bi++
    return insertRuntime.runPromise(inserter.storeMany(rowsOf(batches[b]!, b * insertBatch)))
  }, { batches: insertRows / insertBatch, batchSize: insertBatch })
  const rawInsert = openRaw(`${DIR}/insert-raw.db`)
  bi = 0
  const floorInsert = await measure(() => {
    const b = bi++
    rawInsert.insert(batches[b]!, b * insertBatch)
  }, { batches: insertRows / insertBatch, batchSize: insertBatch })
  rows.push({
    area: "memory",
    operation: `storeMany (${insertBatch}/call)`,
    size: `${insertRows / 1000}k x ${DIMS}d`,
    ours: timing(oursInsert),
    floor: { name: "raw row+vec0 float+fts, 1 txn", timing: floorInsert },
    note: "precomputed embeddings"
  })
  rawInsert.db.close()
  // The same rows as ours written raw (row with its indexes, float blob, SimHash code, FTS): the wrapper's cost.
  const sameFile = `${DIR}/insert-same.db`
  for (const s of ["", "-wal", "-shm"]) rmSync(sameFile + s, { force: true })
  const creator = ManagedRuntime.make(layerFor(sameFile))
  await creator.runPromise(MemoryBackend)
  await creator.dispose()
  const same = openSame(sameFile)
  bi = 0
  const sameInsert = await measure(() => {
    const b = bi++
    same.insert(batches[b]!, b * insertBatch)
  }, { batches: insertRows / insertBatch, batchSize: insertBatch })
  rows.push({
    area: "memory",
    operation: `storeMany (${insertBatch}/call)`,
    size: `${insertRows / 1000}k x ${DIMS}d`,
    ours: timing(oursInsert),
    floor: { name: "raw, same rows+codes as ours, 1 txn", timing: sameInsert },
    note: "floor computes the same SimHash codes"
  })
  same.db.close()
  await insertRuntime.dispose()
  floor.close()
  await runtime.dispose()
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run({ quick: process.argv.includes("--quick") })
  console.log(formatTable(rows))
  for (const r of rows) {
    const q = ratio(r)
    if (q !== undefined) console.log(`${r.operation}: ${(q * 100).toFixed(0)}% of the floor's throughput`)
  }
}
