import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { WorkstreamStore } from "arawn-store"
import { WorkstreamStoreModel } from "arawn-store/testing"
import * as Local from "../src/WorkstreamStore/Local.js"
import { removedAfterAll } from "./support/tempDir.js"

// Each Layer gets its own store: a model run uses the store's scratch workstream.
WorkstreamStoreModel.suite("WorkstreamStore.layerMemory against the model", WorkstreamStore.layerMemory)
WorkstreamStoreModel.suite("WorkstreamStore/Local against the model", Local.layer({ dir: removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-model-"))) }))
