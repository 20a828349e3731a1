/**
 * A store moved SQLite + local logs -> PostgreSQL -> SQLite + local logs through dumps is the same store: every
 * memory with its history, every workstream record, every message with its seq. PostgreSQL is PGlite (pgvector
 * for the memories) behind its socket server, reached over the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import * as Dump from "../src/Dump.js"
import * as Embedder from "../src/Embedder.js"
import type { ImportEvent } from "../src/Import.js"
import * as PgMemoryBackend from "../src/MemoryBackend/Pg.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import * as PgWorkstreamStore from "../src/WorkstreamStore/Pg.js"
import * as LocalWorkstreamStore from "../src/WorkstreamStore/Local.js"
import { token } from "../src/testing/internal.js"
import { comparable, exported, seed } from "./support/dump.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"

let server: PgliteServer | undefined
const dirs: Array<string> = []
beforeAll(async () => {
  server = await startPglite()
}, 120_000)
afterAll(async () => {
  await server?.stop()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const onDisk = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-dump-pg-"))
  dirs.push(dir)
  return Layer.merge(SqliteMemoryBackend.layer({ filename: join(dir, "memory.db"), readers: 0 }), LocalWorkstreamStore.layer({ dir })).pipe(
    Layer.provide(Embedder.layerHashing)
  )
}

const onPg = () =>
  Layer.unwrapEffect(Effect.sync(() => {
    const options = { url: Redacted.make(server!.url), maxConnections: 1, schema: `t_${token()}` }
    return Layer.merge(PgMemoryBackend.layer(options), PgWorkstreamStore.layer(options))
  })).pipe(Layer.provide(Embedder.layerHashing))

const done = (last: Option.Option<ImportEvent>) => Option.getOrThrow(last)

describe("Dump through PostgreSQL", () => {
  it.effect("SQLite -> PostgreSQL -> SQLite gives the same records (ids, timestamps, confidence, supersede chains, seqs, tags, versions)", () =>
    Effect.gen(function*() {
      const first = yield* Effect.provide(Effect.zipRight(seed, exported), onDisk())
      const viaPg = yield* Effect.provide(
        Effect.gen(function*() {
          const report = done(yield* Stream.runLast(Dump.importDump(Stream.fromIterable(first))))
          expect(report._tag === "Done" && report.report.failures).toEqual([])
          return yield* exported
        }),
        onPg()
      )
      expect(comparable(viaPg)).toEqual(comparable(first))
      const back = yield* Effect.provide(
        Effect.zipRight(Stream.runDrain(Dump.importDump(Stream.fromIterable(viaPg))), exported),
        onDisk()
      )
      expect(comparable(back)).toEqual(comparable(first))
    }), 180_000)
})
