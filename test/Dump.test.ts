import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Chunk, Duration, Effect, Layer, Option, Stream, TestClock } from "effect"
import * as Dump from "../src/Dump.js"
import * as Embedder from "../src/Embedder.js"
import { SCRATCH_ID, SessionId } from "../src/Ids.js"
import * as MemoryBackend from "../src/MemoryBackend.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import * as WorkstreamStore from "../src/WorkstreamStore.js"
import * as LocalWorkstreamStore from "../src/WorkstreamStore/Local.js"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-dump-"))
  dirs.push(dir)
  return dir
}

const inMemory = () =>
  Layer.merge(MemoryBackend.layerMemory, WorkstreamStore.layerMemory).pipe(Layer.provide(Embedder.layerHashing))
const onDisk = (dir = freshDir()) =>
  Layer.merge(SqliteMemoryBackend.layer({ filename: join(dir, "memory.db"), readers: 0 }), LocalWorkstreamStore.layer({ dir })).pipe(
    Layer.provide(Embedder.layerHashing)
  )

const session = SessionId.make("6c1f5a4e-0a56-4c43-9a3e-2f6f0f3b9d11")

/** A store with one of each kind of history: facts superseded and reinforced, updates, expiry, namespaces, logs. */
const seed = Effect.gen(function*() {
  const m = yield* MemoryBackend.MemoryBackend
  const w = yield* WorkstreamStore.WorkstreamStore
  const fact = { metadata: { subject: "db", predicate: "uses" }, sessionId: session }
  yield* m.storeFact({ content: "uses sqlite", ...fact })
  yield* TestClock.adjust(Duration.minutes(1))
  yield* m.storeFact({ content: "uses sqlite", ...fact })
  yield* TestClock.adjust(Duration.minutes(1))
  yield* m.storeFact({ content: "uses postgres", ...fact })
  const note = yield* m.store({
    content: "the build uses esbuild ✓",
    metadata: { tags: ["build", "tools"], extra: { k: [1, "v"], nested: { ok: true } } },
    citation: { _tag: "file", path: "x.ts", lineStart: 3 },
    source: "stated"
  })
  yield* TestClock.adjust(Duration.minutes(1))
  yield* m.update(note, { content: "the build uses esbuild and tsc", source: "observed" })
  yield* m.store({ content: "expires tomorrow", ttl: "1 day", namespace: "team" })
  yield* m.store({ content: "a team note", namespace: "team", workstreamId: "ws-x" })
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
  yield* w.fork(ws.id, { atSeq: 2, title: "another plan" })
  const archived = yield* w.create({ title: "old", state: "archived" })
  yield* w.storeMessage(archived.id, { role: "user", content: "bye" })
  yield* w.ensureScratch()
  yield* w.storeMessage(SCRATCH_ID, { role: "user", content: "scratch note" })
})

const exported = Effect.map(Stream.runCollect(Dump.exportDump({ pageSize: 2 })), (c) => Chunk.toReadonlyArray(c))

/** The dump without its header; the scratch workstream's record is made anew by an import (its messages are not). */
const comparable = (lines: ReadonlyArray<string>) =>
  lines.slice(1).map((l) => {
    const record = JSON.parse(l)
    if (record.kind !== "workstream" || record.workstream.id !== "scratch") return record
    const { createdAt: _c, updatedAt: _u, ...rest } = record.workstream
    return { ...record, workstream: rest }
  })

describe("Dump", () => {
  it.effect("a store exported, imported elsewhere and exported again gives the same records; a second import adds nothing", () =>
    Effect.gen(function*() {
      const first = yield* Effect.provide(Effect.zipRight(seed, exported), inMemory())
      expect(JSON.parse(first[0]!)).toMatchObject({ kind: "arawn-store-dump", version: 1 })
      const kinds = first.slice(1).map((l) => JSON.parse(l).kind)
      expect(kinds.filter((k) => k === "memory").length).toBe(5)
      expect(kinds.filter((k) => k === "workstream").length).toBe(4)
      expect(kinds.filter((k) => k === "message").length).toBe(7)
      // The fork's lineage travels with it (the round trips below compare it too).
      expect(first.slice(1).filter((l) => JSON.parse(l).workstream?.forkedFrom?.seq === 2).length).toBe(1)
      const file = join(freshDir(), "store.jsonl")
      writeFileSync(file, first.join(""))
      const dir = freshDir()
      const { report, again, second } = yield* Effect.provide(Effect.gen(function*() {
        const report = yield* Stream.runLast(Dump.importDumpFile(file, { batchSize: 2, messageBatchSize: 2 }))
        const again = yield* Stream.runLast(Dump.importDumpFile(file))
        return { report, again, second: yield* exported }
      }), onDisk(dir))
      const done = (e: typeof report) => Option.getOrThrow(e)._tag === "Done" ? Option.getOrThrow(e) : undefined
      expect(done(report)).toEqual({
        _tag: "Done",
        report: {
          memories: { imported: 5, skipped: 0, failed: 0 },
          workstreams: { imported: 4, skipped: 0, failed: 0 },
          messages: { imported: 7, skipped: 0, failed: 0 },
          failures: []
        }
      })
      expect(done(again)).toEqual({
        _tag: "Done",
        report: {
          memories: { imported: 0, skipped: 5, failed: 0 },
          workstreams: { imported: 0, skipped: 4, failed: 0 },
          messages: { imported: 0, skipped: 7, failed: 0 },
          failures: []
        }
      })
      expect(comparable(second)).toEqual(comparable(first))
      // And back: the disk store's dump read into a fresh in-memory store is the same again.
      const back = yield* Effect.provide(
        Effect.zipRight(Dump.importDump(Stream.fromIterable(second)).pipe(Stream.runDrain), exported),
        inMemory()
      )
      expect(comparable(back)).toEqual(comparable(first))
    }))

  it.effect("a file that is not a dump is InvalidInput; unreadable records are counted as failed and the rest imported", () =>
    Effect.gen(function*() {
      const bad = yield* Effect.flip(Stream.runDrain(Dump.importDump(Stream.make('{"kind":"memory"}'))))
      expect(bad._tag).toBe("InvalidInput")
      const header = JSON.stringify({ kind: "arawn-store-dump", version: 1, exportedAt: "2026-01-01T00:00:00.000Z" })
      const lines = [
        header,
        JSON.stringify({ kind: "memory", memory: { id: "nope" }, history: [] }),
        JSON.stringify({ kind: "message", seq: 1, line: { id: "x" } })
      ]
      const last = yield* Stream.runLast(Dump.importDump(Stream.fromIterable(lines)))
      const event = Option.getOrThrow(last)
      expect(event._tag === "Done" && event.report.failures.map((f) => f.entity)).toEqual(["memory", "message"])
    }).pipe(Effect.provide(inMemory())))
})
