/**
 * `npm run bench [-- --quick | --scale 1m [--scale-dir DIR]] [--pg-url postgres://...]`: runs every area benchmark present (memory-fixed, memory, memory-asof, memory-quality, workstream, workstream-prune, session, startup, pg, chat),
 * prints one table with the machine above it, and writes the rows as JSON under bench/results/.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { cpus, totalmem } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { BenchOptions, BenchRow } from "./harness.js"
import { formatTable, ratio } from "./harness.js"

/** The on-demand sizes each area knows; `--scale X` runs only the areas listed for X. */
const SCALES: Record<string, ReadonlyArray<string>> = { memory: ["1m"], "memory-asof": ["100k"] }

const AREAS = ["memory-fixed", "memory", "memory-asof", "memory-quality", "workstream", "workstream-prune", "session", "startup", "pg", "chat"] as const

interface AreaModule {
  readonly run: (options: BenchOptions) => Promise<Array<BenchRow>>
}

const isAreaModule = (m: unknown): m is AreaModule =>
  typeof m === "object" && m !== null && "run" in m && typeof m.run === "function"

const here = fileURLToPath(new URL(".", import.meta.url))

const main = async () => {
  const quick = process.argv.includes("--quick")
  const scaleAt = process.argv.indexOf("--scale")
  const scale = scaleAt === -1 ? undefined : process.argv[scaleAt + 1]
  const argOf = (name: string) => {
    const at = process.argv.indexOf(name)
    return at === -1 ? undefined : process.argv[at + 1]
  }
  const scaleDir = argOf("--scale-dir")
  const pgUrl = argOf("--pg-url")
  const options: BenchOptions = {
    quick,
    ...(scale !== undefined ? { scale } : {}),
    ...(scaleDir !== undefined ? { scaleDir } : {}),
    ...(pgUrl !== undefined ? { pgUrl } : {})
  }
  const cpu = cpus()
  const machine = {
    cpu: cpu[0]?.model.trim() ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`
  }
  const rows: Array<BenchRow> = []
  const areas: Array<{ area: string; status: string; seconds?: number }> = []
  const started = performance.now()
  for (const area of AREAS) {
    const file = join(here, `${area}.ts`)
    if (scale !== undefined && !(SCALES[area] ?? []).includes(scale)) {
      areas.push({ area, status: `no --scale ${scale}` })
      continue
    }
    if (!existsSync(file)) {
      areas.push({ area, status: "not present" })
      continue
    }
    const t0 = performance.now()
    try {
      const mod: unknown = await import(pathToFileURL(file).href)
      if (!isAreaModule(mod)) {
        areas.push({ area, status: "no run(options) export" })
        continue
      }
      process.stderr.write(`bench: ${area}${quick ? " (quick)" : ""}...\n`)
      rows.push(...await mod.run(options))
      areas.push({ area, status: "ok", seconds: (performance.now() - t0) / 1000 })
    } catch (error) {
      areas.push({ area, status: `failed: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
  const seconds = (performance.now() - started) / 1000

  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node} (${machine.platform})`)
  console.log(`run: ${quick ? "quick" : "full"}, ${seconds.toFixed(1)} s; areas: ${
    areas.map((a) => `${a.area} ${a.status}${a.seconds !== undefined ? ` (${a.seconds.toFixed(1)} s)` : ""}`).join(", ")
  }`)
  console.log("")
  console.log(rows.length > 0 ? formatTable(rows) : "no benchmark rows (no area module present)")

  const dir = join(here, "results")
  mkdirSync(dir, { recursive: true })
  const at = new Date().toISOString()
  const file = join(dir, `${at.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`)
  writeFileSync(file, JSON.stringify({ at, quick, machine, seconds, areas, rows: rows.map((r) => ({ ...r, ratio: ratio(r) })) }, null, 2) + "\n")
  console.log(`\nresults: ${file}`)
  if (areas.some((a) => a.status.startsWith("failed") || a.status.startsWith("no run"))) process.exitCode = 1
}

await main()
