/**
 * CPU per call of `get` and of each search mode (limit 10) on a 10-memory SQLite store, with reader threads and
 * without: the fixed cost of a call, as the batches of bench/fixed-prototypes.ts measure it (interleaved, p50 of the
 * process's CPU time over batches), without its prototypes.
 *
 *   npx tsx --conditions=arawn-store:source bench/fixed-calls.ts [--batches 60]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { Layer, ManagedRuntime } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemory from "arawn-store/MemoryBackend/Sqlite"
import { corpus, idOf, wordQueries } from "./memory-corpus.js"

const at = process.argv.indexOf("--batches")
const BATCHES = at === -1 ? 60 : Number(process.argv[at + 1])
const CALLS = 10
const WARMUP = 10

const compare = async (entries: ReadonlyArray<readonly [string, (i: number) => Promise<unknown>]>) => {
  const wall = entries.map((): Array<number> => [])
  const cpu = entries.map((): Array<number> => [])
  let i = 0
  for (let b = 0; b < WARMUP + BATCHES; b++) {
    for (const [k, [, call]] of entries.entries()) {
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      for (let j = 0; j < CALLS; j++) await call(i++)
      const c = process.cpuUsage(c0)
      if (b >= WARMUP) {
        wall[k]!.push(((performance.now() - t0) / CALLS) * 1000)
        cpu[k]!.push((c.user + c.system) / CALLS)
      }
    }
  }
  const p50 = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1).padStart(8)
  console.log(`    wall      cpu  (us per call, p50 of ${BATCHES} batches of ${CALLS})`)
  for (const [k, [name]] of entries.entries()) console.log(`${p50(wall[k]!)} ${p50(cpu[k]!)}  ${name}`)
}

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
