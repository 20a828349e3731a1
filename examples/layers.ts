import { Layer } from "effect"
import { Embedder } from "arawn-store"
import * as SqliteMemoryBackend from "arawn-store/MemoryBackend/Sqlite"
import * as LruSessionStore from "arawn-store/SessionStore/Lru"
import * as LocalWorkstreamStore from "arawn-store/WorkstreamStore/Local"

export const Live = Layer.mergeAll(
  SqliteMemoryBackend.layer({ filename: ".arawn-store/memory.db" }).pipe(Layer.provide(Embedder.layerHashing)),
  LocalWorkstreamStore.layer({ dir: ".arawn-store" }),
  LruSessionStore.layer({ capacity: 10_000, ttl: "1 hour" })
)
