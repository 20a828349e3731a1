// The README's "Certify a backend": the example driver passes the same suite and model run as every SessionStore.
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"
import * as MapSessionStore from "../examples/custom-session-store.js"

SessionStoreSuite.suite("examples/custom-session-store.ts", MapSessionStore.layer, { capacity: false, clock: "test" })
SessionStoreModel.suite("examples/custom-session-store.ts", MapSessionStore.layer, { capacity: false, clock: "test" }, { operations: 500 })
