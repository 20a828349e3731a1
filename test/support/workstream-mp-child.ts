/**
 * Child process for the multi-process test: `<dir> <child> <count> <ws,ws,...> [<stop file>]` appends `count`
 * messages in batches of 1-4 to workstreams picked from the list (the first one half the time), printing
 * `ack <ws> <seq> <id> <batch>/<size>` for each message once its batch is acknowledged, then `done`. Given a stop
 * file, it goes on appending until that file exists (at most 20 times `count`), so the parent decides how long the
 * appends overlap what it does meanwhile, whatever the machine's load.
 */
import { Effect } from "effect"
import { randomUUID } from "node:crypto"
import { existsSync } from "node:fs"
import type { WorkstreamId } from "../../src/Ids.js"
import { WorkstreamStore } from "../../src/WorkstreamStore.js"
import * as Local from "../../src/WorkstreamStore/Local.js"

const [dir, child, count, list, stopFile] = process.argv.slice(2)
const targets = list!.split(",") as Array<WorkstreamId>

const program = Effect.gen(function*() {
  const store = yield* WorkstreamStore
  let sent = 0
  const more = () =>
    sent < Number(count) || (stopFile !== undefined && !existsSync(stopFile) && sent < 20 * Number(count))
  for (let k = 0; more(); k++) {
    const size = 1 + ((k * 7 + Number(child) * 3) % 4)
    const ws = k % 2 === 0 ? targets[0]! : targets[1 + ((k + Number(child)) % (targets.length - 1))]!
    const batch = Array.from({ length: size }, (_, i) => ({
      role: "user" as const,
      id: randomUUID(),
      content: `c${child}-b${k}:${i}/${size}:`.padEnd(40 + ((k * 131 + i * 17) % 2000), "x")
    }))
    const stored = yield* store.storeMessages(ws, batch)
    process.stdout.write(stored.map((m) => `ack ${ws} ${m.seq} ${m.id} c${child}-b${k}/${size}\n`).join(""))
    sent += size
  }
  process.stdout.write("done\n")
})

Effect.runPromise(Effect.provide(program, Local.layer({ dir: dir!, busyTimeout: "30 seconds" }))).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
