import { WorkstreamStore } from "arawn-store"
import { WorkstreamStoreSuite } from "arawn-store/testing"

WorkstreamStoreSuite.suite("WorkstreamStore.layerMemory", WorkstreamStore.layerMemory)
