/**
 * The Pg memory store's searches as a workload to profile, on a server given by `--pg-url` (pgvector 0.8 or later):
 * a 10k x 384 store and its raw table in schemas `profile_memory` and `profile_raw`, filled on first use and kept
 * for the next run (`--drop` drops them at the end), then `--searches` searches of each mode (or `--only MODE`) at
 * `--limit`, each awaited in turn, with the same queries through the raw floor. Prints the mean wall and CPU time
 * per call and the profile window of each timed loop:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-pg.ts --pg-url postgres://... --only text
 *   node scripts/cpuprofile-top.mjs --window <printed window> /tmp/prof/<largest>.cpuprofile
 */
import { existsSync, readFileSync } from "node:fs"
import { performance } from "node:perf_hooks"
import pg from "pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as PgMemory from "arawn-store/MemoryBackend/Pg"
import { mulberry32, sentence } from "./memory-corpus.js"
import { createRaw, fill, floors } from "./pg.js"

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}

const main = async () => {
  const url = arg("pg-url")
  if (url === undefined) throw new Error("--pg-url is required")
  const only = arg("only")
  const limit = Number(arg("limit") ?? 10)
  const searches = Number(arg("searches") ?? 200)
  const n = Number(arg("n") ?? 10_000)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const runtime = ManagedRuntime.make(
    PgMemory.layer({ url: Redacted.make(url), schema: "profile_memory" }).pipe(Layer.provide(Embedder.layerHashing))
  )
  try {
    const backend = await runtime.runPromise(MemoryBackend.MemoryBackend)
    const have = (await client.query("SELECT to_regclass('profile_raw.mem') IS NOT NULL AS ok")).rows[0]?.ok === true
    if (!have) {
      await createRaw(client, "profile_raw")
      await fill(runtime, client, "profile_raw", n)
      for (const table of ["profile_raw.mem", "profile_memory.arawn_store_memories", "profile_memory.arawn_store_memory_vectors_1"]) {
        await client.query(`VACUUM ANALYZE ${table}`)
      }
    }
    const random = mulberry32(99)
    const queries = Array.from({ length: 60 }, () => sentence(random, 4 + Math.floor(random() * 6)))
    const vectors = await Effect.runPromise(Embedder.makeHashing().embed(queries))
    const floor = floors(client, "profile_raw", limit)
    // The server's CPU time, when it runs on this machine (Linux): every backend of the database, ours and the
    // floor's client, from /proc/<pid>/schedstat (nanoseconds on a CPU).
    const serverNs = async () => {
      const pids = (await client.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).rows
      return pids.reduce((sum: number, r) => {
        const file = `/proc/${String(r.pid)}/schedstat`
        return sum + (existsSync(file) ? Number(readFileSync(file, "utf8").split(" ")[0]) : 0)
      }, 0)
    }
    const time = async (label: string, call: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < Math.min(20, searches); i++) await call(i)
      const s0 = await serverNs()
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      const from = process.hrtime.bigint() / 1000n
      for (let i = 0; i < searches; i++) await call(i)
      const to = process.hrtime.bigint() / 1000n
      const c = process.cpuUsage(c0)
      const ms = performance.now() - t0
      const server = (await serverNs()) - s0
      console.log(`${label}: ${searches} calls, ${(ms / searches).toFixed(2)} ms/call wall, ${
        ((c.user + c.system) / 1000 / searches).toFixed(2)
      } ms/call CPU, server ${(server / 1e6 / searches).toFixed(2)} ms/call CPU; --window ${from}:${to}`)
    }
    for (const mode of ["text", "vector", "hybrid"] as const) {
      if (only !== undefined && only !== mode) continue
      await time(`raw ${mode}`, (i) => floor[mode].run(queries[i % queries.length]!, vectors[i % queries.length]!))
      await time(`search ${mode} (limit ${limit})`, (i) => runtime.runPromise(backend.search(queries[i % queries.length]!, { mode, limit })))
    }
    if (process.argv.includes("--drop")) {
      await client.query("DROP SCHEMA IF EXISTS profile_memory CASCADE")
      await client.query("DROP SCHEMA IF EXISTS profile_raw CASCADE")
    }
  } finally {
    await runtime.dispose()
    await client.end()
  }
}

await main()
