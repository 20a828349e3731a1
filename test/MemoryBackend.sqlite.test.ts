import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Layer } from "effect"
import { Embedder } from "arawn-store"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { MemoryBackendSuite } from "arawn-store/testing"

const dir = mkdtempSync(join(tmpdir(), "arawn-memory-"))

MemoryBackendSuite.suite(
  "MemoryBackend/Sqlite (file)",
  SqliteMemory.layer({ filename: join(dir, "suite.db") }).pipe(Layer.provide(Embedder.layerHashing))
)
MemoryBackendSuite.suite(
  "MemoryBackend/Sqlite (:memory:)",
  SqliteMemory.layer({ filename: ":memory:" }).pipe(Layer.provide(Embedder.layerHashing))
)
MemoryBackendSuite.suite(
  "MemoryBackend/Sqlite (:memory:, bit index only)",
  SqliteMemory.layer({ filename: ":memory:", exactScanLimit: 0 }).pipe(Layer.provide(Embedder.layerHashing))
)
