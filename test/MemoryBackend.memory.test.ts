import { Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { MemoryBackendSuite } from "arawn-store/testing"

MemoryBackendSuite.suite("MemoryBackend.layerMemory", MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing)))
