import { SessionStore } from "arawn-store"
import { SessionStoreSuite } from "arawn-store/testing"

SessionStoreSuite.suite("SessionStore.layerMemory", SessionStore.layerMemoryWith, { capacity: true, clock: "test" })
