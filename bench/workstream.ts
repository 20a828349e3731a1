/**
 * WorkstreamStore/Local benchmarks, each beside its raw floor measured in the same run:
 * - `loadMessages(limit 50)` on a 1,000,000-message log and on a 1,000-message log (O(limit): the two should match),
 *   against raw better-sqlite3 on the same index + one positioned read + JSON.parse;
 * - `storeMessages` in batches of 100 and `storeMessage`, against raw open/append/fsync/close of the same bytes, and
 *   against the same design in raw calls (that append, then the index and text rows with raw better-sqlite3);
 * - RSS of a fresh child process that opens the store and reads the tail of the big log;
 * - `searchMessages` and `fork`, from `workstream-search.ts`;
 * - fork with copy against a branch, and tail reads on branches, from `workstream-tree.ts`.
 * The big log is written directly as JSONL in large chunks and indexed with `rebuildIndex`; it is cached under
 * `bench/results/` (git-ignored) between runs. `--quick` uses a 100,000-message log.
 *
 * Run alone: `npx tsx bench/workstream.ts [--quick]`.
 */
import { execFileSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
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
import { run as runSearch } from "./workstream-search.js"
import { run as runTree } from "./workstream-tree.js"

interface RawStatement {
  all(...params: ReadonlyArray<unknown>): Array<{ readonly seq: number; readonly byte_offset: number; readonly byte_length: number }>
  run(...params: ReadonlyArray<unknown>): unknown
}
interface RawDatabase {
  prepare(sql: string): RawStatement
  close(): void
}
const require = createRequire(import.meta.url)
const Database: new(file: string, options?: { readonly readonly?: boolean }) => RawDatabase = require("better-sqlite3")

const HERE = fileURLToPath(new URL(".", import.meta.url))
const RESULTS = join(HERE, "results", "workstream")
const BIG = WorkstreamId.make("bench_big")
const SMALL = WorkstreamId.make("bench_small")
// Fixed, so a cached log and a later run agree on which sessions exist.
const SESSIONS = Array.from({ length: 8 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`)

/** One line in the original's format, ~250 bytes. */
const line = (wsId: string, i: number, at: number) =>
  JSON.stringify({
    id: randomUUID(),
    workstream_id: wsId,
    session_id: i % 3 === 0 ? null : SESSIONS[i % SESSIONS.length],
    role: i % 2 === 0 ? "user" : "assistant",
    content: `message ${i}: ` + "lorem ipsum dolor sit amet ".repeat(1 + (i % 5)),
    timestamp: new Date(at + i * 1000).toISOString()
  }) + "\n"

/** Writes `count` lines straight into the log in 8 MB chunks. */
const writeLog = (file: string, wsId: string, count: number) => {
  const start = Date.UTC(2026, 0, 1)
  let parts: Array<string> = []
  let size = 0
  for (let i = 0; i < count; i++) {
    const l = line(wsId, i, start)
    parts.push(l)
    size += l.length
    if (size > 8_000_000) {
      appendFileSync(file, parts.join(""))
      parts = []
      size = 0
    }
  }
  appendFileSync(file, parts.join(""))
}

const single = (ms: number, ops: number): Timing => ({ p50Ms: ms, p95Ms: ms, opsPerSec: ops / (ms / 1000) })

const timing = (samples: Array<number>): Timing => {
  samples.sort((a, b) => a - b)
  const at = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!
  return { p50Ms: at(0.5), p95Ms: at(0.95), opsPerSec: samples.length / (samples.reduce((a, b) => a + b, 0) / 1000) }
}

/**
 * Times `ours` and `floor` in alternating rounds, so load from other processes on this shared machine drifts over
 * both alike and their ratio stays meaningful.
 */
const measurePair = async (
  ours: () => Promise<unknown>,
  floor: () => Promise<unknown>,
  options: { readonly total: number; readonly rounds?: number; readonly warmup?: number }
): Promise<readonly [Timing, Timing]> => {
  for (let i = 0; i < (options.warmup ?? 10); i++) {
    await ours()
    await floor()
  }
  const rounds = options.rounds ?? 10
  const per = Math.max(1, Math.round(options.total / rounds))
  const a: Array<number> = []
  const b: Array<number> = []
  for (let r = 0; r < rounds; r++) {
    for (const [run, into] of [[ours, a], [floor, b]] as const) {
      for (let i = 0; i < per; i++) {
        const t0 = performance.now()
        await run()
        into.push(performance.now() - t0)
      }
    }
  }
  return [timing(a), timing(b)]
}

/** A store directory holding `bench_big` (`bigCount` messages) and `bench_small` (1,000), built once and cached. */
const prepare = async (bigCount: number): Promise<{ readonly dir: string; readonly rebuild?: Timing }> => {
  const dir = join(RESULTS, `log-${bigCount}`)
  const marker = join(dir, "ready-v3.json")
  if (existsSync(marker)) return { dir }
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  try {
    let rebuild: Timing | undefined
    for (const [id, count] of [[SMALL, 1000], [BIG, bigCount]] as const) {
      await runtime.runPromise(Effect.flatMap(WorkstreamStore, (s) => s.create({ id, title: id })))
      mkdirSync(join(dir, "workstreams", id), { recursive: true })
      writeLog(join(dir, "workstreams", id, "messages.jsonl"), id, count)
      const t0 = performance.now()
      const report = await runtime.runPromise(Local.rebuildIndex(id))
      if (report.indexed !== count) throw new Error(`indexed ${report.indexed} of ${count}`)
      if (id === BIG) rebuild = single(performance.now() - t0, count)
    }
    writeFileSync(marker, JSON.stringify({ bigCount }))
    return rebuild === undefined ? { dir } : { dir, rebuild }
  } finally {
    await runtime.dispose()
  }
}

/** The raw floor of a tail read: the same index query, one positioned read, JSON.parse of each line. */
const rawTail = (dir: string) => {
  const db = new Database(join(dir, "workstreams.db"), { readonly: true })
  const keyOf = db.prepare("SELECT key AS seq, 0 AS byte_offset, 0 AS byte_length FROM arawn_store_workstreams WHERE id = ?")
  const tail = db.prepare(
    "SELECT seq, byte_offset, byte_length FROM arawn_store_workstream_messages WHERE ws_key = ? ORDER BY seq DESC LIMIT ?"
  )
  const bySession = db.prepare(
    "SELECT seq, byte_offset, byte_length FROM arawn_store_workstream_messages INDEXED BY arawn_store_workstream_messages_session WHERE ws_key = ? AND session_id = ? ORDER BY seq DESC LIMIT ?"
  )
  const read = async (id: string, limit: number, session?: string) => {
    const key = keyOf.all(id)[0]!.seq
    const rows = (session === undefined ? tail.all(key, limit) : bySession.all(key, session, limit)).reverse()
    const fh = await fsp.open(join(dir, "workstreams", id, "messages.jsonl"), "r")
    try {
      const out: Array<unknown> = []
      if (session === undefined) {
        const first = rows[0]!
        const last = rows[rows.length - 1]!
        const size = last.byte_offset + last.byte_length - first.byte_offset
        const buf = Buffer.allocUnsafe(size)
        await fh.read(buf, 0, size, first.byte_offset)
        for (const r of rows) out.push(JSON.parse(buf.toString("utf8", r.byte_offset - first.byte_offset, r.byte_offset - first.byte_offset + r.byte_length)))
      } else {
        for (const r of rows) {
          const buf = Buffer.allocUnsafe(r.byte_length)
          await fh.read(buf, 0, r.byte_length, r.byte_offset)
          out.push(JSON.parse(buf.toString("utf8")))
        }
      }
      return out
    } finally {
      await fh.close()
    }
  }
  return { read, close: () => db.close() }
}

/**
 * RSS of a fresh process that opens the store and reads the tail of the big log. The child runs as one bundled
 * file (esbuild, tsx's compiler) so the TypeScript loader's own memory is not counted; falls back to tsx.
 */
const rssOfTailRead = async (dir: string) => {
  const script = join(HERE, "workstream-rss.ts")
  const child = (args: ReadonlyArray<string>) =>
    JSON.parse(execFileSync(process.execPath, args, { cwd: join(HERE, ".."), encoding: "utf8" }).trim().split("\n").pop()!) as {
      readonly rssMb: number
      readonly maxRssMb: number
      readonly messages: number
    }
  const underTsx = child(["--import", "tsx", script, dir, BIG])
  let bundled: ReturnType<typeof child> | undefined
  try {
    const esbuild = await import("esbuild")
    const outfile = join(RESULTS, "workstream-rss.mjs")
    await esbuild.build({ entryPoints: [script], bundle: true, platform: "node", format: "esm", outfile, external: ["better-sqlite3"], logLevel: "silent" })
    bundled = child([outfile, dir, BIG])
  } catch {
    // esbuild is tsx's compiler; without it only the tsx figure is reported
  }
  const bare = child(["-e", "const rss = process.memoryUsage().rss / 1048576; console.log(JSON.stringify({ rssMb: rss, maxRssMb: rss, messages: 0 }))"])
  return { underTsx, bundled, bareMb: bare.maxRssMb }
}

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const bigCount = options.quick ? 100_000 : 1_000_000
  const bigLabel = options.quick ? "100k msgs" : "1M msgs"
  const rows: Array<BenchRow> = []
  const { dir, rebuild } = await prepare(bigCount)
  if (rebuild !== undefined) {
    rows.push({ area: "workstream", operation: "rebuildIndex (per message)", size: bigLabel, ours: rebuild, note: `${(rebuild.p50Ms / 1000).toFixed(1)} s for the log` })
  }

  const runtime = ManagedRuntime.make(Local.layer({ dir }))
  const raw = rawTail(dir)
  try {
    const store = await runtime.runPromise(WorkstreamStore)
    const batches = options.quick ? 200 : 1000
    const load = (id: WorkstreamId, session?: string) => () =>
      runtime.runPromise(store.loadMessages(id, { limit: 50, ...(session !== undefined ? { sessionId: session } : {}) }))
    const check = await load(BIG)()
    if (check.length !== 50 || check[49]!.seq !== bigCount) throw new Error("unexpected tail")

    const [bigTail, bigFloor] = await measurePair(load(BIG), () => raw.read(BIG, 50), { total: batches, warmup: 50 })
    const [smallTail, smallFloor] = await measurePair(load(SMALL), () => raw.read(SMALL, 50), { total: batches, warmup: 50 })
    const [bigSession, bigSessionFloor] = await measurePair(load(BIG, SESSIONS[1]), () => raw.read(BIG, 50, SESSIONS[1]), {
      total: batches,
      warmup: 50
    })
    rows.push({
      area: "workstream",
      operation: "loadMessages limit 50",
      size: bigLabel,
      ours: bigTail,
      floor: { name: "raw sqlite + pread + JSON.parse", timing: bigFloor },
      note: `p50 ${(bigTail.p50Ms / smallTail.p50Ms).toFixed(2)}x the 1k log`
    })
    rows.push({
      area: "workstream",
      operation: "loadMessages limit 50",
      size: "1k msgs",
      ours: smallTail,
      floor: { name: "raw sqlite + pread + JSON.parse", timing: smallFloor }
    })
    rows.push({
      area: "workstream",
      operation: "loadMessages limit 50 sessionId",
      size: bigLabel,
      ours: bigSession,
      floor: { name: "raw sqlite + pread + JSON.parse", timing: bigSessionFloor }
    })

    // Appends go to a fresh store on the same disk; the floor writes the same bytes the store wrote.
    const appendDir = mkdtempSync(join(RESULTS, "append-"))
    const appendRuntime = ManagedRuntime.make(Local.layer({ dir: appendDir }))
    try {
      const appender = await appendRuntime.runPromise(WorkstreamStore)
      const ws = await appendRuntime.runPromise(appender.create({ title: "append bench" }))
      const batch = Array.from({ length: 100 }, (_, i) => ({
        role: "user" as const,
        content: `message ${i}: ` + "lorem ipsum dolor sit amet ".repeat(1 + (i % 5)),
        sessionId: SESSIONS[i % SESSIONS.length]!
      }))
      const appendBatches = options.quick ? 60 : 300
      const warmup = 10
      const logFile = join(appendDir, "workstreams", ws.id, "messages.jsonl")
      // One batch's bytes as the store writes them, for the floors to write the same.
      await appendRuntime.runPromise(appender.storeMessages(ws.id, batch))
      const batchBytes = readFileSync(logFile)
      const floorFile = join(appendDir, "floor.jsonl")
      const rawAppend = (bytes: Buffer) => async () => {
        const fh = await fsp.open(floorFile, "a")
        try {
          await fh.write(bytes)
          await fh.sync()
        } finally {
          await fh.close()
        }
      }
      // The design's own floor: the same append + fsync, then the same index rows inserted with raw better-sqlite3.
      const indexDb = new Database(join(appendDir, "workstreams.db"))
      const rawInsert = indexDb.prepare(`INSERT INTO arawn_store_workstream_messages
          (ws_key, seq, byte_offset, byte_length, timestamp_ms, session_id)
        SELECT 999999, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4 FROM json_each(?) AS j`)
      let rawSeq = 0
      // The store also indexes each message's text for searchMessages, so the floor does too.
      const rawText = indexDb.prepare(`INSERT INTO arawn_store_workstream_message_text (rowid, content)
        SELECT (999999 << 32) | (j.value ->> 0), j.value ->> 5 FROM json_each(?) AS j`)
      const rawAppendAndIndex = async () => {
        await rawAppend(batchBytes)()
        const entries = Array.from({ length: 100 }, (_, i) => [++rawSeq, rawSeq * 300, 299, 1767225600000 + rawSeq, SESSIONS[i % 8], batch[i]!.content])
        const json = JSON.stringify(entries)
        rawText.run(json)
        rawInsert.run(json)
      }
      const storeBatch = () => appendRuntime.runPromise(appender.storeMessages(ws.id, batch))
      const [storeMany, storeManyFloor] = await measurePair(storeBatch, rawAppend(batchBytes), { total: appendBatches, warmup })
      const [storeMany2, storeManyIndexFloor] = await measurePair(storeBatch, rawAppendAndIndex, { total: appendBatches, warmup })
      rows.push({
        area: "workstream",
        operation: "storeMessages x100 (fsync)",
        size: `${(batchBytes.length / 1024).toFixed(0)} KB/batch`,
        ours: storeMany,
        floor: { name: "raw appendFile + fsync", timing: storeManyFloor },
        note: "one op = one batch"
      })
      rows.push({
        area: "workstream",
        operation: "storeMessages x100 (fsync)",
        size: `${(batchBytes.length / 1024).toFixed(0)} KB/batch`,
        ours: storeMany2,
        floor: { name: "raw append + fsync + raw sqlite index insert", timing: storeManyIndexFloor },
        note: "same design in raw calls"
      })
      const one = batch[0]!
      const before = statSync(logFile).size
      await appendRuntime.runPromise(appender.storeMessage(ws.id, one))
      const oneBytes = readFileSync(logFile).subarray(before)
      const [storeOne, storeOneFloor] = await measurePair(
        () => appendRuntime.runPromise(appender.storeMessage(ws.id, one)),
        rawAppend(oneBytes),
        { total: appendBatches, warmup }
      )
      // The design's floor for one message: its append + fsync, then its index and text rows with raw better-sqlite3.
      const rawAppendAndIndexOne = async () => {
        await rawAppend(oneBytes)()
        const json = JSON.stringify([[++rawSeq, rawSeq * 300, 299, 1767225600000 + rawSeq, SESSIONS[0], one.content]])
        rawText.run(json)
        rawInsert.run(json)
      }
      const [storeOne2, storeOneIndexFloor] = await measurePair(
        () => appendRuntime.runPromise(appender.storeMessage(ws.id, one)),
        rawAppendAndIndexOne,
        { total: appendBatches, warmup }
      )
      indexDb.close()
      rows.push({
        area: "workstream",
        operation: "storeMessage (fsync)",
        size: `${oneBytes.length} B`,
        ours: storeOne,
        floor: { name: "raw appendFile + fsync", timing: storeOneFloor }
      })
      rows.push({
        area: "workstream",
        operation: "storeMessage (fsync)",
        size: `${oneBytes.length} B`,
        ours: storeOne2,
        floor: { name: "raw append + fsync + raw sqlite index insert", timing: storeOneIndexFloor },
        note: "same design in raw calls"
      })
      if (statSync(floorFile).size === 0) throw new Error("floor wrote nothing")
    } finally {
      await appendRuntime.dispose()
      rmSync(appendDir, { recursive: true, force: true })
    }
  } finally {
    raw.close()
    await runtime.dispose()
  }

  const rss = await rssOfTailRead(dir)
  rows.push(...await runSearch(options))
  rows.push(...await runTree(options))
  rows.push({
    area: "workstream",
    operation: "RSS: open + tail reads (child)",
    size: bigLabel,
    ours: single(0, 0),
    note: `peak RSS ${rss.bundled === undefined ? "-" : rss.bundled.maxRssMb.toFixed(0)} MB bundled, ` +
      `${rss.underTsx.maxRssMb.toFixed(0)} MB under tsx; bare node ${rss.bareMb.toFixed(0)} MB; ${rss.underTsx.messages} msgs read`
  })
  return rows
}

runIfMain(import.meta.url, run)
