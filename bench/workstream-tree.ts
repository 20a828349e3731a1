/**
 * WorkstreamStore/Local threads as a tree:
 * - `fork` of a 10,000-message thread: with `copy` (the fork before branches) and as a branch, each beside a raw
 *   copy of the log with fsync; bytes written in the note;
 * - `loadMessages` limit 20 on a branch of a large root (1M messages; `--quick` 100k) beside the root's own tail,
 *   and on the head of a chain of 50 branches beside the tail of a plain thread of the same length.
 * Logs are written directly as JSONL and indexed with `rebuildIndex`.
 *
 * Run alone: `npx tsx --conditions=arawn-store:source bench/workstream-tree.ts [--quick]`.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import * as fsp from "node:fs/promises"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, ManagedRuntime } from "effect"
import { WorkstreamId } from "../src/Ids.js"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import type { BenchOptions, BenchRow } from "./harness.js"
import { runIfMain } from "./harness.js"
import { dirBytes, line, mb, pair, prng } from "./workstream-search.js"

const HERE = fileURLToPath(new URL(".", import.meta.url))
const RESULTS = join(HERE, "results", "workstream")

/** A log of `count` messages written in chunks (a 1M-message log does not fit one string comfortably). */
export const writeBigLog = async (dir: string, wsId: string, count: number) => {
  mkdirSync(join(dir, "workstreams", wsId), { recursive: true })
  const fh = await fsp.open(join(dir, "workstreams", wsId, "messages.jsonl"), "w")
  const rand = prng(11)
  const start = Date.UTC(2026, 0, 1)
  for (let i = 0; i < count; i += 10_000) {
    await fh.write(Array.from({ length: Math.min(10_000, count - i) }, (_, k) => line(wsId, i + k, rand, start)).join(""))
  }
  await fh.close()
}

/** A thread of `count` messages made from a raw log and indexed. */
const seeded = async (runtime: ManagedRuntime.ManagedRuntime<WorkstreamStore | Local.WorkstreamIndex, unknown>, dir: string, name: string, count: number) => {
  const id = WorkstreamId.make(name)
  await runtime.runPromise(Effect.flatMap(WorkstreamStore, (s) => s.create({ id, title: name })))
  await writeBigLog(dir, id, count)
  await runtime.runPromise(Local.rebuildIndex(id))
  return id
}

const forkRows = async (quick: boolean): Promise<Array<BenchRow>> => {
  const count = quick ? 2000 : 10_000
  const dir = mkdtempSync(join(RESULTS, "tree-fork-"))
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  try {
    const source = await seeded(runtime, dir, "fork_source", count)
    const store = await runtime.runPromise(WorkstreamStore)
    const log = join(dir, "workstreams", source, "messages.jsonl")
    const floorDir = join(dir, "floor")
    mkdirSync(floorDir)
    let n = 0
    const rawCopy = async () => {
      const target = join(floorDir, `copy-${n++}.jsonl`)
      await fsp.copyFile(log, target)
      const fh = await fsp.open(target, "r+")
      await fh.sync()
      await fh.close()
    }
    const written = async (copy: boolean) => {
      const before = dirBytes(dir)
      await runtime.runPromise(store.fork(source, { title: "measured", copy }))
      return dirBytes(dir) - before
    }
    const rows: Array<BenchRow> = []
    for (const copy of [true, false]) {
      const bytes = await written(copy)
      const [ours, floor] = await pair(Array.from({ length: quick ? 3 : 8 }, (_, i) => i), (i) =>
        runtime.runPromise(store.fork(source, { title: `fork ${i}`, copy })), rawCopy, 1)
      rows.push({
        area: "workstream",
        operation: copy ? "fork, copy: true (before branches)" : "fork (a branch: shares, copies nothing)",
        size: `${count / 1000}k msgs`,
        ours,
        floor: { name: "raw copyFile + fsync", timing: floor },
        note: `writes ${bytes < 1048576 ? `${bytes} B` : mb(bytes)} (source log ${mb(statSync(log).size)})`
      })
    }
    return rows
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

const tailRows = async (quick: boolean): Promise<Array<BenchRow>> => {
  const big = quick ? 100_000 : 1_000_000
  const dir = mkdtempSync(join(RESULTS, "tree-tail-"))
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  try {
    const store = await runtime.runPromise(WorkstreamStore)
    const root = await seeded(runtime, dir, "big_root", big)
    const branch = await runtime.runPromise(store.fork(root, { atSeq: big - 5, title: "branch of the big root" }))
    await runtime.runPromise(store.storeMessages(branch.id, Array.from({ length: 10 }, (_, i) => ({ role: "user" as const, content: `own ${i}` }))))
    // A chain of 50 branches, each adding 4 messages to a 100-message root.
    const small = await seeded(runtime, dir, "chain_root", 100)
    let head = small
    for (let depth = 0; depth < 50; depth++) {
      head = (await runtime.runPromise(store.fork(head, { title: `depth ${depth + 1}` }))).id
      await runtime.runPromise(store.storeMessages(head, Array.from({ length: 4 }, (_, i) => ({ role: "user" as const, content: `d${depth} m${i}` }))))
    }
    const flat = await seeded(runtime, dir, "flat_300", 300)
    const tail = (id: WorkstreamId) => () => runtime.runPromise(store.loadMessages(id, { limit: 20 }))
    const inputs = Array.from({ length: 50 }, (_, i) => i)
    const [onBranch, onRoot] = await pair(inputs, tail(branch.id), tail(root), quick ? 3 : 5)
    const [onChain, onFlat] = await pair(inputs, tail(head), tail(flat), quick ? 3 : 5)
    // Reaching deep: limit 200 spans every branch of the chain, one own-log read per ancestor.
    const deep = (id: WorkstreamId) => () => runtime.runPromise(store.loadMessages(id, { limit: 200 }))
    const [chainDeep, flatDeep] = await pair(inputs, deep(head), deep(flat), quick ? 3 : 5)
    const size = `${big / 1000}k msgs`
    return [
      { area: "workstream", operation: "loadMessages limit 20, branch of a big root", size, ours: onBranch, floor: { name: "the root's own tail", timing: onRoot }, note: "branch at seq n-5, 10 own" },
      { area: "workstream", operation: "loadMessages limit 20, head of a 50-deep chain", size: "300 msgs", ours: onChain, floor: { name: "a plain 300-msg thread", timing: onFlat }, note: "4 own msgs per branch" },
      { area: "workstream", operation: "loadMessages limit 200, head of a 50-deep chain", size: "300 msgs", ours: chainDeep, floor: { name: "a plain 300-msg thread", timing: flatDeep }, note: "reads all 51 logs" }
    ]
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  mkdirSync(RESULTS, { recursive: true })
  return [...await forkRows(options.quick), ...await tailRows(options.quick)]
}

runIfMain(import.meta.url, run)
