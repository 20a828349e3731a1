/**
 * WorkstreamStore/Local retention: `prune` of a 1M-message thread (`--quick`: 20k) down to its last 1,000
 * messages, behind a summary of the rest, in one call (budget = all). Reports the wall time (and CPU time), the
 * process's peak RSS as the kernel counts it (before the call: what seeding 1M messages took; after: whether the
 * prune went higher), and the bytes given back: the log's and the index file's shrinkage. Logs are written directly as JSONL and indexed with `rebuildIndex`.
 *
 * Run alone: `npx tsx --conditions=arawn-store:source bench/workstream-prune.ts [--quick] [--messages=100000]`.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ManagedRuntime } from "effect"
import { WorkstreamId } from "../src/Ids.js"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import type { BenchOptions, BenchRow } from "./harness.js"
import { runIfMain } from "./harness.js"
import { mb } from "./workstream-search.js"
import { writeBigLog } from "./workstream-tree.js"

const HERE = fileURLToPath(new URL(".", import.meta.url))
const RESULTS = join(HERE, "results", "workstream")
const KEEP = 1000

const sizeOr0 = (file: string) => {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  mkdirSync(RESULTS, { recursive: true })
  const asked = process.argv.find((a) => a.startsWith("--messages="))
  const count = asked !== undefined ? Number(asked.slice("--messages=".length)) : options.quick ? 20_000 : 1_000_000
  const dir = mkdtempSync(join(RESULTS, "prune-"))
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  try {
    const id = WorkstreamId.make("long_thread")
    const store = await runtime.runPromise(WorkstreamStore)
    await runtime.runPromise(store.create({ id, title: "long thread" }))
    await writeBigLog(dir, id, count)
    await runtime.runPromise(Local.rebuildIndex(id))
    await runtime.runPromise(store.summarize(id, { fromSeq: 1, toSeq: count - KEEP, content: "everything before the last 1,000 messages" }))
    await runtime.runPromise(store.setRetention({ workstreamId: id }, { maxMessages: KEEP }))
    const log = join(dir, "workstreams", id, "messages.jsonl")
    const dbFiles = ["workstreams.db", "workstreams.db-wal"].map((f) => join(dir, f))
    const logBefore = sizeOr0(log)
    const dbBefore = sizeOr0(dbFiles[0]!)
    const peakBefore = process.resourceUsage().maxRSS * 1024
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const report = await runtime.runPromise(store.prune({ workstreamId: id, budget: count }))
    const ms = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const peakAfter = process.resourceUsage().maxRSS * 1024
    const kept = await runtime.runPromise(store.loadMessages(id))
    if (report.removed !== count - KEEP || kept.length !== KEEP) throw new Error(`prune removed ${report.removed}, kept ${kept.length}`)
    const logAfter = sizeOr0(log)
    // The index file shrinks at the WAL checkpoint, which closing the store runs.
    await runtime.dispose()
    const dbAfter = sizeOr0(dbFiles[0]!)
    return [{
      area: "workstream",
      operation: "prune to the last 1,000 messages (one call)",
      size: `${count >= 1_000_000 ? `${count / 1_000_000}M` : `${count / 1000}k`} msgs`,
      ours: { p50Ms: ms, p95Ms: ms, opsPerSec: (report.removed / ms) * 1000 },
      note: `CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; peak RSS ${mb(peakBefore)} before, ${mb(peakAfter)} after; log ${mb(logBefore)} -> ${mb(logAfter)}, ` +
        `index ${mb(dbBefore)} -> ${mb(dbAfter)} (reported freed ${mb(report.pruned[0]?.bytes ?? 0)})`
    }]
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

runIfMain(import.meta.url, run)
