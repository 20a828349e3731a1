import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { WorkstreamStoreSuite } from "arawn-store/testing"
import * as Local from "../src/WorkstreamStore/Local.js"

const freshDir = () => mkdtempSync(join(tmpdir(), "arawn-ws-"))

WorkstreamStoreSuite.suite("WorkstreamStore/Local", Local.layer({ dir: freshDir() }))
