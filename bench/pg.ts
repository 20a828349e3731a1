/**
 * PostgreSQL benchmarks (and, from `pg-workstream.ts`, the Pg WorkstreamStore on the machine's PostgreSQL): the Pg
 * MemoryBackend's searches and `storeMany` beside raw SQL through `pg` on a plain table of the same rows, with the
 * same HNSW and GIN indexes, in the same run. With `--pg-url` the store and its floor run on that server (it needs
 * pgvector 0.8 or later; each run works in schemas of its own and drops them); without it, on PGlite (PostgreSQL +
 * pgvector in WASM, single-threaded, behind its socket server, reached over the wire as a real server is): read
 * PGlite's figures as ratios, not as a real server's times.
 *
 *   npx tsx --conditions=arawn-store:source bench/pg.ts [--quick] [--pg-url postgres://user@host/db]   (memory rows only)
 *   npm run bench -- --pg-url postgres://user@host/db                                                 (every area)
 */
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import pg from "pg"
import type { Client } from "pg"
import { Effect, Layer, ManagedRuntime, Redacted } from "effect"
import * as Embedder from "../src/Embedder.js"
import type { SearchMode } from "../src/Memory.js"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as PgMemory from "../src/MemoryBackend/Pg.js"
import { startPglite } from "../test/support/pglite.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { formatTable } from "./harness.js"
import { corpus, DIMS, mulberry32, rowsOf, sentence } from "./memory-corpus.js"
import { workstreamRows } from "./pg-workstream.js"

const AREA = "memory-pg"
const BATCH = 500

const literal = (v: Float32Array) => `[${Array.from(v).join(",")}]`

/** The server the rows run on: the one at `--pg-url`, or a PGlite started (and stopped) here. */
const serverOf = async (url: string | undefined) => {
  if (url !== undefined) return { url, stop: async () => undefined, pglite: false }
  const server = await startPglite()
  return { url: server.url, stop: server.stop, pglite: true }
}

/** The floor's table: the same ids, contents and vectors, indexed the way the store indexes them. */
export const createRaw = async (client: Client, schema: string) => {
  await client.query(`CREATE SCHEMA ${schema}`)
  await client.query(`CREATE TABLE ${schema}.mem (id text PRIMARY KEY, content text NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED, embedding vector(${DIMS}) NOT NULL)`)
  await client.query(`CREATE INDEX ON ${schema}.mem USING hnsw (embedding vector_cosine_ops)`)
  await client.query(`CREATE INDEX ON ${schema}.mem USING gin (tsv)`)
}

/** Fills our store (storeMany, precomputed embeddings) and the raw table with `n` memories; returns each side's ms. */
export const fill = async (runtime: ManagedRuntime.ManagedRuntime<MemoryBackend, unknown>, client: Client, raw: string, n: number) => {
  let oursMs = 0
  let rawMs = 0
  for (let offset = 0; offset < n; offset += BATCH) {
    const c = corpus(Math.min(BATCH, n - offset), 1000 + offset)
    const rows = rowsOf(c, offset)
    let t0 = performance.now()
    await runtime.runPromise(Effect.flatMap(MemoryBackend, (m) => m.storeMany(rows)))
    oursMs += performance.now() - t0
    t0 = performance.now()
    await client.query(`INSERT INTO ${raw}.mem (id, content, embedding) SELECT * FROM unnest($1::text[], $2::text[], $3::vector[])`, [
      rows.map((r) => r.id),
      c.texts,
      c.vectors.map(literal)
    ])
    rawMs += performance.now() - t0
  }
  return { oursMs, rawMs }
}

/** The raw floors: one HNSW query and one ranked GIN query, each `limit` deep. */
export const floors = (client: Client, raw: string, limit: number) => {
  const vector = (v: Float32Array) => client.query(`SELECT id FROM ${raw}.mem ORDER BY embedding <=> $1::vector LIMIT $2`, [literal(v), limit])
  const text = (q: string) =>
    client.query(
      `SELECT id FROM ${raw}.mem, websearch_to_tsquery('english', $1) query WHERE tsv @@ query
       ORDER BY ts_rank(tsv, query) DESC LIMIT $2`,
      [q.split(" ").join(" or "), limit]
    )
  return {
    vector: { name: "raw HNSW ORDER BY <=> LIMIT k", run: (_: string, v: Float32Array) => vector(v).then(() => undefined) },
    text: { name: "raw GIN @@, ts_rank ORDER BY LIMIT k", run: (q: string) => text(q).then(() => undefined) },
    hybrid: { name: "raw HNSW + raw GIN, back to back", run: async (q: string, v: Float32Array) => void [await vector(v), await text(q)] }
  }
}

const p50 = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const p95 = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!
const timing = (xs: Array<number>): Timing => ({ p50Ms: p50(xs), p95Ms: p95(xs), opsPerSec: 1000 / (xs.reduce((a, b) => a + b, 0) / xs.length) })

/** Each query through ours and through its floor in turn, so load from other processes falls on both alike. */
const sideBySide = async (
  ours: (i: number) => Promise<unknown>,
  floor: (i: number) => Promise<unknown>,
  calls: number
) => {
  const o: Array<number> = []
  const f: Array<number> = []
  for (let i = -5; i < calls; i++) {
    const q = ((i % calls) + calls) % calls
    let t0 = performance.now()
    await floor(q)
    const tf = performance.now() - t0
    t0 = performance.now()
    await ours(q)
    const to = performance.now() - t0
    if (i >= 0) (f.push(tf), o.push(to))
  }
  return { ours: timing(o), floor: timing(f) }
}

/** The memory rows: storeMany, then every search mode at limit 10 and 100, each beside its floor. */
export const memoryRows = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const n = options.quick ? 1_000 : 10_000
  const server = await serverOf(options.pgUrl)
  const client = new pg.Client({ connectionString: server.url })
  await client.connect()
  const version = String((await client.query("SELECT current_setting('server_version') AS v")).rows[0]?.v).split(" ")[0]
  const size = `${n / 1000}k x ${DIMS}d (${server.pglite ? "PGlite" : `PostgreSQL ${version}`})`
  const tag = `${process.pid}_${Math.floor(performance.timeOrigin) % 1_000_000}`
  const [schema, raw] = [`bench_memory_${tag}`, `bench_raw_${tag}`]
  const layer = PgMemory.layer({ url: Redacted.make(server.url), ...(server.pglite ? { maxConnections: 1 } : {}), schema }).pipe(
    Layer.provide(Embedder.layerHashing)
  )
  const runtime = ManagedRuntime.make(layer)
  try {
    await createRaw(client, raw)
    const filled = await fill(runtime, client, raw, n)
    // What autovacuum does after a bulk load, done now so both sides are measured in that state: statistics, the
    // visibility map (count(*) from an index) and the GIN indexes' pending lists merged (a search scans the list).
    for (const table of [`${raw}.mem`, `${schema}.arawn_store_memories`, `${schema}.arawn_store_memory_vectors_1`]) {
      await client.query(`VACUUM ANALYZE ${table}`)
    }
    const backend = await runtime.runPromise(MemoryBackend)
    const random = mulberry32(99)
    const queries = Array.from({ length: options.quick ? 20 : 60 }, () => sentence(random, 4 + Math.floor(random() * 6)))
    const vectors = await Effect.runPromise(Embedder.makeHashing().embed(queries))
    const rows: Array<BenchRow> = [{
      area: AREA,
      operation: `storeMany (${BATCH}/call)`,
      size,
      ours: { p50Ms: filled.oursMs / n, p95Ms: NaN, opsPerSec: n / (filled.oursMs / 1000) },
      floor: { name: "raw multi-row INSERT (unnest), HNSW + GIN", timing: { p50Ms: filled.rawMs / n, p95Ms: NaN, opsPerSec: n / (filled.rawMs / 1000) } },
      note: "per row; ours also writes tags, history and facts' keys in its transaction"
    }]
    for (const limit of [10, 100]) {
      const floor = floors(client, raw, limit)
      for (const mode of ["vector", "text", "hybrid"] as const satisfies ReadonlyArray<SearchMode>) {
        const t = await sideBySide(
          (i) => runtime.runPromise(backend.search(queries[i]!, { mode, limit })),
          (i) => floor[mode].run(queries[i]!, vectors[i]!),
          queries.length
        )
        rows.push({
          area: AREA,
          operation: `search ${mode} (limit ${limit})`,
          size,
          ours: t.ours,
          floor: { name: floor[mode].name, timing: t.floor },
          note: `${(t.ours.p50Ms / t.floor.p50Ms).toFixed(2)}x the floor's p50; ours embeds the query and proves the exact top k`
        })
      }
    }
    return rows
  } finally {
    await runtime.dispose()
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined)
    await client.query(`DROP SCHEMA IF EXISTS ${raw} CASCADE`).catch(() => undefined)
    await client.end().catch(() => undefined)
    await server.stop()
  }
}

/** The memory rows, then the workstream ones (which need no pgvector: they run on the machine's own PostgreSQL). */
export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => [...await memoryRows(options), ...await workstreamRows(options.quick)]

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const at = process.argv.indexOf("--pg-url")
  const pgUrl = at === -1 ? undefined : process.argv[at + 1]
  const rows = await memoryRows({ quick: process.argv.includes("--quick"), ...(pgUrl !== undefined ? { pgUrl } : {}) })
  console.log(formatTable(rows))
}
