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
import * as SqlSchema from "@effect/sql/SqlSchema"
import Database from "better-sqlite3"
import { DateTime, Effect, Layer, ManagedRuntime, Option, Schema } from "effect"
import * as Embedder from "../src/Embedder.js"
import { MemoryId } from "../src/Ids.js"
import { SearchOptions } from "../src/Memory.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { decodeInput } from "../src/internal/decode.js"
import { MemoryRow, rowToMemory } from "../src/internal/sqliteMemory/schema.js"
import { interleaved } from "./interleaved.js"
import type { Entries } from "./interleaved.js"
import { corpus, rowsOf, wordQueries } from "./memory-corpus.js"

const CALLS = 40
const BATCHES = 150
const compare = (entries: Entries, { batches = BATCHES, calls = CALLS } = {}) => interleaved(entries, { batches, calls })

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

    // The library's get as it was, step by step: span, id decoding, the statement through @effect/sql, rows decoded
    // by a findAll built per call, the Memory, the clock.
    const all = <A, I, E>(Result: Schema.Schema<A, I>, statement: Effect.Effect<ReadonlyArray<unknown>, E>) =>
      SqlSchema.findAll({ Request: Schema.Void, Result, execute: () => statement })(undefined)
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
      ["A: get as it was in src (Effect.fn span, @effect/sql, findAll per call)", (i) => run(asInSrc(ids[i % ids.length]!))],
      ["B: A with the row decoder built once", (i) => run(cachedDecoder(ids[i % ids.length]!))],
      ["C: B with the sql.execute span disabled", (i) => run(sqlUntraced(ids[i % ids.length]!))],
      ["D: B with a raw prepared statement in Effect.sync", (i) => run(preparedStatement(ids[i % ids.length]!))],
      ["E: D without the method span (Effect.fnUntraced)", (i) => run(preparedUntraced(ids[i % ids.length]!))],
      ["F: E inside withSpan(captureStackTrace: false): D's span without Effect.fn's stack capture", (i) =>
        run(Effect.withSpan(preparedUntraced(ids[i % ids.length]!), "proto.get", { ...span, captureStackTrace: false }))]
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
    const decodeSearch = decodeInput(SearchOptions, "MemoryBackend.search")
    const options = { mode: "text", limit: 10 } as const
    console.log(`\nOne statement, one decode, Effect.fn and the reader hop, per call:`)
    await compare([
      ["runPromise(Effect.void)", () => run(Effect.void)],
      ["runPromise(sql`SELECT by id` through @effect/sql, rows undecoded)", (i) => run(statement(ids[i % ids.length]!))],
      ["runPromise(the same, tracer disabled)", (i) => run(Effect.withTracerEnabled(statement(ids[i % ids.length]!), false))],
      ["runPromise(sql.unsafe(fixed text, [id]))", (i) => run(sql.unsafe(text, [ids[i % ids.length]!]))],
      ["runPromise(Effect.sync(prepared.all(id)))", (i) => run(Effect.sync(() => prepared.all(ids[i % ids.length]!)))],
      ["runPromise(decode MemoryId input)", (i) => run(decodeId(ids[i % ids.length]!))],
      ["runPromise(decode SearchOptions input)", () => run(decodeSearch(options))],
      ["runPromise(DateTime.now)", () => run(DateTime.now)],
      ["runPromise(Effect.fnUntraced)", (i) => run(untraced(i))],
      ["runPromise(Effect.fn with span attributes)", (i) => run(traced(i))],
      ["runPromise(Effect.fn without options)", (i) => run(tracedPlain(i))],
      ["runPromise(Effect.fn), tracer disabled", (i) => run(Effect.withTracerEnabled(traced(i), false))],
      ["runPromise(withSpan(fnUntraced, captureStackTrace: false))", (i) =>
        run(Effect.withSpan(untraced(i), "proto.fn", { ...span, captureStackTrace: false }))],
      ["runPromise(worker postMessage round trip, echo)", () => run(hop)]
    ])
    const direct = ManagedRuntime.make(SqliteMemory.layer({ filename: file, readers: 0 }).pipe(Layer.provide(Embedder.layerHashing)))
    const backend0 = await direct.runPromise(MemoryBackend)
    const queries = wordQueries(corpus(10, 4242).texts)
    console.log(`\nsearch (limit 10) with reader threads and without, per call (60 interleaved batches of 5):`)
    await compare([
      ["runPromise(Effect.void)", () => run(Effect.void)],
      ["library get", (i) => store.runPromise(backend.get(ids[i % ids.length]!))],
      ...(["text", "vector", "hybrid"] as const).flatMap((mode) => [
        [`search ${mode}, readers 2`, (i: number) => store.runPromise(backend.search(queries[i % queries.length]!, { mode, limit: 10 }))] as const,
        [`search ${mode}, readers 0`, (i: number) => direct.runPromise(backend0.search(queries[i % queries.length]!, { mode, limit: 10 }))] as const
      ])
    ], { batches: 60, calls: 5 })
    await direct.dispose()
    raw.close()
  } finally {
    await worker.terminate()
    await client.dispose()
    await store.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
