// Facts over both time axes against the reference model on the in-process layers and SQLite.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import { MemoryConsolidation } from "arawn-store/testing"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import * as MapMemoryBackend from "../examples/custom-memory-backend.js"
import { removedAfterAll } from "./support/tempDir.js"

const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-consolidation-")))

MemoryConsolidation.suite("MemoryBackend.layerMemory consolidation", MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing)))
MemoryConsolidation.suite("examples/custom-memory-backend.ts consolidation", MapMemoryBackend.layer.pipe(Layer.provide(Embedder.layerHashing)))
MemoryConsolidation.suite(
  "MemoryBackend/Sqlite (file) consolidation",
  SqliteMemory.layer({ filename: join(dir, "consolidation.db") }).pipe(Layer.provide(Embedder.layerHashing))
)
