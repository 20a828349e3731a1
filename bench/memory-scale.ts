/**
 * Large-store memory benchmarks, each phase in a fresh child process so its RSS is its own:
 * - `--scale 1m` (`scaleRows`): builds 1M short memories x 384d into a temp dir (removed at the end) with storeMany,
 *   keeps the exact top 10 of a query sample by brute force in JS while building, then opens the store in a fresh
 *   process for vector, text and hybrid searches (p50, recall@10 against the brute force, peak RSS), and the raw
 *   floor (rows + exact float vec0 + FTS5) in another.
 * - `rssRows`: peak RSS of a process that opens the store and runs 200 searches in each mode, beside the raw
 *   better-sqlite3 + sqlite-vec database over the same rows running the same queries.
 * Run directly, this file is the child: `memory-scale.ts <phase> <dir> <n>`; it prints one JSON line.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { Effect, ManagedRuntime } from "effect"
import * as Embedder from "../src/Embedder.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import type { BenchRow, Timing } from "./harness.js"
import { measure } from "./harness.js"
import { bytes, corpus, DIMS, idOf, layerFor, mulberry32, openRaw, rowsOf, sentence } from "./memory-corpus.js"

const MB = 1024 * 1024
const BATCH = 1000
const hashing = Embedder.makeHashing()
const embed = (q: string) => Effect.runSync(hashing.embed([q]))[0]!
const ftsQuery = (q: string) => q.split(" ").map((w) => `"${w}"`).join(" OR ")
const queriesFor = (count: number, seed: number) => {
  const random = mulberry32(seed)
  return Array.from({ length: count }, () => sentence(random, 4 + Math.floor(random() * 6)))
}

/** Where the process's memory is: V8 heap, buffers outside it, and resident pages split into anonymous and file-mapped (mmap). */
const breakdown = () => {
  const u = process.memoryUsage()
  let anonMb = NaN
  try {
    const m = /^Anonymous:\s+(\d+) kB/m.exec(readFileSync("/proc/self/smaps_rollup", "utf8"))
    if (m) anonMb = Number(m[1]) / 1024
  } catch {
    // not Linux: the split is unknown
  }
  return { rssMb: u.rss / MB, heapUsedMb: u.heapUsed / MB, externalMb: u.external / MB, arrayBuffersMb: u.arrayBuffers / MB, anonMb, fileMb: u.rss / MB - anonMb }
}
type Breakdown = ReturnType<typeof breakdown>

/** Peak RSS sampled after every call (ru_maxrss of an exec'd child can carry its parent's high-water mark). */
const peakTracker = () => {
  let peak = breakdown()
  return {
    sample: () => {
      const now = process.memoryUsage().rss / MB
      if (now > peak.rssMb) peak = breakdown()
    },
    peak: () => peak
  }
}

// ---- child phases ----

const cosineDistance = (a: Float32Array, b: Float32Array) => {
  let dot = 0, na = 0, nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb)
}

/** Builds our store and the raw floor over `n` memories; our storeMany time alone gives rows/s; keeps the exact top 10 of the sample. */
const buildPhase = async (dir: string, n: number, queries: ReadonlyArray<string>) => {
  const runtime = ManagedRuntime.make(layerFor(join(dir, "ours.db")))
  const backend = await runtime.runPromise(MemoryBackend)
  const raw = openRaw(join(dir, "raw.db"))
  const qv = queries.map(embed)
  const top = queries.map(() => [] as Array<readonly [number, number]>)
  let storeMs = 0, rawMs = 0, truthMs = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  for (let offset = 0; offset < n; offset += BATCH) {
    const c = corpus(Math.min(BATCH, n - offset), 1000 + offset)
    let t = performance.now()
    await runtime.runPromise(backend.storeMany(rowsOf(c, offset)))
    storeMs += performance.now() - t
    t = performance.now()
    raw.insert(c, offset)
    rawMs += performance.now() - t
    t = performance.now()
    qv.forEach((q, qi) => {
      const best = top[qi]!
      c.vectors.forEach((v, i) => {
        const d = cosineDistance(q, v)
        if (best.length < 10 || d < best[best.length - 1]![1]) {
          best.push([offset + i, d])
          best.sort((a, b) => a[1] - b[1])
          if (best.length > 10) best.pop()
        }
      })
    })
    truthMs += performance.now() - t
    if (offset % 50_000 === 0) process.stderr.write(`scale build: ${offset} rows, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`)
  }
  raw.db.close()
  await runtime.dispose()
  const cpu = process.cpuUsage(cpu0)
  writeFileSync(join(dir, "truth.json"), JSON.stringify(top.map((b) => b.map(([i]) => idOf(i)))))
  const result = { n, seconds: (performance.now() - t0) / 1000, storeMs, rawMs, truthMs, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
  writeFileSync(join(dir, "build.json"), JSON.stringify(result))
  return result
}

/** Opens our store (or the raw floor) and runs `rounds` searches of the sample in each mode at limit 10. */
const searchPhase = async (dir: string, file: string, queries: ReadonlyArray<string>, rounds: number, which: "ours" | "raw") => {
  const peak = peakTracker()
  const truth: ReadonlyArray<ReadonlyArray<string>> = which === "ours" && file === "ours.db"
    ? JSON.parse(readFileSync(join(dir, "truth.json"), "utf8"))
    : []
  const timings: Record<string, Timing> = {}
  const cpu0 = process.cpuUsage()
  let recall = NaN
  if (which === "ours") {
    const runtime = ManagedRuntime.make(layerFor(join(dir, file)))
    const backend = await runtime.runPromise(MemoryBackend)
    peak.sample()
    for (const mode of ["vector", "text", "hybrid"] as const) {
      let qi = 0
      timings[mode] = await measure(async () => {
        await runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode, limit: 10 }))
        peak.sample()
      }, { batches: rounds })
    }
    if (truth.length > 0) {
      let sum = 0
      for (let i = 0; i < truth.length; i++) {
        const want = new Set(truth[i])
        const hits = await runtime.runPromise(backend.search(queries[i]!, { mode: "vector", limit: 10 }))
        sum += hits.filter((h) => want.has(h.memory.id)).length / 10
      }
      recall = sum / truth.length
    }
    peak.sample()
    const atEnd = breakdown()
    await runtime.dispose()
    const cpu = process.cpuUsage(cpu0)
    return { timings, recall, peak: peak.peak(), atEnd, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
  }
  const raw = openRaw(join(dir, file))
  const knn = raw.db.prepare("SELECT rowid, distance FROM vec WHERE embedding MATCH ? AND k = ?")
  const fts = raw.db.prepare("SELECT m.*, bm25(fts) AS r FROM fts JOIN memories m ON m.pk = fts.rowid WHERE fts MATCH ? ORDER BY r LIMIT ?")
  const run = {
    vector: (q: string) => knn.all(bytes(embed(q)), 10n),
    text: (q: string) => fts.all(ftsQuery(q), 10),
    hybrid: (q: string) => [knn.all(bytes(embed(q)), 10n), fts.all(ftsQuery(q), 10)]
  }
  peak.sample()
  for (const mode of ["vector", "text", "hybrid"] as const) {
    let qi = 0
    timings[mode] = await measure(() => {
      run[mode](queries[qi++ % queries.length]!)
      peak.sample()
    }, { batches: rounds })
  }
  const atEnd = breakdown()
  raw.db.close()
  const cpu = process.cpuUsage(cpu0)
  return { timings, recall, peak: peak.peak(), atEnd, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

// ---- parent ----

const SCRIPT = fileURLToPath(import.meta.url)
type SearchResult = Awaited<ReturnType<typeof searchPhase>>

const child = <A>(args: ReadonlyArray<string>): A => {
  const out = execFileSync(process.execPath, ["--import", "tsx", "--conditions=arawn-store:source", SCRIPT, ...args], {
    cwd: join(fileURLToPath(new URL(".", import.meta.url)), ".."),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 64 * MB
  })
  return JSON.parse(out.trim().split("\n").pop()!) as A
}

const mem = (b: Breakdown) =>
  `rss ${b.rssMb.toFixed(0)} MB (anon ${b.anonMb.toFixed(0)}, file-mapped ${b.fileMb.toFixed(0)}; heap ${b.heapUsedMb.toFixed(0)}, external ${b.externalMb.toFixed(0)})`

const SAMPLE = 50

/** `--scale 1m`: build time and storeMany rows/s, then vector/text/hybrid p50 at limit 10, recall@10 and peak RSS. */
export const scaleRows = async (n = 1_000_000, kept?: string): Promise<Array<BenchRow>> => {
  // A kept directory (`--scale-dir`) is the caller's: a build already in it is reused, and it is not removed.
  const dir = kept ?? mkdtempSync(join(tmpdir(), "arawn-scale-"))
  const label = `${n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`} x ${DIMS}d`
  try {
    const built: Awaited<ReturnType<typeof buildPhase>> = kept !== undefined && existsSync(join(dir, "build.json"))
      ? JSON.parse(readFileSync(join(dir, "build.json"), "utf8"))
      : child(["build", dir, String(n)])
    const ours = child<SearchResult>(["search", dir, "ours.db", "ours", String(SAMPLE)])
    const raw = child<SearchResult>(["search", dir, "raw.db", "raw", String(SAMPLE)])
    const perSecond = (ms: number) => n / (ms / 1000)
    const rows: Array<BenchRow> = [{
      area: "memory",
      operation: "build (storeMany 1000/call)",
      size: label,
      ours: { p50Ms: built.storeMs / (n / BATCH), p95Ms: NaN, opsPerSec: perSecond(built.storeMs) },
      floor: { name: "raw row+vec0 float+fts, 1 txn", timing: { p50Ms: built.rawMs / (n / BATCH), p95Ms: NaN, opsPerSec: perSecond(built.rawMs) } },
      note: `storeMany ${perSecond(built.storeMs).toFixed(0)} rows/s, ${(built.storeMs / 1000).toFixed(0)} s of a ${built.seconds.toFixed(0)} s build`
    }]
    for (const mode of ["vector", "text", "hybrid"] as const) {
      rows.push({
        area: "memory",
        operation: `search ${mode} (limit 10)`,
        size: label,
        ours: ours.timings[mode]!,
        floor: { name: mode === "vector" ? "raw sqlite-vec exact KNN (mmap)" : mode === "text" ? "raw FTS5 bm25" : "raw KNN + raw FTS5", timing: raw.timings[mode]! },
        note: mode === "vector" ? `recall@10 ${ours.recall.toFixed(3)} (${SAMPLE} queries vs brute force)` : ""
      })
    }
    rows.push({
      area: "memory",
      operation: `peak RSS: open + ${SAMPLE} searches x 3 modes (child)`,
      size: label,
      ours: { p50Ms: NaN, p95Ms: NaN, opsPerSec: NaN },
      note: `ours ${mem(ours.peak)}; raw ${mem(raw.peak)}`
    })
    return rows
  } finally {
    if (kept === undefined) rmSync(dir, { recursive: true, force: true })
  }
}

/** Peak RSS of a fresh process running `rounds` searches per mode on a cached store, ours beside raw. */
export const rssRows = (dir: string, oursFile: string, rawFile: string, size: string, rounds = 200): Array<BenchRow> => {
  const ours = child<SearchResult>(["search", dir, oursFile, "ours", String(rounds)])
  const raw = child<SearchResult>(["search", dir, rawFile, "raw", String(rounds)])
  return [{
    area: "memory",
    operation: `peak RSS: open + ${rounds} searches x 3 modes (child)`,
    size,
    ours: { p50Ms: NaN, p95Ms: NaN, opsPerSec: NaN },
    note: `${(ours.peak.rssMb / raw.peak.rssMb).toFixed(2)}x raw; ours ${mem(ours.peak)}; raw ${mem(raw.peak)}`
  }]
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [phase, dir, arg, which, count] = process.argv.slice(2)
  const result = phase === "build"
    ? await buildPhase(dir!, Number(arg), queriesFor(SAMPLE, 77))
    : await searchPhase(dir!, arg!, queriesFor(Number(count ?? SAMPLE), 77), Number(count ?? SAMPLE), which === "raw" ? "raw" : "ours")
  console.log(JSON.stringify(result))
}
