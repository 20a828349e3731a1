/**
 * Shared timing and reporting for the benchmarks. Every area module (`bench/<area>.ts`) exports
 * `run(options): Promise<Array<BenchRow>>` and measures each operation beside its raw floor in the same run.
 */
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"

export interface BenchOptions {
  /** A small run (under a minute for everything together). */
  readonly quick: boolean
  /** An on-demand size (`--scale 1m`): areas that know it run only that. */
  readonly scale?: string
  /** A directory for the `--scale` store that the caller keeps: a build already in it is reused. */
  readonly scaleDir?: string
  /** A PostgreSQL server with pgvector for the `pg` area (`--pg-url`); PGlite when absent. */
  readonly pgUrl?: string
}

export interface Timing {
  readonly p50Ms: number
  readonly p95Ms: number
  readonly opsPerSec: number
}

export interface BenchRow {
  readonly area: string
  readonly operation: string
  /** The data size the operation ran on, e.g. "100k x 384d" or "1M msgs". */
  readonly size: string
  readonly ours: Timing
  /** The raw floor measured in the same run (raw better-sqlite3 + sqlite-vec, raw lru-cache, raw ioredis, ...). */
  readonly floor?: { readonly name: string; readonly timing: Timing }
  /** Free-form extra result (recall@10, nDCG, RSS, ...). */
  readonly note?: string
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/**
 * Times `batches` calls of `runBatch`, each doing `batchSize` operations; per-op latency is batch time / size, so
 * operations far below a microsecond are still measured without timer noise.
 */
export const measure = async (
  runBatch: () => unknown,
  options: { readonly batches: number; readonly batchSize?: number; readonly warmup?: number }
): Promise<Timing> => {
  const size = options.batchSize ?? 1
  for (let i = 0; i < (options.warmup ?? Math.min(5, options.batches)); i++) await runBatch()
  const samples: Array<number> = []
  const start = performance.now()
  for (let i = 0; i < options.batches; i++) {
    const t0 = performance.now()
    await runBatch()
    samples.push((performance.now() - t0) / size)
  }
  const total = performance.now() - start
  samples.sort((a, b) => a - b)
  return {
    p50Ms: percentile(samples, 0.5),
    p95Ms: percentile(samples, 0.95),
    opsPerSec: (options.batches * size) / (total / 1000)
  }
}

/** ours / floor throughput: 1.0 means as fast as the raw floor. */
export const ratio = (row: BenchRow): number | undefined =>
  row.floor === undefined ? undefined : row.ours.opsPerSec / row.floor.timing.opsPerSec

const fmt = (n: number, digits = 3) =>
  !Number.isFinite(n) ? "-" : n >= 1000 ? n.toFixed(0) : n >= 1 ? n.toFixed(2) : n.toPrecision(digits)

/** One aligned table: operation, size, p50, p95, ops/s, floor, floor ops/s, ratio, note. */
export const formatTable = (rows: ReadonlyArray<BenchRow>): string => {
  const header = ["area", "operation", "size", "p50 ms", "p95 ms", "ops/s", "raw floor", "floor ops/s", "ratio", "note"]
  const lines = rows.map((r) => {
    const q = ratio(r)
    return [
      r.area,
      r.operation,
      r.size,
      fmt(r.ours.p50Ms),
      fmt(r.ours.p95Ms),
      fmt(r.ours.opsPerSec),
      r.floor?.name ?? "-",
      r.floor ? fmt(r.floor.timing.opsPerSec) : "-",
      q === undefined ? "-" : `${(q * 100).toFixed(0)}%`,
      r.note ?? ""
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...lines.map(line)].join("\n")
}

/**
 * Runs an area on its own when its module is the program (`npx tsx bench/<area>.ts [--quick]`), printing its table;
 * exits 1 on a failure.
 */
export const runIfMain = (moduleUrl: string, run: (options: BenchOptions) => Promise<ReadonlyArray<BenchRow>>): void => {
  if (process.argv[1] === undefined || fileURLToPath(moduleUrl) !== process.argv[1]) return
  run({ quick: process.argv.includes("--quick") }).then(
    (rows) => console.log(formatTable(rows)),
    (e) => {
      console.error(e)
      process.exit(1)
    }
  )
}
