/**
 * The memory benchmarks' data: synthetic memories (random sentences over a Zipf-like vocabulary, embedded with the
 * hashing embedder), our store and a raw better-sqlite3 + sqlite-vec database over the same corpus, both cached
 * under tmp/bench/ (git-ignored) between runs.
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

export const DIMS = 384
export const DIR = "tmp/bench"

export const mulberry32 = (seed: number) => () => {
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
export const sentence = (random: () => number, words: number) =>
  Array.from({ length: words }, () =>
    VOCABULARY[Math.min(VOCABULARY.length - 1, Math.floor(Math.exp(random() * Math.log(VOCABULARY.length))) - 1)]!
  ).join(" ")

/** 40 queries of three words from one of `texts` (in turn) and one word from elsewhere: every query has hits. */
export const wordQueries = (texts: ReadonlyArray<string>): ReadonlyArray<string> => {
  const random = mulberry32(7)
  return Array.from({ length: 40 }, (_, i) => {
    const words = texts[i % texts.length]!.split(" ")
    const pick = () => words[Math.floor(random() * words.length)]!
    return [pick(), pick(), pick(), sentence(random, 1)].join(" ")
  })
}

export const idOf = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}` as MemoryId
export const sessionOf = (i: number) => `10000000-0000-4000-8000-${(i % 200).toString(16).padStart(12, "0")}`
/** 100 namespaces: a namespace filter matches 1% of the store. */
export const namespaceOf = (i: number) => `tenant-${i % 100}`
/** `extra.bucket` 0..9: a where filter on one bucket matches 10%. */
export const bucketOf = (i: number) => i % 10
export const bytes = (v: Float32Array) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

export interface Corpus {
  readonly texts: ReadonlyArray<string>
  readonly vectors: ReadonlyArray<Float32Array>
}

export interface Shape {
  /** Words per memory: short notes (8-20) or ~1 KB documents (~150). */
  readonly words: (random: () => number) => number
  readonly name: string
}
export const SHORT: Shape = { name: "short", words: (r) => 8 + Math.floor(r() * 12) }
export const KILOBYTE: Shape = { name: "1kb", words: (r) => 120 + Math.floor(r() * 60) }

export const corpus = (n: number, seed: number, shape: Shape = SHORT): Corpus => {
  const random = mulberry32(seed)
  const hashing = Embedder.makeHashing()
  const texts = Array.from({ length: n }, () => sentence(random, shape.words(random)))
  return { texts, vectors: Effect.runSync(hashing.embed(texts)) }
}

export const rowsOf = (c: Corpus, offset: number): Array<NewMemory> =>
  c.texts.map((content, i) => ({
    id: idOf(offset + i),
    content,
    // 200 sessions: a session filter matches 0.5% of the store.
    sessionId: sessionOf(offset + i),
    namespace: namespaceOf(offset + i),
    metadata: { extra: { bucket: bucketOf(offset + i) } },
    embedding: new Float32Array(c.vectors[i]!)
  }))

/** The raw floor: the same rows in a plain table, an exact float vec0 table and an FTS5 table, written in one transaction per batch. */
export const openRaw = (file: string) => {
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

export const layerFor = (filename: string) =>
  SqliteMemory.layer({ filename }).pipe(Layer.provide(Embedder.layerHashing))

const BATCH = 1000

/** Opens (building if needed) our store and the raw floor database over the same corpus of `n` memories. */
export const build = async (n: number, shape: Shape = SHORT) => {
  mkdirSync(DIR, { recursive: true })
  // v2: memories carry a namespace and metadata.extra.bucket.
  const ours = `${DIR}/memory-v2-${shape.name}-${n}.db`
  const raw = `${DIR}/raw-${shape.name}-${n}.db`
  const cached = existsSync(ours) && existsSync(raw)
  if (!cached) for (const f of [ours, raw]) for (const s of ["", "-wal", "-shm"]) rmSync(f + s, { force: true })
  const runtime = ManagedRuntime.make(layerFor(ours))
  const floor = openRaw(raw)
  if (!cached) {
    const t0 = performance.now()
    for (let offset = 0; offset < n; offset += BATCH) {
      const c = corpus(Math.min(BATCH, n - offset), 1000 + offset, shape)
      await runtime.runPromise(Effect.flatMap(MemoryBackend, (m) => m.storeMany(rowsOf(c, offset))))
      floor.insert(c, offset)
    }
    console.error(`built ${n} ${shape.name} memories in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  return { runtime, floor: floor.db }
}
