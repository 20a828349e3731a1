// The README's "Certify a backend": the example encoded driver passes the same suite and model run as every
// MemoryBackend.
import { Layer } from "effect"
import { Embedder } from "arawn-store"
import { MemoryBackendModel, MemoryBackendSuite } from "arawn-store/testing"
import * as MapMemoryBackend from "../examples/custom-memory-backend.js"

MemoryBackendSuite.suite("examples/custom-memory-backend.ts", MapMemoryBackend.layer.pipe(Layer.provide(Embedder.layerHashing)), {
  withOptions: (options) => MapMemoryBackend.layerWith(options).pipe(Layer.provide(Embedder.layerHashing))
})
MemoryBackendModel.suite("examples/custom-memory-backend.ts model", MapMemoryBackend.layer.pipe(Layer.provide(Embedder.layerHashing)), {
  operations: 500
})
