/**
 * Several processes on one directory: children append concurrently to one shared workstream and to several
 * others through their own store, some are SIGKILLed mid-run, and the parent reads through a store of its own the
 * whole time. Afterwards every acknowledged message is present exactly once at its acknowledged seq, seqs are
 * 1..n gap-free, the log and the index agree, and `messageCount` matches `loadMessages`.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { WorkstreamStore } from "arawn-store"
import { WorkstreamId } from "../src/Ids.js"
import type { Message } from "../src/Workstream.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { bundled, runChild } from "./support/workstream-children.js"
import { removedAfterAll } from "./support/tempDir.js"

const child = bundled(fileURLToPath(new URL("./support/workstream-mp-child.ts", import.meta.url)), "workstream-mp-child")
afterAll(child.cleanup)

const CHILDREN = 6
const MESSAGES = 120
const KILLED = [1, 4]
const IDS = ["mp_shared", "mp_a", "mp_b", "mp_c"].map((id) => WorkstreamId.make(id))

interface Ack {
  readonly ws: string
  readonly seq: number
  readonly id: string
}

const acksOf = (stdout: string): Array<Ack> =>
  stdout.split("\n").filter((l) => l.startsWith("ack ") && l.split(" ").length === 5).map((l) => {
    const [, ws, seq, id] = l.split(" ")
    return { ws: ws!, seq: Number(seq), id: id! }
  })

/** Every batch a read returns is whole: a message `cX-bK:i/n` comes with all n of its batch. */
const batchesWhole = (messages: ReadonlyArray<Message>) => {
  const seen = new Map<string, { size: number; count: number }>()
  for (const m of messages) {
    const [batch, rest] = m.content.split(":")
    const size = Number(rest!.split("/")[1])
    const entry = seen.get(batch!) ?? { size, count: 0 }
    entry.count++
    seen.set(batch!, entry)
  }
  return Array.from(seen.values()).every((e) => e.count === e.size)
}

describe("WorkstreamStore/Local with several processes on one directory", () => {
  it.live(`${CHILDREN} processes append to one shared and three other workstreams, ${KILLED.length} SIGKILLed mid-run`, () =>
    Effect.gen(function*() {
      const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-mp-")))
      const layer = Local.layer({ dir, busyTimeout: "30 seconds" })
      yield* Effect.provide(
        Effect.flatMap(WorkstreamStore.WorkstreamStore, (s) => Effect.forEach(IDS, (id) => s.create({ id, title: id }))),
        layer
      )
      const started = Date.now()
      const results = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* WorkstreamStore.WorkstreamStore
          let reads = 0
          let torn = 0
          // The parent reads the shared log the whole time, as a separate process would.
          const reader = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
            const messages = yield* s.loadMessages(IDS[0]!)
            reads++
            if (!batchesWhole(messages) || messages.some((m, i) => m.seq !== i + 1)) torn++
            yield* Effect.sleep("20 millis")
          })))
          const runs = yield* Effect.forEach(
            Array.from({ length: CHILDREN }, (_, i) => i),
            (i) =>
              runChild(child.command, [dir, String(i), String(MESSAGES), IDS.join(",")], {
                ...(KILLED.includes(i) ? { killAfterFirstAck: 150 + 200 * i } : {}),
                guardMs: 120_000
              }),
            { concurrency: "unbounded" }
          )
          yield* Fiber.interrupt(reader)
          return { runs, reads, torn }
        }),
        layer
      )
      for (const [i, run] of results.runs.entries()) {
        if (KILLED.includes(i) && run.signal === "SIGKILL") continue
        expect(run.stderr, `child ${i}`).toBe("")
        expect(run.stdout.endsWith("done\n"), `child ${i}`).toBe(true)
      }
      const acks = results.runs.flatMap((r) => acksOf(r.stdout))
      const killed = results.runs.filter((r) => r.signal === "SIGKILL").length

      const after = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* WorkstreamStore.WorkstreamStore
          return yield* Effect.forEach(IDS, (id) =>
            Effect.gen(function*() {
              const messages = yield* s.loadMessages(id)
              const ws = Option.getOrThrow(yield* s.get(id))
              const report = yield* Local.rebuildIndex(id)
              const rebuilt = yield* s.loadMessages(id)
              return { id, messages, ws, report, rebuilt }
            }))
        }),
        layer
      )
      let present = 0
      for (const { id, messages, rebuilt, report, ws } of after) {
        expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1))
        expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length)
        expect(ws.messageCount).toBe(messages.length)
        expect(batchesWhole(messages)).toBe(true)
        // The index and the log agree: rebuilding the index from the log changes nothing.
        expect(report.indexed).toBe(messages.length)
        expect(report.malformed).toEqual([])
        expect(rebuilt).toEqual(messages)
        const lines = readFileSync(join(dir, "workstreams", id, "messages.jsonl"), "utf8").split("\n")
        expect(lines.pop()).toBe("")
        expect(lines.length).toBe(messages.length)
        const bySeq = new Map(messages.map((m) => [m.seq, m.id]))
        for (const ack of acks.filter((a) => a.ws === id)) expect(bySeq.get(ack.seq)).toBe(ack.id)
        present += messages.length
      }
      expect(killed).toBeGreaterThanOrEqual(1)
      expect(results.torn).toBe(0)
      expect(results.reads).toBeGreaterThan(5)
      console.log(
        `multi-process: ${CHILDREN} processes x ${MESSAGES} messages, ${killed} SIGKILLed; ${acks.length} acknowledged, ` +
          `${present} present (${present - acks.length} written but unacknowledged when killed); ${results.reads} ` +
          `concurrent reads, 0 torn; ${((Date.now() - started) / 1000).toFixed(1)} s`
      )
    }), { timeout: 180_000 })

  it.live("processes appending to scratch while another promotes it: every acknowledged message lands in exactly one workstream", () =>
    Effect.gen(function*() {
      const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-mp-promote-")))
      const layer = Local.layer({ dir, busyTimeout: "30 seconds" })
      const scratch = WorkstreamId.make("scratch")
      yield* Effect.provide(Effect.flatMap(WorkstreamStore.WorkstreamStore, (s) => s.ensureScratch()), layer)
      // The children append until the parent has promoted a few times (or until their bound), so the race is run on
      // a loaded machine too: with a fixed count, the appends once ended before a single promotion got its turn.
      const stop = join(dir, "stop")
      const { promoted, refused, runs } = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* WorkstreamStore.WorkstreamStore
          const promoted: Array<WorkstreamId> = []
          const refused: Array<string> = []
          const promoter = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
            yield* Effect.sleep("150 millis")
            const done = yield* Effect.either(s.promoteScratch({ title: "promoted" }))
            if (done._tag === "Right") promoted.push(done.right.id)
            else refused.push(String(done.left))
            if (promoted.length >= 3) writeFileSync(stop, "")
          })))
          const runs = yield* Effect.forEach(
            [0, 1, 2],
            (i) => runChild(child.command, [dir, String(i), "80", `${scratch},${scratch}`, stop], {
              ...(i === 2 ? { killAfterFirstAck: 400 } : {}),
              guardMs: 120_000
            }),
            { concurrency: "unbounded" }
          )
          yield* Fiber.interrupt(promoter)
          return { promoted, refused, runs }
        }),
        layer
      )
      const acked = runs.flatMap((r) => acksOf(r.stdout)).map((a) => a.id)
      // Every workstream, not only the promotions the parent saw complete: interrupting the promoter at the end may
      // cut off a promotion that committed before its caller heard of it.
      const logs = yield* Effect.provide(
        Effect.flatMap(WorkstreamStore.WorkstreamStore, (s) =>
          Effect.flatMap(s.list({ limit: 1000 }), (all) =>
            Effect.forEach(all.items, (w) =>
              Effect.map(Effect.zip(s.loadMessages(w.id), s.get(w.id)), ([messages, ws]) => ({ messages, ws: Option.getOrThrow(ws) }))))),
        layer
      )
      const seen = new Map<string, number>()
      for (const { messages, ws } of logs) {
        expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1))
        expect(ws.messageCount).toBe(messages.length)
        for (const m of messages) seen.set(m.id, (seen.get(m.id) ?? 0) + 1)
      }
      expect(promoted.length, `refused: ${refused.slice(-3).join("; ")}`).toBeGreaterThanOrEqual(2)
      for (const id of acked) expect(seen.get(id), id).toBe(1)
      console.log(
        `multi-process promote: 3 processes x 80 messages into scratch (1 SIGKILLed) while the parent promoted it ` +
          `${promoted.length} times; ${acked.length} acknowledged, ${[...seen.values()].reduce((a, b) => a + b, 0)} present, each once`
      )
    }), { timeout: 180_000 })
})
