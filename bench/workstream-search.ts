/**
 * WorkstreamStore/Local `searchMessages` and `fork`, each beside its raw floor measured in the same run:
 * - `searchMessages` (limit 10) over 100 workstreams x 1,000 messages, across a mix of two-word queries (one common
 *   word, one rare), unfiltered and confined to one workstream, against the raw FTS5 query on the same
 *   `workstreams.db` with better-sqlite3 (`MATCH ... ORDER BY rank LIMIT 10`, no filters, no log reads);
 * - `fork` of a 10,000-message thread, against a raw copy of its log with fsync; bytes written in the note.
 * The corpus is written directly as JSONL and indexed with `rebuildIndex`, cached under `bench/results/`.
 * `--quick` uses 20 x 500 messages and a 2,000-message thread.
 *
 * Run alone: `npx tsx bench/workstream-search.ts [--quick]`.
 */
import { randomUUID } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as fsp from "node:fs/promises"
import { createRequire } from "node:module"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect, ManagedRuntime } from "effect"
import { WorkstreamId } from "../src/Ids.js"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { runIfMain } from "./harness.js"

interface RawDatabase {
  prepare(sql: string): { all(...params: ReadonlyArray<unknown>): Array<unknown> }
  close(): void
}
const require = createRequire(import.meta.url)
const Database: new(file: string, options?: { readonly readonly?: boolean }) => RawDatabase = require("better-sqlite3")

const HERE = fileURLToPath(new URL(".", import.meta.url))
const RESULTS = join(HERE, "results", "workstream")

/** A deterministic PRNG (mulberry32), so a cached corpus and the queries of a later run agree. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "so", "ta", "vi", "po", "de", "gu", "ba", "fe", "zo", "hi", "ju", "wa", "xe", "yo", "qi"]
const VOCABULARY = 8000
/** The word of frequency rank `r` (0 = most frequent): three syllables, distinct for every rank. */
const word = (r: number) => SYLLABLES[r % 20]! + SYLLABLES[Math.floor(r / 20) % 20]! + SYLLABLES[Math.floor(r / 400) % 20]! + "n"
/** A rank drawn log-uniformly: a Zipf-like spread, a few words everywhere and most words rare. */
const rank = (rand: () => number) => Math.min(VOCABULARY - 1, Math.floor(Math.exp(rand() * Math.log(VOCABULARY))) - 1)

export const line = (wsId: string, i: number, rand: () => number, at: number) =>
  JSON.stringify({
    id: randomUUID(),
    workstream_id: wsId,
    session_id: null,
    role: i % 2 === 0 ? "user" : "assistant",
    content: Array.from({ length: 10 + Math.floor(rand() * 50) }, () => word(rank(rand))).join(" "),
    timestamp: new Date(at + i * 1000).toISOString()
  }) + "\n"

export const writeLog = (dir: string, wsId: string, count: number, rand: () => number) => {
  mkdirSync(join(dir, "workstreams", wsId), { recursive: true })
  const start = Date.UTC(2026, 0, 1)
  writeFileSync(join(dir, "workstreams", wsId, "messages.jsonl"), Array.from({ length: count }, (_, i) => line(wsId, i, rand, start)).join(""))
}

/** A store of `threads` workstreams of `perThread` messages each, built once and cached. */
const corpus = async (threads: number, perThread: number) => {
  const dir = join(RESULTS, `search-${threads}x${perThread}`)
  const marker = join(dir, "ready-v1.json")
  const ids = Array.from({ length: threads }, (_, i) => WorkstreamId.make(`thread_${i}`))
  if (existsSync(marker)) return { dir, ids }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const rand = prng(42)
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  try {
    for (const id of ids) {
      await runtime.runPromise(Effect.flatMap(WorkstreamStore, (s) => s.create({ id, title: id })))
      writeLog(dir, id, perThread, rand)
      await runtime.runPromise(Local.rebuildIndex(id))
    }
  } finally {
    await runtime.dispose()
  }
  writeFileSync(marker, "{}")
  return { dir, ids }
}

const timing = (samples: Array<number>): Timing => {
  samples.sort((a, b) => a - b)
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!
  return { p50Ms: at(0.5), p95Ms: at(0.95), opsPerSec: samples.length / (samples.reduce((a, b) => a + b, 0) / 1000) }
}

/** Times `ours` and `floor` in alternating rounds over the same inputs, so machine load drifts over both alike. */
export const pair = async <A>(inputs: ReadonlyArray<A>, ours: (a: A) => Promise<unknown>, floor: (a: A) => unknown, rounds = 5) => {
  for (const a of inputs.slice(0, 5)) {
    await ours(a)
    await floor(a)
  }
  const x: Array<number> = []
  const y: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    for (const a of inputs) {
      const t0 = performance.now()
      await ours(a)
      x.push(performance.now() - t0)
    }
    for (const a of inputs) {
      const t0 = performance.now()
      await floor(a)
      y.push(performance.now() - t0)
    }
  }
  return [timing(x), timing(y)] as const
}

export const dirBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((n, e) =>
    n + (e.isDirectory() ? dirBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0)

export const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`

export const searchRows = async (quick: boolean): Promise<Array<BenchRow>> => {
  const [threads, perThread] = quick ? [20, 500] : [100, 1000]
  const size = `${threads} x ${perThread} msgs`
  const { dir, ids } = await corpus(threads, perThread)
  const rand = prng(7)
  // One word among the 100 most frequent, one rarer: most queries people type mix the two.
  const queries = Array.from({ length: 40 }, () => `${word(Math.floor(rand() * 100))} ${word(200 + Math.floor(rand() * 4000))}`)
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  const raw = new Database(join(dir, "workstreams.db"), { readonly: true })
  const floor = raw.prepare(
    "SELECT rowid, bm25(arawn_store_workstream_message_text) AS r FROM arawn_store_workstream_message_text WHERE arawn_store_workstream_message_text MATCH ? ORDER BY rank LIMIT 10"
  )
  const match = (q: string) => q.split(" ").map((w) => `"${w}"`).join(" OR ")
  try {
    const store = await runtime.runPromise(WorkstreamStore)
    const hits = await runtime.runPromise(store.searchMessages(queries[0]!))
    if (hits.length !== 10) throw new Error(`expected 10 hits, got ${hits.length}`)
    const [all, allFloor] = await pair(queries, (q) => runtime.runPromise(store.searchMessages(q)), (q) => floor.all(match(q)), quick ? 3 : 5)
    const one = ids[Math.floor(ids.length / 2)]!
    const [within, withinFloor] = await pair(
      queries,
      (q) => runtime.runPromise(store.searchMessages(q, { workstreamIds: [one] })),
      (q) => floor.all(match(q)),
      quick ? 3 : 5
    )
    return [
      { area: "workstream", operation: "searchMessages limit 10", size, ours: all, floor: { name: "raw FTS5 MATCH rank LIMIT 10", timing: allFloor }, note: "40 two-word queries" },
      {
        area: "workstream",
        operation: "searchMessages limit 10, one workstream",
        size,
        ours: within,
        floor: { name: "raw FTS5 MATCH rank LIMIT 10", timing: withinFloor },
        note: "floor unfiltered"
      }
    ]
  } finally {
    raw.close()
    await runtime.dispose()
  }
}

const forkRows = async (quick: boolean): Promise<Array<BenchRow>> => {
  const count = quick ? 2000 : 10_000
  const dir = mkdtempSync(join(RESULTS, "fork-"))
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  try {
    const source = WorkstreamId.make("fork_source")
    await runtime.runPromise(Effect.flatMap(WorkstreamStore, (s) => s.create({ id: source, title: "source" })))
    writeLog(dir, source, count, prng(3))
    await runtime.runPromise(Local.rebuildIndex(source))
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
    const before = dirBytes(dir)
    const first = await runtime.runPromise(store.fork(source, { title: "first", copy: true }))
    if (first.messageCount !== count) throw new Error("short fork")
    const forkLog = statSync(join(dir, "workstreams", first.id, "messages.jsonl")).size
    // What one fork adds: its log, and its rows in workstreams.db (message index, text index, record); the floor's
    // copy of the log lies beside and is not counted.
    const written = dirBytes(dir) - before
    const [ours, floor] = await pair(Array.from({ length: quick ? 3 : 8 }, (_, i) => i), (i) =>
      runtime.runPromise(store.fork(source, { title: `fork ${i}`, copy: true })), rawCopy, 1)
    return [{
      area: "workstream",
      operation: "fork with copy (all messages)",
      size: `${count / 1000}k msgs`,
      ours,
      floor: { name: "raw copyFile + fsync", timing: floor },
      note: `writes ${mb(written)}: log ${mb(forkLog)} (source ${mb(statSync(log).size)}), index ${mb(written - forkLog)}`
    }]
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => [
  ...await searchRows(options.quick),
  ...await forkRows(options.quick)
]

runIfMain(import.meta.url, run)
