import { Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { MemoryBackendModel, MemoryBackendSuite } from "arawn-store/testing"

const layer = MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing))

MemoryBackendSuite.suite("MemoryBackend.layerMemory", layer)
MemoryBackendModel.suite("MemoryBackend.layerMemory model", layer)
