/**
 * Run by `bench/workstream.ts` in a fresh process: opens the store in `argv[2]`, reads the tail of workstream
 * `argv[3]` (limit 50) 200 times, and prints its RSS as one JSON line. The peak is sampled from `memoryUsage()`:
 * `ru_maxrss` of an exec'd child can carry its parent's high-water mark from before the exec.
 */
import { Effect } from "effect"
import type { WorkstreamId } from "../src/Ids.js"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as Local from "../src/WorkstreamStore/Local.js"

const [dir, id] = process.argv.slice(2)

let peak = process.memoryUsage().rss

const program = Effect.gen(function*() {
  const store = yield* WorkstreamStore
  peak = Math.max(peak, process.memoryUsage().rss)
  let messages = 0
  for (let i = 0; i < 200; i++) {
    messages += (yield* store.loadMessages(id as WorkstreamId, { limit: 50 })).length
    peak = Math.max(peak, process.memoryUsage().rss)
  }
  return messages
})

Effect.runPromise(Effect.provide(program, Local.layer({ dir: dir! }))).then((messages) => {
  const mb = 1024 * 1024
  console.log(JSON.stringify({
    rssMb: process.memoryUsage().rss / mb,
    maxRssMb: peak / mb,
    messages
  }))
})
