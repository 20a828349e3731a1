/**
 * The PostgreSQL MemoryBackend against real PostgreSQL with pgvector, reached over the wire: always on PGlite
 * (PostgreSQL 18 + pgvector 0.8 in WASM) behind its socket server, started by this file; and, beside it, on the
 * server `ARAWN_PG_VECTOR_URL` names, or else on the machine's own (127.0.0.1:5432, database `test`) when it offers
 * pgvector. Each suite's title names the server it ran on.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { MemoryBackendModel, MemoryBackendSuite } from "arawn-store/testing"
import * as PgMemory from "../src/MemoryBackend/Pg.js"
import { token } from "../src/testing/internal.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"
import { dropSchemas, vectorServer } from "./support/pgVector.js"
import { expectRestored, fillNamespace } from "./support/memoryPurge.js"
import { pgModelOps } from "./support/modelOps.js"

const machine = await vectorServer()
if (typeof machine === "string") console.info(`MemoryBackend/Pg runs on PGlite only: ${machine}`)

let server: PgliteServer | undefined
beforeAll(async () => {
  server = await startPglite()
}, 120_000)

/** Where the suites run: the URL is read when a layer is built (PGlite's server starts in beforeAll). */
interface Target {
  readonly name: string
  readonly url: () => string
  readonly maxConnections: number
  /** The schemas made on it, dropped when the file ends unless its whole data directory goes (PGlite's). */
  readonly schemas: Array<string>
  readonly drop: boolean
}

// PGlite is a single PostgreSQL session that runs one statement at a time: more connections per layer only queue
// (the suites' layers still use the server at the same time, see pglite-server.mjs).
const targets: ReadonlyArray<Target> = [
  { name: "PGlite", url: () => server!.url, maxConnections: 1, schemas: [], drop: false },
  ...(typeof machine === "string" ? [] : [{ name: machine.name, url: () => machine.url, maxConnections: 4, schemas: [], drop: true }])
]

afterAll(async () => {
  for (const t of targets) if (t.drop && t.schemas.length > 0) await dropSchemas(t.url(), t.schemas)
  await server?.stop()
}, 60_000)

const freshSchema = (target: Target) => {
  const schema = `t_${token()}`
  target.schemas.push(schema)
  return schema
}

/** Vector reads on another embedder's store, and the reindex that moves it over. */
const embeddingSpaceCase = (target: Target) =>
  describe(`MemoryBackend/Pg (${target.name}) embedding space`, () => {
    it.effect("another embedder: vector paths refuse with EmbeddingSpaceMismatch until reindex, which then clears it", () =>
      Effect.gen(function*() {
        const schema = freshSchema(target)
        const at = (embedder: Layer.Layer<Embedder.Embedder>) =>
          PgMemory.layer({ url: Redacted.make(target.url()), maxConnections: target.maxConnections, schema }).pipe(Layer.provide(embedder))
        const ids = yield* Effect.provide(
          Effect.flatMap(MemoryBackend.MemoryBackend, (m) => m.storeMany(Array.from({ length: 20 }, (_, i) => ({ content: `entry ${i} topic ${i % 3}` })))),
          at(Embedder.layerHashing)
        )
        yield* Effect.provide(Effect.gen(function*() {
          const m = yield* MemoryBackend.MemoryBackend
          expect((yield* Effect.flip(m.search("entry 3", { mode: "vector" })))._tag).toBe("EmbeddingSpaceMismatch")
          expect((yield* m.search("entry", { mode: "text", limit: 50 })).length).toBe(20)
          expect((yield* m.stats()).stale).toBe(true)
          const done = yield* Stream.runLast(m.reindex())
          expect(Option.getOrThrow(done).done).toBe(20)
          const st = yield* m.stats()
          expect(st.stale).toBe(false)
          expect(st.vectors).toBe(20)
          const hit = yield* m.search("entry 3 topic 0", { mode: "vector", limit: 1 })
          expect(hit[0]!.memory.id).toBe(ids[3])
        }), at(Embedder.layerHashingWith({ dimensions: 64 })))
      }), 120_000)
  })

const Tables = Schema.Array(Schema.Struct({ name: Schema.String }))
const Counted = Schema.Array(Schema.Struct({ n: Schema.Number }))

/** The row count of every table in `schema` (from information_schema, so a table added later is counted too). */
const tableCounts = (schema: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const tables = yield* Effect.flatMap(
      sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`,
      Schema.decodeUnknown(Tables)
    )
    const counts = new Map<string, number>()
    for (const t of tables) {
      const n = yield* Effect.flatMap(sql`SELECT CAST(count(*) AS integer) AS n FROM ${sql(`${schema}.${t.name}`)}`, Schema.decodeUnknown(Counted))
      counts.set(t.name, n[0]!.n)
    }
    return counts
  })

/** Purge leaves no row of the purged namespaces in any table of the store's schema (tsvector and pgvector included). */
const purgeCase = (target: Target) =>
  describe(`MemoryBackend/Pg (${target.name}) purge`, () => {
    it.effect("every table is back to its row count from before the purged namespaces were filled", () =>
      Effect.gen(function*() {
        const schema = freshSchema(target)
        const client = PgClient.layer({ url: Redacted.make(target.url()), maxConnections: target.maxConnections })
        yield* Effect.provide(Effect.gen(function*() {
          const m = yield* MemoryBackend.MemoryBackend
          yield* fillNamespace(m, "keep", 30, "kept")
          yield* fillNamespace(m, "gone-not", 5, "kept")
          const before = yield* tableCounts(schema)
          const purged = (yield* fillNamespace(m, "gone", 60, token())) + (yield* fillNamespace(m, "gone/below", 10, token()))
          const filled = yield* tableCounts(schema)
          expect(yield* m.purge("gone", { batchSize: 16 })).toBe(purged)
          const after = yield* tableCounts(schema)
          const grown = expectRestored(before, filled, after)
          expect(grown.sort()).toEqual(["arawn_store_memories", "arawn_store_memory_events", "arawn_store_memory_tags", "arawn_store_memory_vectors_1"])
          expect(filled.get("arawn_store_memories")! - after.get("arawn_store_memories")!).toBe(purged)
          expect(yield* m.purge("gone")).toBe(0)
        }), PgMemory.layerClient({ schema }).pipe(Layer.provide(Embedder.layerHashing), Layer.provideMerge(client)))
      }), 120_000)
  })

for (const target of targets) {
  /** A layer on the target, in a schema of its own (built lazily). */
  const on = (options: PgMemory.Options = {}, embedder = Embedder.layerHashing) =>
    Layer.unwrapEffect(Effect.sync(() =>
      PgMemory.layer({ url: Redacted.make(target.url()), maxConnections: target.maxConnections, schema: freshSchema(target), ...options })
    )).pipe(Layer.provide(embedder))

  MemoryBackendSuite.suite(`MemoryBackend/Pg (${target.name})`, on(), { withOptions: (options) => on(options) })
  MemoryBackendSuite.suite(`MemoryBackend/Pg (${target.name}, HNSW only)`, on({ exactScanLimit: 0 }), {
    withOptions: (options) => on({ exactScanLimit: 0, ...options })
  })
  MemoryBackendModel.suite(`MemoryBackend/Pg (${target.name}) model`, on(), { operations: pgModelOps() })
  embeddingSpaceCase(target)
  purgeCase(target)
}
