/**
 * As-of search beside current search on MemoryBackend/Sqlite: the same hybrid, vector and text queries with
 * `asOf` (both axes given, so every row goes through the record-time and valid-time test) and without it.
 * 10k short memories by default; `--scale 100k` runs 100k.
 */
import { DateTime } from "effect"
import { MemoryBackend } from "../src/MemoryBackend.js"
import type { SearchMode } from "../src/Memory.js"
import type { BenchOptions, BenchRow } from "./harness.js"
import { formatTable, measure, ratio } from "./harness.js"
import { build, mulberry32, sentence } from "./memory-corpus.js"

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const n = options.scale === "100k" ? 100_000 : 10_000
  const random = mulberry32(7)
  const queries = Array.from({ length: options.quick ? 40 : 100 }, () => sentence(random, 4 + Math.floor(random() * 6)))
  const { floor, runtime } = await build(n)
  const backend = await runtime.runPromise(MemoryBackend)
  const now = await runtime.runPromise(DateTime.now)
  // Both axes explicit, so every row takes the record-time and valid-time test (and every stored row passes it).
  const asOf = { valid: now, recorded: now }
  const rows: Array<BenchRow> = []
  for (const mode of ["hybrid", "vector", "text"] as ReadonlyArray<SearchMode>) {
    let qi = 0
    const current = await measure(() => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode, limit: 10 })), {
      batches: queries.length
    })
    qi = 0
    let empty = 0
    const ours = await measure(async () => {
      const hits = await runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode, limit: 10, asOf }))
      if (hits.length === 0) empty++
    }, { batches: queries.length })
    rows.push({
      area: "memory-asof",
      operation: `search ${mode} as of (valid, recorded) (limit 10)`,
      size: `${n / 1000}k x 384d`,
      ours,
      floor: { name: `our ${mode} search, current view`, timing: current },
      note: `${empty} as-of searches empty`
    })
  }
  floor.close()
  await runtime.dispose()
  return rows
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const scale = process.argv.includes("--scale") ? process.argv[process.argv.indexOf("--scale") + 1] : undefined
  const rows = await run({ quick: process.argv.includes("--quick"), ...(scale !== undefined ? { scale } : {}) })
  console.log(formatTable(rows))
  for (const r of rows) {
    const q = ratio(r)
    if (q !== undefined) console.log(`${r.operation} ${r.size}: ${(1 / q).toFixed(2)}x the current search's latency`)
  }
}
