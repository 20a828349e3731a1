/**
 * The PostgreSQL MemoryBackend against real PostgreSQL with pgvector, reached over the wire: PGlite (PostgreSQL 18
 * + pgvector 0.8 in WASM) behind its socket server, started by this file; when the machine's own server
 * (127.0.0.1:5432, database `test`) has pgvector, the suite runs there too.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Stream } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { MemoryBackendModel, MemoryBackendSuite } from "arawn-store/testing"
import * as PgMemory from "../src/MemoryBackend/Pg.js"
import { token } from "../src/testing/internal.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"

let server: PgliteServer | undefined
beforeAll(async () => {
  server = await startPglite()
}, 120_000)
afterAll(async () => {
  await server?.stop()
})

/**
 * A layer on the PGlite server, in a schema of its own (built lazily: the server starts in beforeAll). One
 * connection per layer: PGlite is a single PostgreSQL session that runs one statement at a time, so more
 * connections only queue; the suites' layers still use the server at the same time (see pglite-server.mjs).
 */
const onPglite = (options: PgMemory.Options = {}, embedder = Embedder.layerHashing) =>
  Layer.unwrapEffect(Effect.sync(() =>
    PgMemory.layer({ url: Redacted.make(server!.url), maxConnections: 1, schema: `t_${token()}`, ...options })
  )).pipe(Layer.provide(embedder))

MemoryBackendSuite.suite("MemoryBackend/Pg (PGlite)", onPglite(), { withOptions: (options) => onPglite(options) })
MemoryBackendSuite.suite("MemoryBackend/Pg (PGlite, HNSW only)", onPglite({ exactScanLimit: 0 }))
MemoryBackendModel.suite("MemoryBackend/Pg (PGlite) model", onPglite())

describe("MemoryBackend/Pg", () => {
  it.effect("another embedder: vector paths refuse with EmbeddingSpaceMismatch until reindex, which then clears it", () =>
    Effect.gen(function*() {
      const schema = `t_${token()}`
      const at = (embedder: Layer.Layer<Embedder.Embedder>) =>
        PgMemory.layer({ url: Redacted.make(server!.url), maxConnections: 1, schema }).pipe(Layer.provide(embedder))
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
