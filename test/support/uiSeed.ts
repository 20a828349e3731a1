/**
 * A store for the inspector's browser tests, written through the library in one go: memories in two namespaces
 * (one of exactly `paged` memories the list pages through, the rest elsewhere), a few with history, a thread of
 * `bigThread` messages (appended in large batches) and a small thread with a fork, and a fork of that fork.
 */
import { join } from "node:path"
import { DateTime, Effect, Layer } from "effect"
import * as Embedder from "../../src/Embedder.js"
import type { WorkstreamId } from "../../src/Ids.js"
import { MemoryBackend } from "../../src/MemoryBackend.js"
import * as Sqlite from "../../src/MemoryBackend/Sqlite.js"
import type { NewMemory } from "../../src/Memory.js"
import type { NewMessage } from "../../src/Workstream.js"
import * as Local from "../../src/WorkstreamStore/Local.js"
import { WorkstreamStore } from "../../src/WorkstreamStore.js"

export interface Seeded {
  readonly bigThread: WorkstreamId
  readonly smallThread: WorkstreamId
  readonly fork: WorkstreamId
  readonly forkOfFork: WorkstreamId
}

const WORDS = ["invoice", "deploy", "cache", "ledger", "retry", "billing", "tenant", "queue", "schema", "token", "report", "backup"]
const START = DateTime.unsafeMake("2026-01-01T00:00:00Z").epochMillis
const MINUTE = 60_000

const memory = (i: number, namespace: string): NewMemory => ({
  namespace,
  content: `Memory ${namespace} #${i}: the ${WORDS[i % WORDS.length]} service talks to ${WORDS[(i * 7) % WORDS.length]} nightly`,
  contentType: i % 5 === 0 ? "fact" : "note",
  source: i % 3 === 0 ? "stated" : "inferred",
  metadata: { tags: [WORDS[i % WORDS.length]!], extra: { n: i } },
  createdAt: DateTime.unsafeMake(START + i * MINUTE)
})

const messages = (from: number, n: number): ReadonlyArray<NewMessage> =>
  Array.from({ length: n }, (_, k) => ({
    role: (from + k) % 2 === 0 ? "user" : "assistant",
    content: `message ${from + k}: ${WORDS[(from + k) % WORDS.length]} ${"details ".repeat((from + k) % 4)}`
  }))

/** Writes the store into `dir`: `paged` memories in namespace `paged`, `others` in `other`, and the threads. */
export const seed = (dir: string, counts: { readonly paged: number; readonly others: number; readonly bigThread: number }) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    for (const [namespace, n] of [["paged", counts.paged], ["other", counts.others]] as const) {
      for (let i = 0; i < n; i += 1000) {
        yield* m.storeMany(Array.from({ length: Math.min(1000, n - i) }, (_, k) => memory(i + k, namespace)))
      }
    }
    // A fact stated, restated and replaced: its history has several entries.
    yield* m.storeFact({ namespace: "paged", content: "The billing region is eu-west-1", metadata: { subject: "billing", predicate: "region" }, source: "stated" })
    yield* m.storeFact({ namespace: "paged", content: "The billing region is eu-west-1", metadata: { subject: "billing", predicate: "region" }, source: "stated" })
    const ws = yield* WorkstreamStore
    const big = yield* ws.create({ title: "A very long thread", tags: ["big"] })
    for (let i = 0; i < counts.bigThread; i += 10_000) {
      yield* ws.storeMessages(big.id, messages(i + 1, Math.min(10_000, counts.bigThread - i)))
    }
    const small = yield* ws.create({ title: "Ledger migration", tags: ["ledger"] })
    yield* ws.storeMessages(small.id, messages(1, 12))
    const fork = yield* ws.fork(small.id, { atSeq: 6, title: "Ledger migration, plan B" })
    yield* ws.storeMessages(fork.id, messages(100, 3))
    const forkOfFork = yield* ws.fork(fork.id, { atSeq: 8, title: "Plan B, rolled back" })
    const seeded: Seeded = { bigThread: big.id, smallThread: small.id, fork: fork.id, forkOfFork: forkOfFork.id }
    return seeded
  }).pipe(
    Effect.provide(Layer.merge(
      Sqlite.layer({ filename: join(dir, "memory.db") }).pipe(Layer.provide(Embedder.layerHashing)),
      Local.layer({ dir })
    ))
  )
