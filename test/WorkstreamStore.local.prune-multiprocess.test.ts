/**
 * Prune beside appends from other processes: two children append to one workstream through their own stores while
 * the parent prunes it in small steps. Afterwards every acknowledged message past the pruned prefix is there at its
 * seq, the log holds exactly those lines, and the counters still count every message appended.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { WorkstreamStore } from "arawn-store"
import { WorkstreamId } from "../src/Ids.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { bundled, runChild } from "./support/workstream-children.js"
import { tempDir } from "./support/tempDir.js"

const child = bundled(fileURLToPath(new URL("./support/workstream-mp-child.ts", import.meta.url)), "workstream-prune-mp-child")
afterAll(child.cleanup)

const ID = WorkstreamId.make("mp_pruned")

describe("WorkstreamStore/Local prune with other processes appending", () => {
  it.live("prune in steps while two processes append: nothing acknowledged past the prefix is lost", () =>
    Effect.gen(function*() {
      const dir = tempDir("arawn-ws-prune-mp-")
      const layer = Local.layer({ dir, busyTimeout: "30 seconds" })
      const outcome = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* WorkstreamStore.WorkstreamStore
          yield* s.create({ id: ID, title: "pruned while it grows" })
          yield* s.storeMessages(ID, Array.from({ length: 300 }, (_, i) => ({ role: "user" as const, content: `early ${i + 1}` })))
          yield* s.summarize(ID, { fromSeq: 1, toSeq: 250, content: "the early part" })
          yield* s.setRetention({ workstreamId: ID }, { maxMessages: 5 })
          let steps = 0
          const pruner = yield* Effect.fork(Effect.gen(function*() {
            for (;;) {
              const report = yield* s.prune({ workstreamId: ID, budget: 2 })
              steps++
              const now = Option.getOrThrow(yield* s.get(ID))
              if (report.removed === 0 && (now.prunedThrough ?? 0) >= 250) return
            }
          }))
          const runs = yield* Effect.forEach([0, 1], (i) => runChild(child.command, [dir, String(i), "150", `${ID},${ID}`], { guardMs: 120_000 }), {
            concurrency: "unbounded"
          })
          yield* Fiber.join(pruner)
          return { runs, steps, messages: yield* s.loadMessages(ID), ws: Option.getOrThrow(yield* s.get(ID)) }
        }),
        layer
      )
      for (const run of outcome.runs) {
        expect(run.stderr).toBe("")
        expect(run.code).toBe(0)
      }
      expect(outcome.steps).toBeGreaterThanOrEqual(125)
      const acks = outcome.runs.flatMap((r) =>
        r.stdout.split("\n").filter((l) => l.startsWith("ack ")).map((l) => {
          const [, , seq, id] = l.split(" ")
          return { seq: Number(seq), id: id! }
        }))
      expect(acks.length).toBeGreaterThanOrEqual(300)
      const total = 300 + acks.length
      expect(outcome.ws.messageCount).toBe(total)
      expect(outcome.ws.prunedThrough).toBe(250)
      expect(outcome.messages.map((m) => m.seq)).toEqual(Array.from({ length: total - 250 }, (_, i) => 251 + i))
      const bySeq = new Map(outcome.messages.map((m) => [m.seq, m.id]))
      for (const ack of acks) expect(bySeq.get(ack.seq)).toBe(ack.id)
      const lines = readFileSync(join(dir, "workstreams", ID, "messages.jsonl"), "utf8").split("\n").slice(0, -1)
      expect(lines.map((l) => (JSON.parse(l) as { readonly id: string }).id)).toEqual(outcome.messages.map((m) => m.id))
    }), { timeout: 300_000 })
})
