/**
 * `purge` on the SQLite store, table by table: every table of the file (found in sqlite_master, so a table added
 * later is covered too; FTS5 and vec0 shadow tables included) is back to its row count from before the purged
 * namespaces were filled, the text index's vocabulary is the same term for term, and with incremental auto_vacuum
 * the freed pages leave the file.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, ManagedRuntime, Schema } from "effect"
import { Embedder } from "arawn-store"
import { MemoryBackend } from "../src/MemoryBackend.js"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { token } from "../src/testing/internal.js"
import { expectRestored, fillNamespace } from "./support/memoryPurge.js"
import { tempDir } from "./support/tempDir.js"

const dir = tempDir("arawn-purge-")

const Tables = Schema.Array(Schema.Struct({ name: Schema.String, sql: Schema.NullOr(Schema.String) }))
const Counted = Schema.Array(Schema.Struct({ n: Schema.Number }))
const Vocabulary = Schema.Array(Schema.Struct({ term: Schema.String, doc: Schema.Number, cnt: Schema.Number }))
const Pragma = Schema.Array(Schema.Record({ key: Schema.String, value: Schema.Number }))

const rows = <A, I>(schema: Schema.Schema<A, I>, statement: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.flatMap(sql.unsafe(statement), Schema.decodeUnknown(schema)))

/** The row count of every table in the file, virtual and shadow tables too. */
const tableCounts = Effect.gen(function*() {
  const tables = yield* rows(Tables, "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
  const counts = new Map<string, number>()
  for (const t of tables) counts.set(t.name, (yield* rows(Counted, `SELECT count(*) AS n FROM "${t.name}"`))[0]!.n)
  // An FTS5 index keeps its terms in segments (`_data`, `_idx`), not a row per document: checked by its vocabulary.
  const segments = new Set(tables.filter((t) => /USING fts5\(/i.test(t.sql ?? "")).flatMap((t) => [`${t.name}_data`, `${t.name}_idx`]))
  return { counts, segments }
})

const vocabulary = rows(Vocabulary, "SELECT term, doc, cnt FROM arawn_store_memory_vocabulary ORDER BY term")
const pragma = (name: string) => Effect.map(rows(Pragma, `PRAGMA ${name}`), (r) => Object.values(r[0]!)[0]!)

const onFile = (filename: string, autoVacuum: "NONE" | "INCREMENTAL") => {
  // Set before the store migrates the file; a file already in WAL mode takes the setting at its next VACUUM.
  const client = SqliteClient.layer({ filename }).pipe(
    Layer.tap((ctx) => {
      const sql = Context.get(ctx, SqlClient.SqlClient)
      return Effect.zipRight(sql.unsafe(`PRAGMA auto_vacuum = ${autoVacuum}`), sql.unsafe("VACUUM"))
    })
  )
  return SqliteMemory.layer().pipe(Layer.provide(Embedder.layerHashing), Layer.provideMerge(client))
}

describe("MemoryBackend/Sqlite purge", () => {
  it.each(["NONE", "INCREMENTAL"] as const)("leaves no row of the purged namespaces in any table (auto_vacuum %s)", async (autoVacuum) => {
    const runtime = ManagedRuntime.make(onFile(`${dir}/purge-${token()}.db`, autoVacuum))
    try {
      await runtime.runPromise(Effect.gen(function*() {
        const m = yield* MemoryBackend
        expect(yield* pragma("auto_vacuum")).toBe(autoVacuum === "INCREMENTAL" ? 2 : 0)
        // Enough kept memories that every partition of the bit index has a chunk before the purged ones arrive.
        yield* fillNamespace(m, "keep", 80, "kept")
        yield* fillNamespace(m, "gone-not", 10, "kept")
        const before = yield* tableCounts
        const words = yield* vocabulary
        const marker = token()
        const purged = (yield* fillNamespace(m, "gone", 300, marker)) + (yield* fillNamespace(m, "gone/below", 40, marker))
        const filled = yield* tableCounts
        const pages = yield* pragma("page_count")

        expect(yield* m.purge("gone", { batchSize: 64 })).toBe(purged)

        const after = yield* tableCounts
        const grown = expectRestored(before.counts, filled.counts, after.counts, (t) => after.segments.has(t))
        // The fill reached rows, tags, history, text (documents and sizes), vectors, bit codes and their rowids.
        for (const suffix of ["memories", "memory_tags", "memory_events", "memory_fts", "memory_fts_docsize", "memory_vectors_1", "memory_codes_1", "memory_codes_1_rowids"]) {
          expect(grown).toContain(`arawn_store_${suffix}`)
        }
        expect(filled.counts.get("arawn_store_memories")! - after.counts.get("arawn_store_memories")!).toBe(purged)
        expect(yield* vocabulary).toEqual(words)
        expect((yield* vocabulary).some((w) => w.term === marker)).toBe(false)
        expect(yield* m.purge("gone")).toBe(0)
        if (autoVacuum === "INCREMENTAL") {
          expect(yield* pragma("freelist_count")).toBe(0)
          expect(yield* pragma("page_count")).toBeLessThan(pages)
        } else {
          // Without it the file keeps its pages for later writes.
          expect(yield* pragma("freelist_count")).toBeGreaterThan(0)
        }
      }))
    } finally {
      await runtime.dispose()
    }
  }, 120_000)
})
