// Facts over both time axes against the reference model on PostgreSQL (PGlite behind its socket server).
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Embedder } from "arawn-store"
import { MemoryConsolidation } from "arawn-store/testing"
import * as PgMemory from "../src/MemoryBackend/Pg.js"
import { token } from "../src/testing/internal.js"
import { pgModelOps } from "./support/modelOps.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"

let server: PgliteServer | undefined
beforeAll(async () => {
  server = await startPglite()
}, 120_000)
afterAll(async () => {
  await server?.stop()
}, 60_000)

const layer = Layer.unwrapEffect(Effect.sync(() =>
  PgMemory.layer({ url: Redacted.make(server!.url), maxConnections: 1, schema: `t_${token()}` })
)).pipe(Layer.provide(Embedder.layerHashing))

MemoryConsolidation.suite("MemoryBackend/Pg (PGlite) consolidation", layer, { operations: pgModelOps("ARAWN_CONSOLIDATION_OPS") })
