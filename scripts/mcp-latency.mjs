/**
 * Tool latency of `arawn-store mcp` over stdio beside the same call on the library, in one store of 1,000 memories:
 * p50 of 300 calls each of get, search and store (milliseconds), and the load average. Needs `npm run build`.
 *
 *   node scripts/mcp-latency.mjs
 */
import { mkdtempSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Embedder, MemoryBackend } from "../dist/index.js"
import * as Sqlite from "../dist/MemoryBackend/Sqlite.js"

const BIN = fileURLToPath(new URL("../dist/cli/arawn-store.js", import.meta.url))
const N = 300
const dir = mkdtempSync(join(tmpdir(), "arawn-mcp-latency-"))
const p50 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const time = async (f) => {
  const out = []
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint()
    await f(i)
    out.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  return Math.round(p50(out) * 100) / 100
}
try {
  const rt = ManagedRuntime.make(Sqlite.layer({ filename: join(dir, "memory.db"), readers: 0 }).pipe(Layer.provide(Embedder.layerHashing)))
  // The server is confined to the default namespace: the library calls go through the same scope.
  const on = (f) => rt.runPromise(Effect.flatMap(MemoryBackend.MemoryBackend, (m) => Effect.flatMap(m.scoped("default"), f)))
  const ids = await on((m) => m.storeMany(Array.from({ length: 1000 }, (_, i) => ({ content: `note ${i} about deploys and the staging box ${i % 17}` }))))
  const library = {
    get: await time((i) => on((m) => m.get(ids[i % ids.length]))),
    search: await time((i) => on((m) => m.search(`staging box ${i % 17}`, { limit: 11 }))),
    store: await time((i) => on((m) => m.store({ content: `library write ${i}` })))
  }
  await rt.dispose()
  const client = new Client({ name: "mcp-latency", version: "1.0.0" })
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [BIN, "--dir", dir, "mcp"], stderr: "inherit" }))
  const mcp = {
    get: await time((i) => client.callTool({ name: "memory_get", arguments: { id: ids[i % ids.length] } })),
    search: await time((i) => client.callTool({ name: "memory_search", arguments: { query: `staging box ${i % 17}` } })),
    store: await time((i) => client.callTool({ name: "memory_store", arguments: { content: `mcp write ${i}` } }))
  }
  await client.close()
  console.log(JSON.stringify({ calls: N, p50ms: { library, mcp }, load: Math.round(loadavg()[0] * 10) / 10 }))
} finally {
  rmSync(dir, { recursive: true, force: true })
}
