import { Layer } from "effect"
import { Embedder, LocalWorkstreamStore, LruSessionStore, SqliteMemoryBackend } from "arawn-store"

export const Live = Layer.mergeAll(
  SqliteMemoryBackend.layer({ filename: ".arawn-store/memory.db" }).pipe(Layer.provide(Embedder.layerHashing)),
  LocalWorkstreamStore.layer({ dir: ".arawn-store" }),
  LruSessionStore.layer({ capacity: 10_000, ttl: "1 hour" })
)
