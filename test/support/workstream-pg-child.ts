/**
 * Child process for the PostgreSQL multi-process test: `<url> <schema> <child> <count> <workstream>` appends `count`
 * messages one call at a time to one workstream through its own PostgreSQL store, printing `ack <seq> <id>` for each
 * once it is acknowledged, then `done`.
 */
import { Effect, Redacted } from "effect"
import { randomUUID } from "node:crypto"
import type { WorkstreamId } from "../../src/Ids.js"
import { WorkstreamStore } from "../../src/WorkstreamStore.js"
import * as Pg from "../../src/WorkstreamStore/Pg.js"

const [url, schema, child, count, workstream] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const store = yield* WorkstreamStore
  for (let i = 0; i < Number(count); i++) {
    const m = yield* store.storeMessage(workstream as WorkstreamId, { role: "user", id: randomUUID(), content: `c${child}-${i}` })
    process.stdout.write(`ack ${m.seq} ${m.id}\n`)
  }
  process.stdout.write("done\n")
})

Effect.runPromise(Effect.provide(program, Pg.layer({ url: Redacted.make(url!), schema: schema!, maxConnections: 2 }))).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
