/**
 * Command-line startup: the compiled `arawn-store` binary (dist/cli, built by `npm run bench` first) run as a new
 * process, beside `node -e 0`, the floor every command pays. Budgets: `--help` <= 300 ms and `memory search` on a
 * 1k-memory store <= 500 ms at p50. The runs alternate with the floor, so load from other processes hits both.
 *
 *   npx tsx --conditions=arawn-store:source bench/startup.ts [--quick]
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Effect, Layer } from "effect"
import * as Embedder from "../src/Embedder.js"
import type { NewMemory } from "../src/Memory.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { formatTable } from "./harness.js"

const AREA = "startup"
const BIN = fileURLToPath(new URL("../dist/cli/arawn-store.js", import.meta.url))
const FLOOR = "node -e 0"

const TOPICS = ["deploy", "schema", "migration", "cache", "session", "vector", "index", "thread", "release", "flaky"]

/** A store of `count` short notes, written through the SQLite layer as any program would. */
const seed = (dir: string, count: number) => {
  const inputs: Array<NewMemory> = Array.from({ length: count }, (_, i) => ({
    content: `Note ${i}: the ${TOPICS[i % 10]} work touches ${TOPICS[(i * 7) % 10]} and ${TOPICS[(i * 3) % 10]}`,
    contentType: "note"
  }))
  const layer = SqliteMemoryBackend.layer({ filename: join(dir, "memory.db") }).pipe(Layer.provide(Embedder.layerHashing))
  return Effect.runPromise(Effect.flatMap(MemoryBackend, (m) => m.storeMany(inputs)).pipe(Effect.provide(layer)))
}

const timing = (samples: Array<number>): Timing => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
  const total = samples.reduce((s, x) => s + x, 0)
  return { p50Ms: at(0.5), p95Ms: at(0.95), opsPerSec: samples.length / (total / 1000) }
}

/**
 * CPU time (user + system, ms) of this process's reaped children, from /proc/self/stat (Linux; undefined
 * elsewhere). Wall time is what a person waits for, but on a shared machine it mostly measures the other
 * processes: CPU time says what a run itself costs.
 */
const childrenCpuMs = (): number | undefined => {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // Fields 16 and 17 of stat(5) (cutime, cstime), counted here from field 3, in clock ticks of 10 ms.
    return (Number(fields[13]) + Number(fields[14])) * 10
  } catch {
    return undefined
  }
}

/** Wall and CPU time of one process, start to exit; a failing command fails the benchmark. */
const spawnMs = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): { wall: number; cpu: number | undefined } => {
  const cpu0 = childrenCpuMs()
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { env, stdio: ["ignore", "ignore", "pipe"] })
  const wall = performance.now() - t0
  const cpu1 = childrenCpuMs()
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr.toString().trim()}`)
  return { wall, cpu: cpu0 === undefined || cpu1 === undefined ? undefined : cpu1 - cpu0 }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

interface Case {
  readonly operation: string
  readonly size: string
  readonly args: ReadonlyArray<string>
  readonly env?: NodeJS.ProcessEnv
  readonly budgetMs?: number
  readonly note?: string
}

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build`)
  const runs = options.quick ? 15 : 40
  const work = mkdtempSync(join(tmpdir(), "arawn-bench-startup-"))
  try {
    const store = join(work, "store")
    await seed(store, 1000)
    // A compile cache of the bench's own, so the rows do not depend on what ran before.
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: join(work, "cache"), NO_COLOR: "1" }
    const cases: ReadonlyArray<Case> = [
      { operation: "arawn-store --help", size: "-", args: [BIN, "--help"], budgetMs: 300, note: "help text rendered at build time" },
      { operation: "arawn-store memory search --help", size: "-", args: [BIN, "memory", "search", "--help"] },
      { operation: "arawn-store --version", size: "-", args: [BIN, "--version"], note: "loads the whole command line" },
      {
        operation: "arawn-store memory search",
        size: "1k memories",
        args: [BIN, "--dir", store, "memory", "search", "deploy migration"],
        budgetMs: 500
      },
      {
        operation: "arawn-store memory search (no code cache)",
        size: "1k memories",
        args: [BIN, "--dir", store, "memory", "search", "deploy migration"],
        env: { ARAWN_STORE_COMPILE_CACHE: "0" },
        note: "a first run, before V8's code cache exists"
      },
      { operation: "arawn-store workstream list", size: "empty store", args: [BIN, "--dir", store, "workstream", "list"] }
    ]
    const rows: Array<BenchRow> = []
    for (const c of cases) {
      const caseEnv = { ...env, ...c.env }
      spawnMs(c.args, caseEnv) // warms the code cache (and the page cache)
      const ours: Array<{ wall: number; cpu: number | undefined }> = []
      const floor: Array<{ wall: number; cpu: number | undefined }> = []
      for (let i = 0; i < runs; i++) {
        floor.push(spawnMs(["-e", "0"], caseEnv))
        ours.push(spawnMs(c.args, caseEnv))
      }
      const t = timing(ours.map((r) => r.wall))
      const verdict = c.budgetMs === undefined ? undefined : `budget ${c.budgetMs} ms p50: ${t.p50Ms <= c.budgetMs ? "met" : "MISSED"}`
      const cpu = [...ours, ...floor].every((r) => r.cpu !== undefined)
        ? `cpu p50 ${median(ours.map((r) => r.cpu!))} ms (floor ${median(floor.map((r) => r.cpu!))} ms)`
        : undefined
      const note = [verdict, cpu, c.note].filter((n) => n !== undefined).join("; ")
      rows.push({
        area: AREA,
        operation: c.operation,
        size: c.size,
        ours: t,
        floor: { name: FLOOR, timing: timing(floor.map((r) => r.wall)) },
        ...(note !== "" ? { note } : {})
      })
    }
    return rows
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  run({ quick: process.argv.includes("--quick") }).then((rows) => console.log(formatTable(rows)))
}
