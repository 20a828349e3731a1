import { afterAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Layer, Option, Stream, TestClock } from "effect"
import * as Dump from "../src/Dump.js"
import * as Embedder from "../src/Embedder.js"
import { SCRATCH_ID } from "../src/Ids.js"
import * as MemoryBackend from "../src/MemoryBackend.js"
import * as SqliteMemoryBackend from "../src/MemoryBackend/Sqlite.js"
import * as WorkstreamStore from "../src/WorkstreamStore.js"
import * as LocalWorkstreamStore from "../src/WorkstreamStore/Local.js"
import { comparable, exported, seed } from "./support/dump.js"

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

describe("Dump", () => {
  it.effect("a store exported, imported elsewhere and exported again gives the same records; a second import adds nothing", () =>
    Effect.gen(function*() {
      const first = yield* Effect.provide(Effect.zipRight(seed, exported), inMemory())
      expect(JSON.parse(first[0]!)).toMatchObject({ kind: "arawn-store-dump", version: 1 })
      const kinds = first.slice(1).map((l) => JSON.parse(l).kind)
      expect(kinds.filter((k) => k === "memory").length).toBe(7)
      expect(kinds.filter((k) => k === "workstream").length).toBe(4)
      expect(kinds.filter((k) => k === "message").length).toBe(7)
      expect(kinds.filter((k) => k === "summary").length).toBe(2)
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
          memories: { imported: 7, skipped: 0, failed: 0 },
          workstreams: { imported: 4, skipped: 0, failed: 0 },
          messages: { imported: 7, skipped: 0, failed: 0 },
          summaries: { imported: 2, skipped: 0, failed: 0 },
          failures: []
        }
      })
      expect(done(again)).toEqual({
        _tag: "Done",
        report: {
          memories: { imported: 0, skipped: 7, failed: 0 },
          workstreams: { imported: 0, skipped: 4, failed: 0 },
          messages: { imported: 0, skipped: 7, failed: 0 },
          summaries: { imported: 0, skipped: 2, failed: 0 },
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

  it.effect("the scratch workstream keeps its record (createdAt, updatedAt, version, fields) through every export and import", () =>
    Effect.gen(function*() {
      const scratchOf = (lines: ReadonlyArray<string>) =>
        lines.map((l) => JSON.parse(l)).find((r) => r.kind === "workstream" && r.workstream.id === SCRATCH_ID)?.workstream
      const first = yield* Effect.provide(Effect.gen(function*() {
        const w = yield* WorkstreamStore.WorkstreamStore
        yield* TestClock.adjust(Duration.hours(1))
        yield* w.ensureScratch()
        yield* TestClock.adjust(Duration.minutes(5))
        yield* w.storeMessage(SCRATCH_ID, { role: "user", content: "a note" })
        yield* TestClock.adjust(Duration.minutes(5))
        yield* w.update(SCRATCH_ID, { title: "Notes", tags: ["n"], summary: "loose ends" })
        return yield* exported
      }), inMemory())
      const original = scratchOf(first)
      expect(original).toMatchObject({ title: "Notes", version: 1, messageCount: 1 })
      expect(original.createdAt).not.toBe(original.updatedAt)
      // Each hop imports a day later, so a record made anew would carry the time of the import.
      const hop = <E>(lines: ReadonlyArray<string>, layer: Layer.Layer<MemoryBackend.MemoryBackend | WorkstreamStore.WorkstreamStore, E>) =>
        Effect.provide(Effect.gen(function*() {
          yield* TestClock.adjust(Duration.days(1))
          yield* Stream.runDrain(Dump.importDump(Stream.fromIterable(lines)))
          return yield* exported
        }), layer)
      const onDiskCopy = yield* hop(first, onDisk())
      expect(scratchOf(onDiskCopy)).toEqual(original)
      const back = yield* hop(onDiskCopy, inMemory())
      expect(scratchOf(back)).toEqual(original)
      expect(comparable(back)).toEqual(comparable(first))
    }))

  it.effect("a pruned workstream keeps its seqs and prunedThrough through export and import, on disk and back", () =>
    Effect.gen(function*() {
      const messagesOf = (lines: ReadonlyArray<string>) =>
        lines.map((l) => JSON.parse(l)).filter((r) => r.kind === "message").map((r) => [r.seq, r.line.content])
      const first = yield* Effect.provide(Effect.gen(function*() {
        const w = yield* WorkstreamStore.WorkstreamStore
        const ws = yield* w.create({ title: "long thread" })
        yield* w.storeMessages(ws.id, Array.from({ length: 6 }, (_, i) => ({ role: "user" as const, content: `m${i + 1}` })))
        yield* w.summarize(ws.id, { fromSeq: 1, toSeq: 4, content: "the first four" })
        yield* w.setRetention({ workstreamId: ws.id }, { maxMessages: 2 })
        expect((yield* w.prune()).removed).toBe(4)
        return yield* exported
      }), inMemory())
      expect(messagesOf(first)).toEqual([[5, "m5"], [6, "m6"]])
      const hop = <E>(lines: ReadonlyArray<string>, layer: Layer.Layer<MemoryBackend.MemoryBackend | WorkstreamStore.WorkstreamStore, E>) =>
        Effect.provide(Effect.zipRight(Stream.runDrain(Dump.importDump(Stream.fromIterable(lines))), exported), layer)
      const onDiskCopy = yield* hop(first, onDisk())
      expect(messagesOf(onDiskCopy)).toEqual([[5, "m5"], [6, "m6"]])
      const record = onDiskCopy.map((l) => JSON.parse(l)).find((r) => r.kind === "workstream")?.workstream
      expect([record?.messageCount, record?.prunedThrough]).toEqual([6, 4])
      const back = yield* hop(onDiskCopy, inMemory())
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
