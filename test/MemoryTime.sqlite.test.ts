// A SQLite memory store made before memories had time axes gains them on open, its superseded facts retracted.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Layer, Option, TestClock } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { removedAfterAll } from "./support/tempDir.js"

const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-memory-time-")))
const COLUMNS = ["valid_from", "valid_to", "recorded_at", "retracted_at", "valid_to_recorded_at", "prior_valid_to"]

describe("MemoryBackend/Sqlite time axes", () => {
  it.effect("a store from before the time axes is migrated: valid and recorded from creation, superseded facts retracted", () =>
    Effect.gen(function*() {
      const filename = join(dir, "old.db")
      const layer = () => SqliteMemory.layer({ filename, readers: 0 }).pipe(Layer.provide(Embedder.layerHashing))
      const fact = (content: string) => ({ content, metadata: { subject: "user.plan", predicate: "is" } })
      yield* TestClock.adjust(Duration.days(1))
      const [old, next] = yield* Effect.provide(Effect.gen(function*() {
        const m = yield* MemoryBackend.MemoryBackend
        const a = yield* m.storeFact(fact("plan free"))
        yield* TestClock.adjust(Duration.seconds(10))
        return [a, yield* m.storeFact(fact("plan pro"))] as const
      }), layer())
      // What the store looked like before: no time columns, no record of their migration.
      const raw = new Database(filename)
      for (const c of COLUMNS) raw.exec(`ALTER TABLE arawn_store_memories DROP COLUMN ${c}`)
      raw.exec("DELETE FROM arawn_store_memory_migrations WHERE migration_id = 10")
      raw.close()
      yield* Effect.provide(Effect.gen(function*() {
        const m = yield* MemoryBackend.MemoryBackend
        const was = Option.getOrThrow(yield* m.get(old.id))
        expect([was.retractedAt?.epochMillis, was.recordedAt?.epochMillis]).toEqual([was.updatedAt.epochMillis, was.createdAt.epochMillis])
        const timeline = yield* m.facts("user.plan")
        expect(timeline.map((e) => e.memory.id)).toEqual([next.id])
        const before = yield* m.facts("user.plan", { asOf: { recorded: DateTime.subtract(was.updatedAt, { millis: 1 }) } })
        expect(before.map((e) => e.memory.id)).toEqual([old.id])
      }), layer())
    }), 120_000)
})
