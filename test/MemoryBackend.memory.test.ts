import { Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { MemoryBackendModel, MemoryBackendSuite } from "arawn-store/testing"

// A MemoryBackend layer requires an Embedder: provide the one the backend is meant to run with before the suites.
const layer = MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing))

MemoryBackendSuite.suite("MemoryBackend.layerMemory", layer, {
  withOptions: (options) => MemoryBackend.layerMemoryWith(options).pipe(Layer.provide(Embedder.layerHashing))
})
MemoryBackendModel.suite("MemoryBackend.layerMemory model", layer)
