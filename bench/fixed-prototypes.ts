/**
 * Prototypes of cuts to the fixed cost of a memory call, measured outside the library on a 10-memory SQLite store:
 * `get` rebuilt step by step (the library's own statement, row schema and row conversion) with one cost removed at
 * a time, beside the full `get`, the raw row read and `runPromise(Effect.void)`; `Effect.fn` with and without its
 * span; a reader-thread round trip. Each saving is the difference between two rows of one run.
 *
 *   npx tsx --conditions=arawn-store:source bench/fixed-prototypes.ts
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import Database from "better-sqlite3"
import { DateTime, Effect, Layer, ManagedRuntime, Option, Schema } from "effect"
import * as Embedder from "../src/Embedder.js"
import { MemoryId } from "../src/Ids.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { decodeInput } from "../src/internal/decode.js"
import { all } from "../src/internal/sql.js"
import { MemoryRow, rowToMemory } from "../src/internal/sqliteMemory/schema.js"
import { performance } from "node:perf_hooks"
import { corpus, rowsOf } from "./memory-corpus.js"

const CALLS = 40
const BATCHES = 150
const WARMUP = 10

/**
 * Every entry's batches interleaved, one batch of each in turn, so load from other processes falls on all of them
 * alike; prints each entry's p50 and p10 over its batches, in microseconds per call.
 */
const compare = async (entries: ReadonlyArray<readonly [string, (i: number) => unknown]>) => {
  const samples = entries.map((): Array<number> => [])
  let i = 0
  for (let b = 0; b < WARMUP + BATCHES; b++) {
    for (const [k, [, call]] of entries.entries()) {
      const t0 = performance.now()
      for (let j = 0; j < CALLS; j++) await call(i++)
      if (b >= WARMUP) samples[k]!.push(((performance.now() - t0) / CALLS) * 1000)
    }
  }
  for (const [k, [name]] of entries.entries()) {
    const sorted = samples[k]!.sort((a, b) => a - b)
    const at = (p: number) => sorted[Math.floor(p * sorted.length)]!.toFixed(1).padStart(8)
    console.log(`${at(0.5)} us p50 ${at(0.1)} us p10  ${name}`)
  }
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-proto-"))
  const file = join(dir, "memory.db")
  const store = ManagedRuntime.make(SqliteMemory.layer({ filename: file }).pipe(Layer.provide(Embedder.layerHashing)))
  const client = ManagedRuntime.make(SqliteClient.layer({ filename: file }))
  const worker = new Worker(`require("node:worker_threads").parentPort.on("message", (m) => require("node:worker_threads").parentPort.postMessage(m))`, { eval: true })
  try {
    const backend = await store.runPromise(MemoryBackend)
    const ids = await store.runPromise(backend.storeMany(rowsOf(corpus(10, 4242), 0)))
    const sql = await client.runPromise(SqliteClient.SqliteClient)
    const raw = new Database(file, { readonly: true })
    const table = "arawn_store_memories"
    const text = `SELECT m.* FROM "${table}" m WHERE m.id IN (?)`
    const prepared = raw.prepare(text)
    const decodeId = decodeInput(MemoryId, "MemoryBackend.get")
    const decodeRows = Schema.decodeUnknown(Schema.Array(MemoryRow))
    const span = { attributes: { "arawn.backend": "sqlite" } }

    // The library's get, step by step: span, id decoding, the statement through @effect/sql, rows decoded by a
    // findAll built per call (as src/internal/sql.ts `all` does), the Memory, the clock.
    const statement = (id: MemoryId) => sql`SELECT m.* FROM ${sql(table)} m WHERE ${sql.in("m.id", [id])}`
    const asInSrc = Effect.fn("proto.get", span)(function*(rawId: MemoryId) {
      const rows = yield* all(MemoryRow, statement(yield* decodeId(rawId)))
      const now = yield* DateTime.now
      return Option.map(Option.fromNullable(rows[0]), rowToMemory).pipe(Option.filter(() => now.epochMillis > 0))
    })
    const cachedDecoder = Effect.fn("proto.get", span)(function*(rawId: MemoryId) {
      const rows = yield* Effect.flatMap(statement(yield* decodeId(rawId)), decodeRows)
      const now = yield* DateTime.now
      return Option.map(Option.fromNullable(rows[0]), rowToMemory).pipe(Option.filter(() => now.epochMillis > 0))
    })
    const sqlUntraced = Effect.fn("proto.get", span)(function*(rawId: MemoryId) {
      const rows = yield* Effect.flatMap(Effect.withTracerEnabled(statement(yield* decodeId(rawId)), false), decodeRows)
      const now = yield* DateTime.now
      return Option.map(Option.fromNullable(rows[0]), rowToMemory).pipe(Option.filter(() => now.epochMillis > 0))
    })
    const preparedStatement = Effect.fn("proto.get", span)(function*(rawId: MemoryId) {
      const id = yield* decodeId(rawId)
      const rows = yield* Effect.flatMap(Effect.sync(() => prepared.all(id)), decodeRows)
      const now = yield* DateTime.now
      return Option.map(Option.fromNullable(rows[0]), rowToMemory).pipe(Option.filter(() => now.epochMillis > 0))
    })
    const preparedUntraced = Effect.fnUntraced(function*(rawId: MemoryId) {
      const id = yield* decodeId(rawId)
      const rows = yield* Effect.flatMap(Effect.sync(() => prepared.all(id)), decodeRows)
      const now = yield* DateTime.now
      return Option.map(Option.fromNullable(rows[0]), rowToMemory).pipe(Option.filter(() => now.epochMillis > 0))
    })
    const decodeSync = Schema.decodeUnknownSync(Schema.Array(MemoryRow))
    const findAllPerCall = (rows: ReadonlyArray<unknown>) => all(MemoryRow, Effect.succeed(rows))
    const oneRow = prepared.all(ids[0]!)
    const run = <A, E>(e: Effect.Effect<A, E>) => client.runPromise(e)

    console.log(`get on a 10-memory store, per call (${BATCHES} interleaved batches of ${CALLS}):`)
    await compare([
      ["runPromise(Effect.void)", () => run(Effect.void)],
      ["raw prepared SELECT by id", (i) => prepared.all(ids[i % ids.length]!)],
      ["raw SELECT + cached Schema decode + rowToMemory (sync)", (i) => decodeSync(prepared.all(ids[i % ids.length]!)).map(rowToMemory)],
      ["findAll built per call on a given row (runPromise)", () => run(findAllPerCall(oneRow))],
      ["cached decoder on a given row (runPromise)", () => run(decodeRows(oneRow))],
      ["library get (MemoryBackend.get, readers 2)", (i) => store.runPromise(backend.get(ids[i % ids.length]!))],
      ["A: get as in src (Effect.fn span, @effect/sql, findAll per call)", (i) => run(asInSrc(ids[i % ids.length]!))],
      ["B: A with the row decoder built once", (i) => run(cachedDecoder(ids[i % ids.length]!))],
      ["C: B with the sql.execute span disabled", (i) => run(sqlUntraced(ids[i % ids.length]!))],
      ["D: B with a raw prepared statement in Effect.sync", (i) => run(preparedStatement(ids[i % ids.length]!))],
      ["E: D without the method span (Effect.fnUntraced)", (i) => run(preparedUntraced(ids[i % ids.length]!))]
    ])

    const traced = Effect.fn("proto.fn", span)(function*(n: number) {
      return n + 1
    })
    const tracedPlain = Effect.fn("proto.fn")(function*(n: number) {
      return n + 1
    })
    const untraced = Effect.fnUntraced(function*(n: number) {
      return n + 1
    })
    let next = 0
    const hop = Effect.async<unknown>((resume) => {
      const id = next++
      const onMessage = (m: { id: number }) => {
        if (m.id !== id) return
        worker.off("message", onMessage)
        resume(Effect.succeed(m))
      }
      worker.on("message", onMessage)
      worker.postMessage({ id, sql: text, params: [ids[0]] })
    })
    console.log(`\nEffect.fn and the reader hop, per call:`)
    await compare([
      ["runPromise(Effect.void)", () => run(Effect.void)],
      ["runPromise(Effect.fnUntraced)", (i) => run(untraced(i))],
      ["runPromise(Effect.fn with span attributes)", (i) => run(traced(i))],
      ["runPromise(Effect.fn without options)", (i) => run(tracedPlain(i))],
      ["runPromise(Effect.fn), tracer disabled", (i) => run(Effect.withTracerEnabled(traced(i), false))],
      ["runPromise(worker postMessage round trip, echo)", () => run(hop)]
    ])
    raw.close()
  } finally {
    await worker.terminate()
    await client.dispose()
    await store.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
