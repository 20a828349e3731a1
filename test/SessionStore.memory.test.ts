import { SessionStore } from "arawn-store"
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"

SessionStoreSuite.suite("SessionStore.layerMemory", SessionStore.layerMemoryWith, { capacity: true, clock: "test" })

// ARAWN_MODEL_OPS=20000 for a bench-sized run.
SessionStoreModel.suite("SessionStore.layerMemory", SessionStore.layerMemoryWith, { capacity: true, clock: "test" }, {
  operations: Number(process.env.ARAWN_MODEL_OPS) || undefined
})
