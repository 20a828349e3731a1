/**
 * PostgreSQL benchmarks (and, from `pg-workstream.ts`, the Pg WorkstreamStore on the machine's PostgreSQL): the Pg MemoryBackend's searches on PGlite (PostgreSQL 18 + pgvector in WASM, behind its
 * socket server, reached over the wire as a real server is) beside raw SQL through `pg` on a plain table of the
 * same rows, with the same HNSW and GIN indexes. PGlite runs single-threaded in WASM: its figures are a lower
 * bound of a real server, and the ratios are what carries over.
 *
 *   npx tsx --conditions=arawn-store:source bench/pg.ts [--quick]
 */
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import pg from "pg"
import type { Client } from "pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as Embedder from "../src/Embedder.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as PgMemory from "../src/MemoryBackend/Pg.js"
import { startPglite } from "../test/support/pglite.js"
import type { BenchOptions, BenchRow } from "./harness.js"
import { formatTable, measure } from "./harness.js"
import { corpus, DIMS, mulberry32, rowsOf, sentence } from "./memory-corpus.js"
import { workstreamRows } from "./pg-workstream.js"

const AREA = "memory-pg"
const BATCH = 500

const literal = (v: Float32Array) => `[${Array.from(v).join(",")}]`

/** The floor's table: the same ids, contents and vectors, indexed the way the store indexes them. */
const createRaw = async (client: Client) => {
  await client.query("CREATE SCHEMA IF NOT EXISTS raw")
  await client.query(`CREATE TABLE raw.mem (id text PRIMARY KEY, content text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED, embedding vector(${DIMS}) NOT NULL)`)
  await client.query("CREATE INDEX ON raw.mem USING hnsw (embedding vector_cosine_ops)")
  await client.query("CREATE INDEX ON raw.mem USING gin (tsv)")
}

/** Fills our store (storeMany, precomputed embeddings) and the raw table with `n` memories; returns each side's seconds. */
const fill = async (runtime: ManagedRuntime.ManagedRuntime<MemoryBackend, unknown>, client: Client, n: number) => {
  let oursMs = 0
  let rawMs = 0
  for (let offset = 0; offset < n; offset += BATCH) {
    const c = corpus(Math.min(BATCH, n - offset), 1000 + offset)
    const rows = rowsOf(c, offset)
    let t0 = performance.now()
    await runtime.runPromise(Effect.flatMap(MemoryBackend, (m) => m.storeMany(rows)))
    oursMs += performance.now() - t0
    t0 = performance.now()
    await client.query("INSERT INTO raw.mem (id, content, embedding) SELECT * FROM unnest($1::text[], $2::text[], $3::vector[])", [
      rows.map((r) => r.id),
      c.texts,
      c.vectors.map(literal)
    ])
    rawMs += performance.now() - t0
  }
  return { oursMs, rawMs }
}

const raw = (client: Client, limit: number) => ({
  vector: (v: Float32Array) =>
    client.query("SELECT id FROM raw.mem ORDER BY embedding <=> $1::vector LIMIT $2", [literal(v), limit]),
  text: (q: string) =>
    client.query(
      `SELECT id FROM raw.mem, websearch_to_tsquery('english', $1) query WHERE tsv @@ query
       ORDER BY ts_rank(tsv, query) DESC LIMIT $2`,
      [q.split(" ").join(" or "), limit]
    )
})

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const n = options.quick ? 1_000 : 20_000
  const size = `${n / 1000}k x ${DIMS}d (PGlite)`
  const server = await startPglite()
  const client = new pg.Client({ connectionString: server.url })
  const layer = PgMemory.layer({ url: Redacted.make(server.url), maxConnections: 1, schema: "bench" }).pipe(
    Layer.provide(Embedder.layerHashing)
  )
  const runtime = ManagedRuntime.make(layer)
  try {
    await client.connect()
    await createRaw(client)
    const filled = await fill(runtime, client, n)
    const backend = await runtime.runPromise(MemoryBackend)
    const random = mulberry32(99)
    const queries = Array.from({ length: options.quick ? 20 : 50 }, () => sentence(random, 4 + Math.floor(random() * 6)))
    const vectors = await Effect.runPromise(Embedder.makeHashing().embed(queries))
    const floor = raw(client, 10)
    const rows: Array<BenchRow> = [{
      area: AREA,
      operation: `storeMany (${BATCH}/call)`,
      size,
      ours: { p50Ms: filled.oursMs / n, p95Ms: NaN, opsPerSec: n / (filled.oursMs / 1000) },
      floor: { name: "raw INSERT ... unnest, one statement", timing: { p50Ms: filled.rawMs / n, p95Ms: NaN, opsPerSec: n / (filled.rawMs / 1000) } },
      note: "per row; ours also writes tags, history and facts' keys in its transaction"
    }]
    const floors = {
      vector: { name: "raw HNSW ORDER BY <=> (query vector given)", run: (i: number) => floor.vector(vectors[i]!) },
      text: { name: "raw GIN @@ + ts_rank", run: (i: number) => floor.text(queries[i]!) },
      hybrid: { name: "raw HNSW + raw GIN, back to back", run: async (i: number) => [await floor.vector(vectors[i]!), await floor.text(queries[i]!)] }
    }
    for (const mode of ["vector", "text", "hybrid"] as const) {
      let qi = 0
      const f = await measure(() => floors[mode].run(qi++ % queries.length), { batches: queries.length })
      qi = 0
      const ours = await measure(
        () => runtime.runPromise(backend.search(queries[qi++ % queries.length]!, { mode, limit: 10 })),
        { batches: queries.length }
      )
      rows.push({
        area: AREA,
        operation: `search ${mode} (limit 10)`,
        size,
        ours,
        floor: { name: floors[mode].name, timing: f },
        note: `${(ours.p50Ms / f.p50Ms).toFixed(2)}x the floor's p50; ours embeds the query and ranks 200 deep`
      })
    }
    // The workstream store needs no pgvector: it runs on the machine's own PostgreSQL.
    return [...rows, ...await workstreamRows(options.quick)]
  } finally {
    await runtime.dispose()
    await client.end().catch(() => undefined)
    await server.stop()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = await run({ quick: process.argv.includes("--quick") })
  console.log(formatTable(rows))
}
