/** A store with one of each kind of record for dump round trips, and how two dumps are compared. */
import { Chunk, DateTime, Duration, Effect, Stream, TestClock } from "effect"
import * as Dump from "../../src/Dump.js"
import { SCRATCH_ID, SessionId } from "../../src/Ids.js"
import * as MemoryBackend from "../../src/MemoryBackend.js"
import * as WorkstreamStore from "../../src/WorkstreamStore.js"

export const session = SessionId.make("6c1f5a4e-0a56-4c43-9a3e-2f6f0f3b9d11")

/** A store with one of each kind of history: facts superseded and reinforced, updates, expiry, namespaces, logs. */
export const seed = Effect.gen(function*() {
  const m = yield* MemoryBackend.MemoryBackend
  const w = yield* WorkstreamStore.WorkstreamStore
  const fact = { metadata: { subject: "db", predicate: "uses" }, sessionId: session }
  yield* m.storeFact({ content: "uses sqlite", ...fact })
  yield* TestClock.adjust(Duration.minutes(1))
  yield* m.storeFact({ content: "uses sqlite", ...fact })
  yield* TestClock.adjust(Duration.minutes(1))
  yield* m.storeFact({ content: "uses postgres", ...fact })
  // Back-dated: it ends the first fact a second time (retracted and re-recorded: two more memories), so a copy
  // must keep both time axes.
  yield* m.storeFact({ content: "uses duckdb", ...fact, validFrom: DateTime.unsafeMake((yield* TestClock.currentTimeMillis) - 90_000) })
  const note = yield* m.store({
    content: "the build uses esbuild ✓",
    metadata: { tags: ["build", "tools"], extra: { k: [1, "v"], nested: { ok: true } } },
    citation: { _tag: "file", path: "x.ts", lineStart: 3 },
    source: "stated"
  })
  yield* TestClock.adjust(Duration.minutes(1))
  yield* m.update(note, { content: "the build uses esbuild and tsc", source: "observed" })
  yield* m.store({ content: "expires tomorrow", ttl: "1 day", namespace: "team" })
  // Written by key, without a vector: the key and the missing vector travel too.
  yield* m.put({ content: "a team note", namespace: "team/notes", key: "note-1", workstreamId: "ws-x", embed: false })
  const ws = yield* w.create({ title: "planning", tags: ["b", "a"], summary: "the plan" })
  yield* w.storeMessages(ws.id, [
    { role: "user", content: "hello\u2028there", sessionId: session },
    { role: "assistant", content: "hi", metadata: { model: "m1", tokens: 3 } }
  ])
  yield* TestClock.adjust(Duration.minutes(1))
  yield* w.storeMessage(ws.id, { role: "tool_result", content: "x".repeat(5000) })
  yield* TestClock.adjust(Duration.minutes(1))
  // Updated after its last message: a copy must keep this updatedAt and version, not its messages' time.
  yield* w.update(ws.id, { summary: "the revised plan" })
  // A branch: it shares messages 1..2 and exports its own only, after the workstream it shares them with.
  const branch = yield* w.fork(ws.id, { atSeq: 2, title: "another plan" })
  yield* w.storeMessages(branch.id, [{ role: "user", content: "what if" }, { role: "assistant", content: "then this" }])
  // Summaries travel with the workstream that made them: the branch's covers a message it shares.
  yield* w.summarize(ws.id, { fromSeq: 1, toSeq: 2, content: "greetings", metadata: { model: "m1" } })
  yield* w.summarize(branch.id, { fromSeq: 2, toSeq: 4, content: "another way" })
  const archived = yield* w.create({ title: "old", state: "archived" })
  yield* w.storeMessage(archived.id, { role: "user", content: "bye" })
  yield* w.ensureScratch()
  yield* w.storeMessage(SCRATCH_ID, { role: "user", content: "scratch note" })
})

export const exported = Effect.map(Stream.runCollect(Dump.exportDump({ pageSize: 2 })), (c) => Chunk.toReadonlyArray(c))

/** The dump without its header, as records (the scratch workstream's included: an import keeps its record too). */
export const comparable = (lines: ReadonlyArray<string>) => lines.slice(1).map((l) => JSON.parse(l))
