import { afterAll, describe, expect, it } from "@effect/vitest"
import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Chunk, DateTime, Effect, Layer, Option, Stream } from "effect"
import * as Embedder from "../src/Embedder.js"
import { MemoryId, SCRATCH_ID, WorkstreamId } from "../src/Ids.js"
import * as Import from "../src/Import.js"
import * as MemoryBackend from "../src/MemoryBackend.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import * as WorkstreamStore from "../src/WorkstreamStore.js"
import * as LocalWorkstreamStore from "../src/WorkstreamStore/Local.js"
import * as Fixture from "./support/arawnDataDir.js"

const inMemory = () =>
  Layer.merge(MemoryBackend.layerMemory, WorkstreamStore.layerMemory).pipe(Layer.provide(Embedder.layerHashing))

const targets: Array<string> = []
afterAll(() => {
  for (const dir of targets) rmSync(dir, { recursive: true, force: true })
})

/** The on-disk backends the command line uses, in a new directory. */
const onDisk = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-import-target-"))
  targets.push(dir)
  return Layer.merge(SqliteMemoryBackend.layer({ filename: join(dir, "memory.db") }), LocalWorkstreamStore.layer({ dir })).pipe(
    Layer.provide(Embedder.layerHashing)
  )
}

const backends = [["in-memory", inMemory], ["SQLite + local JSONL", onDisk]] as const

const withDataDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "arawn-import-"))),
    (dir) => Effect.zipRight(Fixture.build(dir), f(dir)),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const memoryOf = (id: string) =>
  Effect.flatMap(MemoryBackend.MemoryBackend, (m) => Effect.map(m.get(MemoryId.make(id)), Option.getOrThrow))

describe.each(backends)("Import into %s", (_name, freshStore) => {
  it.effect("imports memories, workstreams and logs of the original runtime, keeping ids, ages and history", () =>
    withDataDir((dir) =>
      Effect.gen(function*() {
        const report = yield* Import.run(dir, { batchSize: 3 })
        expect(report.memories).toEqual({ imported: Fixture.importableMemories, skipped: 0, failed: 1 })
        expect(report.workstreams).toEqual({ imported: 2, skipped: 0, failed: 0 })
        expect(report.messages).toEqual({
          imported: Fixture.messageCounts.workstream + Fixture.messageCounts.scratch,
          skipped: 0,
          failed: 0
        })
        expect(report.failures).toEqual([
          { entity: "memory", id: Fixture.ids.bogus, reason: `unknown content type "hologram"` }
        ])

        const old = yield* memoryOf(Fixture.ids.postgresFact)
        expect(old.confidence.superseded).toBe(true)
        expect(old.confidence.supersededBy).toBe(Fixture.ids.sqliteFact)
        expect(DateTime.formatIso(old.createdAt)).toBe("2026-01-12T08:30:00.123Z")
        expect(old.metadata.subject).toBe("project.database")
        expect(old.sessionId).toBe(Fixture.ids.session)
        expect(old.citation).toMatchObject({ _tag: "session", sessionId: Fixture.ids.session, messageIndex: 3 })

        const current = yield* memoryOf(Fixture.ids.sqliteFact)
        expect(current.confidence.reinforcementCount).toBe(3)
        expect(current.confidence.source).toBe("stated")
        expect(current.accessCount).toBe(2)
        expect(current.citation?._tag).toBe("user")

        const note = yield* memoryOf(Fixture.ids.ciNote)
        expect(note.sessionId).toBeUndefined()
        expect(note.metadata.tags).toEqual(["build", "ci"])
        expect(note.metadata.extra).toEqual({ session_id: "cli-session-7", priority: "high", content_hash: "ab12" })
        expect(note.confidence.source).toBe("observed")

        const file = yield* memoryOf(Fixture.ids.fileMemory)
        expect(file.metadata.sourcePath).toBe("crates/arawn-memory/src/store/mod.rs")
        expect(file.metadata.lineRange).toEqual([10, 20])
        expect(file.citation).toMatchObject({ _tag: "file", lineStart: 10, lineEnd: 20, commitHash: "a37e7ec" })

        const web = yield* memoryOf(Fixture.ids.webMemory)
        expect(web.metadata.sourceUrl).toBe("https://example.org/sqlite-vec")
        expect(web.citation).toMatchObject({ _tag: "web", title: "sqlite-vec" })

        // The think tool only set the legacy metadata copy of the session id; it still lands in sessionId.
        expect((yield* memoryOf(Fixture.ids.thought)).sessionId).toBe(Fixture.ids.session)
        expect((yield* memoryOf(Fixture.ids.summary)).citation).toMatchObject({ _tag: "system", method: "summarization" })

        // Re-embedded: searchable, and the superseded fact stays hidden by default.
        const memories = yield* MemoryBackend.MemoryBackend
        const hits = yield* memories.search("which database does the project use", { limit: 3 })
        expect(hits.map((h) => h.memory.id)).toContain(Fixture.ids.sqliteFact)
        expect(hits.map((h) => h.memory.id)).not.toContain(Fixture.ids.postgresFact)

        const store = yield* WorkstreamStore.WorkstreamStore
        const ws = Option.getOrThrow(yield* store.get(WorkstreamId.make(Fixture.ids.workstream)))
        expect(ws.title).toBe("Port storage layer")
        expect(ws.summary).toBe("Moving arawn storage to TypeScript")
        expect(ws.defaultModel).toBe("claude-sonnet")
        expect(ws.tags).toEqual(["rust", "storage"])
        const log = yield* store.loadMessages(ws.id)
        expect(log.map((m) => m.id)).toEqual(Fixture.ids.messages)
        expect(log.map((m) => m.seq)).toEqual([1, 2, 3, 4])
        expect(DateTime.formatIso(log[0]!.timestamp)).toBe("2026-01-20T14:00:00.601Z")
        expect(log[0]!.sessionId).toBe(Fixture.ids.session)
        expect(log[1]!.metadata).toEqual({ tool_id: "call_1", name: "read_file", arguments: { path: "src/store.rs" } })
        expect(log[2]!.metadata).toEqual({ tool_call_id: "call_1", success: true })
        expect(log[3]!.sessionId).toBeUndefined()

        const scratch = Option.getOrThrow(yield* store.get(SCRATCH_ID))
        expect(scratch.isScratch).toBe(true)
        expect((yield* store.loadMessages(SCRATCH_ID)).map((m) => m.id)).toEqual(Fixture.ids.scratchMessages)
      }).pipe(Effect.provide(freshStore()))
    ))

  it.effect("messages already in a target workstream never hide the original's: scratch with a local message", () =>
    withDataDir((dir) =>
      Effect.gen(function*() {
        const store = yield* WorkstreamStore.WorkstreamStore
        yield* store.ensureScratch()
        const local = yield* store.storeMessage(SCRATCH_ID, { role: "user", content: "typed here before the import" })
        const report = yield* Import.run(dir)
        expect(report.messages.imported).toBe(Fixture.messageCounts.workstream + Fixture.messageCounts.scratch)
        const ids = (yield* store.loadMessages(SCRATCH_ID)).map((m) => m.id)
        expect(ids).toEqual([local.id, ...Fixture.ids.scratchMessages])
        const again = yield* Import.run(dir)
        expect(again.messages.imported).toBe(0)
      }).pipe(Effect.provide(freshStore()))
    ))

  it.effect("imports nothing twice: a re-run skips everything, a grown log adds only its new lines", () =>
    withDataDir((dir) =>
      Effect.gen(function*() {
        yield* Import.run(dir)
        const again = yield* Import.run(dir)
        expect(again.memories).toEqual({ imported: 0, skipped: Fixture.importableMemories, failed: 1 })
        expect(again.workstreams).toEqual({ imported: 0, skipped: 2, failed: 0 })
        expect(again.messages.imported).toBe(0)
        expect(again.messages.skipped).toBe(Fixture.messageCounts.workstream + Fixture.messageCounts.scratch)

        const newId = "0c0ffee0-0000-4000-8000-000000000abc"
        Fixture.appendMessage(dir, newId, "one more thing")
        const third = yield* Import.run(dir)
        expect(third.messages.imported).toBe(1)
        const log = yield* Effect.flatMap(
          WorkstreamStore.WorkstreamStore,
          (s) => s.loadMessages(WorkstreamId.make(Fixture.ids.workstream), { limit: 1 })
        )
        expect(log.map((m) => [m.id, m.seq, m.content])).toEqual([[newId, 5, "one more thing"]])
        expect(yield* Effect.flatMap(MemoryBackend.MemoryBackend, (m) => m.count({ includeSuperseded: true })))
          .toBe(Fixture.importableMemories)
      }).pipe(Effect.provide(freshStore()))
    ))

})

describe("Import", () => {
  const freshStore = inMemory

  it.effect("streams progress per phase and reports a torn log line as a failure, not a crash", () =>
    withDataDir((dir) =>
      Effect.gen(function*() {
        Fixture.appendTornLine(dir)
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Import.stream(dir, { batchSize: 2 })))
        const phases = events.flatMap((e) => (e._tag === "Progress" ? [e.phase] : []))
        expect(Array.from(new Set(phases))).toEqual(["memories", "workstreams", "messages"])
        const memoryProgress = events.flatMap((e) => (e._tag === "Progress" && e.phase === "memories" ? [e.done] : []))
        expect(memoryProgress).toEqual([2, 4, 6, 8])
        const last = events[events.length - 1]!
        expect(last._tag).toBe("Done")
        if (last._tag !== "Done") return
        expect(last.report.messages.imported).toBe(Fixture.messageCounts.workstream + Fixture.messageCounts.scratch)
        expect(last.report.messages.failed).toBe(1)
        expect(last.report.failures.find((f) => f.entity === "message")?.id).toBe("scratch:3")
      }).pipe(Effect.provide(freshStore()))
    ))

  it.effect("refuses a directory that holds no arawn data", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "arawn-empty-"))
      const error = yield* Effect.flip(Import.run(dir))
      rmSync(dir, { recursive: true, force: true })
      expect(error._tag).toBe("InvalidInput")
      expect(error.message).toContain("no memory.db")
    }).pipe(Effect.provide(freshStore())))
})

describe("Import reads logs by the local store's codec, a chunk at a time", () => {
  it.effect("the same lines are malformed for Import as for the store; progress counts bytes up to the logs' total", () =>
    withDataDir((dir) =>
      Effect.gen(function*() {
        const log = join(dir, "workstreams", Fixture.ids.workstream, "messages.jsonl")
        const base = { workstream_id: Fixture.ids.workstream, session_id: null, role: "user", content: "x" }
        const extra = [
          { ...base, id: "0c0ffee0-0000-4000-8000-000000000001", timestamp: "March 6 2026" },
          { ...base, id: "not-a-uuid", timestamp: "2026-03-06T03:03:16Z" },
          { ...base, id: "0C0FFEE0-0000-4000-8000-000000000002", session_id: "cli-7", timestamp: "2026-03-06T03:03:16Z" }
        ]
        for (let i = 0; i < 1200; i++) extra.push({ ...base, id: `0c0ffee0-0000-4000-8000-${String(1000 + i).padStart(12, "0")}`, timestamp: "2026-03-06T03:03:17Z" })
        appendFileSync(log, extra.map((l) => JSON.stringify(l)).join("\n") + "\n")
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(Import.stream(dir, { messageBatchSize: 100 })))
        const progress = events.flatMap((e) => (e._tag === "Progress" && e.phase === "messages" ? [e] : []))
        expect(progress.length).toBeGreaterThan(10)
        expect(progress.map((e) => e.done)).toEqual([...progress.map((e) => e.done)].sort((a, b) => a - b))
        const total = statSync(log).size + statSync(join(dir, "workstreams", "scratch", "messages.jsonl")).size
        expect(progress[progress.length - 1]!.done).toBe(total)
        expect(progress.every((e) => e.total === total)).toBe(true)
        const last = events[events.length - 1]!
        if (last._tag !== "Done") throw new Error("no report")
        const failed = last.report.failures.filter((f) => f.entity === "message")
        expect(failed.map((f) => f.id)).toEqual([`${Fixture.ids.workstream}:5`, `${Fixture.ids.workstream}:6`])
        expect(failed[0]!.reason).toContain("RFC 3339")
        expect(last.report.messages.imported).toBe(Fixture.messageCounts.workstream + Fixture.messageCounts.scratch + 1201)
        const stored = yield* Effect.flatMap(WorkstreamStore.WorkstreamStore, (s) =>
          s.loadMessages(WorkstreamId.make(Fixture.ids.workstream), { limit: 1201 }))
        expect(stored[0]!.id).toBe("0c0ffee0-0000-4000-8000-000000000002")
        expect(stored[0]!.sessionId).toBeUndefined()
        expect(stored[0]!.metadata).toEqual({ session_id: "cli-7" })
      }).pipe(Effect.provide(inMemory()))
    ))
})
