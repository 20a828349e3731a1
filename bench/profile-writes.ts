/**
 * The write path as a workload to profile and to compare with its raw floors in one run: `storeMany` of 500
 * memories (precomputed embeddings) beside raw row + vec0 + FTS5 inserts in one transaction, `store` of one beside
 * one such raw insert (the fixed cost of a write), `storeMessages` of 100
 * beside the same design in raw calls (append + fsync, then the index and text rows with raw better-sqlite3), and
 * `storeMessage` beside a raw append + fsync. Each pair is timed interleaved (wall and CPU time per call, see
 * interleaved.ts), so load from other processes falls on both alike. Run it under the profiler:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-writes.ts --only storeMany
 *   node scripts/cpuprofile-top.mjs --window <printed window> /tmp/prof/<largest>.cpuprofile
 *
 * Options: `--only storeMany|store|storeMessages|storeMessage` (times ours alone, for a profile), `--batches N` (10).
 */
import * as fsp from "node:fs/promises"
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Embedder, MemoryBackend, WorkstreamStore } from "arawn-store"
import * as SqliteMemory from "arawn-store/MemoryBackend/Sqlite"
import * as Local from "arawn-store/WorkstreamStore/Local"
import type { Entries } from "./interleaved.js"
import { interleaved } from "./interleaved.js"
import { corpus, openRaw, rowsOf } from "./memory-corpus.js"

interface RawStatement {
  run(...params: ReadonlyArray<unknown>): unknown
}
const require = createRequire(import.meta.url)
const Database: new(file: string) => { prepare(sql: string): RawStatement; close(): void } = require("better-sqlite3")

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? undefined : process.argv[at + 1]
}
const only = arg("only")
const batches = Number(arg("batches") ?? 10)

/** Times the entries side by side, or ours alone (with its profile window) under `--only`. */
const time = async (name: string, entries: Entries, calls: number) => {
  console.log(`${name}:`)
  if (only === undefined) return interleaved(entries, { batches, calls })
  const [, ours] = entries[0]!
  for (let i = 0; i < calls; i++) await ours(i)
  const from = process.hrtime.bigint() / 1000n
  const t0 = performance.now()
  const n = batches * calls
  for (let i = 0; i < n; i++) await ours(calls + i)
  console.log(`  ours: ${(((performance.now() - t0) / n) * 1000).toFixed(1)} us/call; --window ${from}:${process.hrtime.bigint() / 1000n}`)
}

const memoryWrites = async (dir: string) => {
  const per = 500
  const total = (batches + 12) * 2
  const data = Array.from({ length: total }, (_, b) => corpus(per, 5_000_000 + b))
  const runtime = ManagedRuntime.make(SqliteMemory.layer({ filename: join(dir, "ours.db") }).pipe(Layer.provide(Embedder.layerHashing)))
  const backend = await runtime.runPromise(MemoryBackend.MemoryBackend)
  const raw = openRaw(join(dir, "raw.db"))
  // The inputs are made before timing, as the floor's rows are: building them is the caller's cost, not the store's.
  const inputs = data.map((c, b) => rowsOf(c, per * b))
  let ob = 0
  let rb = 0
  if (only === undefined || only === "storeMany") await time("storeMany (500/call), per call", [
    ["storeMany", () => runtime.runPromise(backend.storeMany(inputs[ob++]!))],
    ["raw row + vec0 float + FTS5, 1 txn", () => raw.insert(data[rb]!, per * rb++)]
  ], 1)
  if (only === undefined || only === "store") {
    // One memory per call: the fixed cost of a write (transaction, statements, spans) beside one raw row.
    const one = corpus(2_000, 6_000_000)
    const singles = rowsOf(one, per * total)
    let os = 0
    let rs = 0
    await time("store (1/call), per call", [
      ["store", () => runtime.runPromise(backend.store(singles[os++]!))],
      ["raw row + vec0 float + FTS5, 1 txn", () => {
        const i = rs++
        raw.insert({ texts: [one.texts[i]!], vectors: [one.vectors[i]!] }, per * total + 10_000 + i)
      }]
    ], 20)
  }
  raw.db.close()
  await runtime.dispose()
}

const messageWrites = async (dir: string) => {
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  const store = await runtime.runPromise(WorkstreamStore.WorkstreamStore)
  const ws = await runtime.runPromise(store.create({ title: "append profile" }))
  const sessions = Array.from({ length: 8 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`)
  const batch = Array.from({ length: 100 }, (_, i) => ({
    role: "user" as const,
    content: `message ${i}: ` + "lorem ipsum dolor sit amet ".repeat(1 + (i % 5)),
    sessionId: sessions[i % sessions.length]!
  }))
  const logFile = join(dir, "workstreams", ws.id, "messages.jsonl")
  await runtime.runPromise(store.storeMessages(ws.id, batch))
  const batchBytes = readFileSync(logFile)
  const before = statSync(logFile).size
  await runtime.runPromise(store.storeMessage(ws.id, batch[0]!))
  const oneBytes = readFileSync(logFile).subarray(before)
  const floorFile = join(dir, "floor.jsonl")
  const rawAppend = async (bytes: Uint8Array) => {
    const fh = await fsp.open(floorFile, "a")
    try {
      await fh.write(bytes)
      await fh.sync()
    } finally {
      await fh.close()
    }
  }
  const indexDb = new Database(join(dir, "workstreams.db"))
  const rawIndex = indexDb.prepare(`INSERT INTO arawn_store_workstream_messages
      (ws_key, seq, byte_offset, byte_length, timestamp_ms, session_id)
    SELECT 999999, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4 FROM json_each(?) AS j`)
  const rawText = indexDb.prepare(`INSERT INTO arawn_store_workstream_message_text (rowid, content)
    SELECT (999999 << 32) | (j.value ->> 0), j.value ->> 5 FROM json_each(?) AS j`)
  let seq = 0
  if (only === undefined || only === "storeMessages") {
    await time("storeMessages x100 (fsync), per batch", [
      ["storeMessages", () => runtime.runPromise(store.storeMessages(ws.id, batch))],
      ["raw append + fsync + raw index and text rows", async () => {
        await rawAppend(batchBytes)
        const json = JSON.stringify(batch.map((m, i) => [++seq, seq * 300, 299, 1767225600000 + seq, sessions[i % 8], m.content]))
        rawText.run(json)
        rawIndex.run(json)
      }]
    ], 5)
  }
  if (only === undefined || only === "storeMessage") {
    await time("storeMessage (fsync), per call", [
      ["storeMessage", () => runtime.runPromise(store.storeMessage(ws.id, batch[0]!))],
      ["raw append + fsync", () => rawAppend(oneBytes)]
    ], 20)
  }
  indexDb.close()
  await runtime.dispose()
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-writes-"))
  try {
    if (only === undefined || only === "storeMany" || only === "store") await memoryWrites(dir)
    if (only === undefined || only.startsWith("storeMessage")) await messageWrites(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

await Effect.runPromise(Effect.promise(main))
