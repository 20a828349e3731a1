/**
 * Child process for the crash tests. `append <dir> <wsId> <run>` appends batches forever, printing
 * `ack <seq> <token> <length>` once each message is acknowledged; the parent SIGKILLs it at a random moment.
 * `promote <dir>` promotes scratch and, when ARAWN_CRASH_AT names a step of promoteScratch, SIGKILLs itself there;
 * `fork <dir> <wsId> <atSeq>` forks with copy likewise, at a step of fork; `branch <dir> <wsId> <atSeq>` forks
 * without copy (a branch), at a step of that; `prune <dir> <wsId>` prunes it by its policy, at a step of prune.
 */
import { Effect, Layer } from "effect"
import { WorkstreamStore } from "../../src/WorkstreamStore.js"
import type { WorkstreamId } from "../../src/Ids.js"
import * as Local from "../../src/WorkstreamStore/Local.js"
import { ForkHook } from "../../src/internal/local/fork.js"
import { BranchHook } from "../../src/internal/local/tree.js"
import { PromoteHook } from "../../src/internal/local/promote.js"
import { PruneHook } from "../../src/internal/local/prune.js"

const [mode, dir, wsId, run] = process.argv.slice(2)

const append = Effect.gen(function*() {
  const store = yield* WorkstreamStore
  for (let k = 0;; k++) {
    const size = 1 + ((k * 7919 + Number(run) * 104729) % 5)
    const batch = Array.from({ length: size }, (_, i) => {
      const token = `r${run}-k${k}-${i}`
      // Lengths up to ~64 KB make it likely that a kill lands inside a write.
      const length = token.length + 1 + ((k * 31 + i * 977) % 65_536)
      return { token, content: `${token}:`.padEnd(length, "x") }
    })
    const stored = yield* store.storeMessages(wsId as WorkstreamId, batch.map((b) => ({ role: "user" as const, content: b.content })))
    process.stdout.write(stored.map((m, i) => `ack ${m.seq} ${batch[i]!.token} ${batch[i]!.content.length}\n`).join(""))
  }
})

const promote = Effect.gen(function*() {
  const store = yield* WorkstreamStore
  const ws = yield* store.promoteScratch({ title: "promoted" })
  process.stdout.write(`promoted ${ws.id}\n`)
})

const fork = (copy: boolean) =>
  Effect.gen(function*() {
    const store = yield* WorkstreamStore
    const ws = yield* store.fork(wsId as WorkstreamId, { atSeq: Number(run), title: "forked", copy })
    process.stdout.write(`forked ${ws.id}\n`)
  })

const prune = Effect.gen(function*() {
  const store = yield* WorkstreamStore
  const report = yield* store.prune({ workstreamId: wsId as WorkstreamId })
  process.stdout.write(`pruned ${report.removed}\n`)
})

const crashAt = process.env["ARAWN_CRASH_AT"]
const crash = (step: string) =>
  Effect.sync(() => {
    if (step === crashAt) process.kill(process.pid, "SIGKILL")
  })
const hooks = Layer.mergeAll(
  Layer.succeed(PromoteHook, { reached: crash }),
  Layer.succeed(ForkHook, { reached: crash }),
  Layer.succeed(BranchHook, { reached: crash }),
  Layer.succeed(PruneHook, { reached: crash })
)

const program = mode === "append" ? append : mode === "fork" ? fork(true) : mode === "branch" ? fork(false) : mode === "prune" ? prune : promote
Effect.runPromise(Effect.provide(program, Layer.merge(Local.layer({ dir: dir! }), hooks))).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
