import { Config, Layer } from "effect"
import { Embedder } from "arawn-store"
import * as PgMemoryBackend from "arawn-store/MemoryBackend/Pg"
import * as TieredSessionStore from "arawn-store/SessionStore/Tiered"
import * as PgWorkstreamStore from "arawn-store/WorkstreamStore/Pg"

// Every instance of the app, on any machine, builds the same layer: one PostgreSQL database, one Redis.
export const Shared = Layer.mergeAll(
  PgMemoryBackend.layerConfig({ url: Config.redacted("DATABASE_URL") }).pipe(Layer.provide(Embedder.layerHashing)),
  PgWorkstreamStore.layerConfig({ url: Config.redacted("DATABASE_URL") }),
  TieredSessionStore.layerConfig({ url: Config.redacted("REDIS_URL"), l1: { capacity: Config.integer("L1_CAPACITY") } })
)
