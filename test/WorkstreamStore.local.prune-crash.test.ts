import { existsSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { WorkstreamStore } from "arawn-store"
import type { PruneStep } from "../src/internal/local/prune.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { bundled, runChild } from "./support/workstream-children.js"
import { tempDir } from "./support/tempDir.js"

const CHILD = fileURLToPath(new URL("./support/workstream-crash-child.ts", import.meta.url))
const child = bundled(CHILD, "workstream-prune-crash-child")
afterAll(child.cleanup)

const store = WorkstreamStore.WorkstreamStore

const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore>) =>
  Effect.provide(body, Local.layer({ dir }))

/** Every line of a log is a complete JSON object followed by a newline. */
const cleanLines = (file: string) => {
  const text = readFileSync(file, "utf8")
  expect(text === "" || text.endsWith("\n")).toBe(true)
  return text.split("\n").slice(0, -1).map((line) => JSON.parse(line) as { readonly content: string })
}

describe("WorkstreamStore/Local prune crash safety", () => {
  const steps: ReadonlyArray<readonly [PruneStep | "none", boolean]> = [
    ["copied", false],
    ["marked", false],
    ["renamed", true],
    ["committed", true],
    ["none", true]
  ]
  for (const [step, pruned] of steps) {
    it.live(`a crash in prune at "${step}" leaves ${pruned ? "the pruned log" : "the whole log"}, readable, every kept message in place`, () =>
      Effect.gen(function*() {
        const dir = tempDir("arawn-ws-prune-")
        const { stored, ws } = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const ws = yield* s.create({ title: "long" })
          const stored = yield* s.storeMessages(ws.id, Array.from({ length: 12 }, (_, i) => ({ role: "user" as const, content: `turn ${i + 1}` })))
          yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 9, content: "turns 1 to 9" })
          yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 3 })
          return { stored, ws }
        }))
        // A store that stays open across the crash reads as another process would.
        const scope = yield* Scope.make()
        const open = yield* Layer.buildWithScope(Local.layer({ dir }), scope)
        const result = yield* runChild(child.command, ["prune", dir, ws.id], step === "none" ? {} : { env: { ARAWN_CRASH_AT: step } })
        expect(result.signal).toBe(step === "none" ? null : "SIGKILL")
        const expected = (pruned ? stored.slice(9) : stored).map((m) => [m.seq, m.id, m.content])
        const seenOpen = yield* Effect.provide(Effect.flatMap(store, (s) => s.loadMessages(ws.id)), open)
        expect(seenOpen.map((m) => [m.seq, m.id, m.content])).toEqual(expected)
        yield* Scope.close(scope, Exit.void)
        const after = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          return { messages: yield* s.loadMessages(ws.id), ws: Option.getOrThrow(yield* s.get(ws.id)) }
        }))
        expect(after.messages.map((m) => [m.seq, m.id, m.content])).toEqual(expected)
        expect(after.ws.messageCount).toBe(12)
        expect(after.ws.prunedThrough).toBe(pruned ? 9 : undefined)
        const log = join(dir, "workstreams", ws.id, "messages.jsonl")
        expect(cleanLines(log).map((l) => l.content)).toEqual(expected.map((e) => e[2]))
        // Whatever happened, the store goes on: appends continue the seqs, and a prune finishes the job.
        const again = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const next = yield* s.storeMessage(ws.id, { role: "user", content: "after" })
          const report = yield* s.prune({ workstreamId: ws.id })
          return { next, report, messages: yield* s.loadMessages(ws.id) }
        }))
        expect(again.next.seq).toBe(13)
        expect(again.report.removed).toBe(pruned ? 0 : 9)
        expect(again.messages.map((m) => m.seq)).toEqual([10, 11, 12, 13])
        expect(cleanLines(log).map((l) => l.content)).toEqual([...stored.slice(9).map((m) => m.content), "after"])
        // What a crash left beside the log is gone once a writer has passed.
        expect(existsSync(`${log}.prune`)).toBe(false)
        expect(existsSync(join(dir, "workstreams", ws.id, "prune.json"))).toBe(false)
      }), { timeout: 120_000 })
  }

  it.live("a pruned log rebuilds to the same seqs: by rebuildIndex, and from the record file when workstreams.db is lost", () =>
    Effect.gen(function*() {
      const dir = tempDir("arawn-ws-prune-rebuild-")
      const layer = Local.layer({ dir })
      const { before, ws } = yield* Effect.provide(Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "long" })
        yield* s.storeMessages(ws.id, Array.from({ length: 8 }, (_, i) => ({ role: "user" as const, content: `turn ${i + 1}` })))
        yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 5, content: "turns 1 to 5" })
        yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 1 })
        expect((yield* s.prune()).removed).toBe(5)
        const before = (yield* s.loadMessages(ws.id)).map((m) => [m.seq, m.id])
        const report = yield* Local.rebuildIndex(ws.id)
        expect(report.indexed).toBe(8)
        expect((yield* s.loadMessages(ws.id)).map((m) => [m.seq, m.id])).toEqual(before)
        return { before, ws }
      }), layer)
      for (const f of ["workstreams.db", "workstreams.db-wal", "workstreams.db-shm"]) rmSync(join(dir, f), { force: true })
      const after = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        return { messages: yield* s.loadMessages(ws.id), ws: Option.getOrThrow(yield* s.get(ws.id)) }
      }))
      expect(after.messages.map((m) => [m.seq, m.id])).toEqual(before)
      expect([after.ws.messageCount, after.ws.prunedThrough]).toEqual([8, 5])
    }), { timeout: 120_000 })
})
