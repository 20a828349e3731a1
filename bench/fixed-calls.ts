/**
 * CPU per call of `get` and of each search mode (limit 10) on a 10-memory SQLite store, with reader threads and
 * without: the fixed cost of a call, measured as bench/fixed-prototypes.ts measures it (bench/interleaved.ts), without
 * its prototypes.
 *
 *   npx tsx --conditions=arawn-store:source bench/fixed-calls.ts [--batches 60]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Layer, ManagedRuntime } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemory from "arawn-store/MemoryBackend/Sqlite"
import { interleaved } from "./interleaved.js"
import type { Entries } from "./interleaved.js"
import { corpus, idOf, wordQueries } from "./memory-corpus.js"

const at = process.argv.indexOf("--batches")
const BATCHES = at === -1 ? 60 : Number(process.argv[at + 1])
const CALLS = 10
const compare = (entries: Entries) => interleaved(entries, { batches: BATCHES, calls: CALLS })

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-fixed-"))
  const open = (readers: number) =>
    ManagedRuntime.make(SqliteMemory.layer({ filename: join(dir, "memory.db"), readers }).pipe(Layer.provide(Embedder.layerHashing)))
  const pooled = open(2)
  const direct = open(0)
  try {
    const TEN = corpus(10, 4242)
    const backend = await pooled.runPromise(MemoryBackend.MemoryBackend)
    const ids = await pooled.runPromise(
      backend.storeMany(TEN.texts.map((content, i) => ({ id: idOf(i), content, embedding: new Float32Array(TEN.vectors[i]!) })))
    )
    const backend0 = await direct.runPromise(MemoryBackend.MemoryBackend)
    const queries = wordQueries(TEN.texts)
    await compare([
      ["get, readers 2", (i) => pooled.runPromise(backend.get(ids[i % ids.length]!))],
      ["get, readers 0", (i) => direct.runPromise(backend0.get(ids[i % ids.length]!))],
      ...(["text", "vector", "hybrid"] as const).flatMap((mode) => [
        [`search ${mode}, readers 2`, (i: number) => pooled.runPromise(backend.search(queries[i % queries.length]!, { mode, limit: 10 }))] as const,
        [`search ${mode}, readers 0`, (i: number) => direct.runPromise(backend0.search(queries[i % queries.length]!, { mode, limit: 10 }))] as const
      ])
    ])
  } finally {
    await direct.dispose()
    await pooled.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
