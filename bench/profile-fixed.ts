/**
 * The fixed per-call cost of the SQLite memory store, as a workload to profile: a 10-memory store in a temporary
 * directory, then `--gets` gets and `--searches` searches per mode, each awaited one after the other as a caller
 * would. Prints the mean time per call and the profile window of the timed loop. The library is imported by its
 * package name: with `--conditions=arawn-store:source` that is `src/` (through tsx), without it the built `dist/`
 * (`npm run build` first), whose function names and lines a profile shows as they are. Run it under the profiler:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-fixed.ts --only get
 *   node scripts/cpuprofile-top.mjs --window <printed window> /tmp/prof/<largest>.cpuprofile
 *
 * Options: `--readers N` (reader threads, default the store's 2), `--only get|text|vector|hybrid`,
 * `--gets N` (20000), `--searches N` (5000), `--tracing off` (runs every call with tracing disabled).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemory from "arawn-store/MemoryBackend/Sqlite"
import { corpus, idOf, wordQueries } from "./memory-corpus.js"

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}

const TEN = corpus(10, 4242)

const main = async () => {
  const readers = arg("readers") === undefined ? undefined : Number(arg("readers"))
  const only = arg("only")
  const gets = Number(arg("gets") ?? 20_000)
  const searches = Number(arg("searches") ?? 5_000)
  const traced = arg("tracing") !== "off"
  const dir = mkdtempSync(join(tmpdir(), "arawn-profile-"))
  const runtime = ManagedRuntime.make(
    SqliteMemory.layer({ filename: join(dir, "memory.db"), ...(readers !== undefined ? { readers } : {}) }).pipe(
      Layer.provide(Embedder.layerHashing)
    )
  )
  try {
    const backend = await runtime.runPromise(MemoryBackend.MemoryBackend)
    const ids = await runtime.runPromise(
      backend.storeMany(TEN.texts.map((content, i) => ({ id: idOf(i), content, embedding: new Float32Array(TEN.vectors[i]!) })))
    )
    const queries = wordQueries(TEN.texts)
    const run = <A, E>(effect: Effect.Effect<A, E>) => runtime.runPromise(traced ? effect : Effect.withTracerEnabled(effect, false))
    const time = async (label: string, n: number, call: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < Math.min(200, n); i++) await call(i)
      const t0 = performance.now()
      const from = process.hrtime.bigint() / 1000n
      const cpu0 = process.cpuUsage()
      for (let i = 0; i < n; i++) await call(i)
      const to = process.hrtime.bigint() / 1000n
      const ms = performance.now() - t0
      const cpu = process.cpuUsage(cpu0)
      // The window in the monotonic microseconds a .cpuprofile's timestamps use (scripts/cpuprofile-top.mjs --window).
      console.log(`${label}: ${n} calls, ${((ms / n) * 1000).toFixed(1)} us/call (CPU ${((cpu.user + cpu.system) / n).toFixed(1)} us, every thread); --window ${from}:${to}`)
    }
    if (only === undefined || only === "get") await time("get", gets, (i) => run(backend.get(ids[i % ids.length]!)))
    for (const mode of ["text", "vector", "hybrid"] as const) {
      if (only !== undefined && only !== mode) continue
      await time(`search ${mode}`, searches, (i) => run(backend.search(queries[i % queries.length]!, { mode, limit: 10 })))
    }
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
