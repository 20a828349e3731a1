import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { WorkstreamStore } from "arawn-store"
import { SCRATCH_ID } from "../src/Ids.js"
import type { WorkstreamId } from "../src/Ids.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { bundled, runChild } from "./support/workstream-children.js"
import type { PromoteStep } from "../src/internal/local/promote.js"
import type { ForkStep } from "../src/internal/local/fork.js"
import type { BranchStep } from "../src/internal/local/tree.js"
import { outcome } from "../src/testing/internal.js"
import { removedAfterAll } from "./support/tempDir.js"

const CHILD = fileURLToPath(new URL("./support/workstream-crash-child.ts", import.meta.url))
const child = bundled(CHILD, "workstream-crash-child")
afterAll(child.cleanup)

const store = WorkstreamStore.WorkstreamStore

const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore>) =>
  Effect.provide(body, Local.layer({ dir }))

interface Ack {
  readonly seq: number
  readonly token: string
  readonly length: number
}

/** Runs the child; `killAfterFirstAck` (ms) SIGKILLs it that long after its first acknowledgement. */
const runCrashChild = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly killAfterFirstAck?: number }) =>
  runChild(child.command, args, options)

const acksOf = (stdout: string): Array<Ack> =>
  stdout.split("\n").filter((l) => l.startsWith("ack ") && l.split(" ").length === 4).map((l) => {
    const [, seq, token, length] = l.split(" ")
    return { seq: Number(seq), token: token!, length: Number(length) }
  })

/** Every line of a log is a complete JSON object followed by a newline. */
const expectCleanLog = (file: string) => {
  const text = readFileSync(file, "utf8")
  expect(text === "" || text.endsWith("\n")).toBe(true)
  for (const line of text.split("\n").slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow()
}

describe("WorkstreamStore/Local crash safety", () => {
  it.live("SIGKILL at random moments during appends never loses an acknowledged message or breaks the log", () =>
    Effect.gen(function*() {
      const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-crash-")))
      const ws = yield* within(dir, Effect.flatMap(store, (s) => s.create({ title: "crash" })))
      const acknowledged = new Map<number, Ack>()
      let killedMidRun = 0
      for (let run = 0; run < 20; run++) {
        const result = yield* runCrashChild(["append", dir, ws.id, String(run)], { killAfterFirstAck: Math.floor(Math.random() * 250) })
        expect(result.stderr).toBe("")
        if (result.signal === "SIGKILL") killedMidRun++
        for (const ack of acksOf(result.stdout)) {
          expect(acknowledged.has(ack.seq)).toBe(false)
          acknowledged.set(ack.seq, ack)
        }
        const loaded = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          return { messages: yield* s.loadMessages(ws.id), ws: Option.getOrThrow(yield* s.get(ws.id)) }
        }))
        expect(loaded.messages.map((m) => m.seq)).toEqual(loaded.messages.map((_, i) => i + 1))
        expect(loaded.ws.messageCount).toBe(loaded.messages.length)
        for (const ack of acknowledged.values()) {
          const m = loaded.messages[ack.seq - 1]
          expect(m?.seq).toBe(ack.seq)
          expect(m?.content.startsWith(`${ack.token}:`)).toBe(true)
          expect(m?.content.length).toBe(ack.length)
        }
        expectCleanLog(join(dir, "workstreams", ws.id, "messages.jsonl"))
      }
      expect(killedMidRun).toBe(20)
      expect(acknowledged.size).toBeGreaterThan(20)
    }), { timeout: 300_000 })

  const steps: ReadonlyArray<readonly [PromoteStep | "none", "scratch" | "promoted"]> = [
    ["written", "scratch"],
    ["committed", "promoted"],
    ["renamed", "promoted"],
    ["truncated", "promoted"],
    ["none", "promoted"]
  ]
  for (const [step, holder] of steps) {
    it.live(`a crash in promoteScratch at "${step}" leaves every message in exactly one workstream (${holder})`, () =>
      Effect.gen(function*() {
        const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-promote-")))
        const stored = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          yield* s.ensureScratch()
          const messages = yield* s.storeMessages(SCRATCH_ID, [1, 2, 3, 4, 5].map((i) => ({ role: "user" as const, content: `idea ${i}` })))
          yield* s.summarize(SCRATCH_ID, { fromSeq: 2, toSeq: 4, content: "ideas 2 to 4" })
          return messages
        }))
        const result = yield* runCrashChild(["promote", dir], step === "none" ? {} : { env: { ARAWN_CRASH_AT: step } })
        expect(result.signal).toBe(step === "none" ? null : "SIGKILL")
        const after = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const others = (yield* s.list({ limit: 100 })).items.filter((w) => w.id !== SCRATCH_ID)
          return {
            scratch: yield* s.loadMessages(SCRATCH_ID),
            others,
            moved: yield* Effect.forEach(others, (w) => s.loadMessages(w.id)),
            // A summary moves with the messages it covers: it is where they are, and only there.
            summaries: yield* Effect.forEach([SCRATCH_ID, ...others.map((w) => w.id)], (id) =>
              Effect.map(s.listSummaries(id), (xs) => xs.map((x) => [x.workstreamId, x.fromSeq, x.toSeq, x.content])))
          }
        }))
        const contents = stored.map((m) => m.content)
        const logs = readdirSync(join(dir, "workstreams")).sort()
        if (holder === "scratch") {
          expect(after.scratch.map((m) => m.content)).toEqual(contents)
          expect(after.others).toEqual([])
          expect(after.summaries).toEqual([[[SCRATCH_ID, 2, 4, "ideas 2 to 4"]]])
          expect(logs).toEqual([SCRATCH_ID])
        } else {
          expect(after.scratch).toEqual([])
          expect(after.others.length).toBe(1)
          const promoted = after.others[0]!
          expect(promoted.messageCount).toBe(5)
          expect(after.summaries).toEqual([[], [[promoted.id, 2, 4, "ideas 2 to 4"]]])
          expect(after.moved[0]!.map((m) => [m.id, m.seq, m.content])).toEqual(stored.map((m) => [m.id, m.seq, m.content]))
          expect(logs).toEqual([promoted.id, SCRATCH_ID].sort())
          const file = join(dir, "workstreams", promoted.id, "messages.jsonl")
          expectCleanLog(file)
          const ids = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l).workstream_id as WorkstreamId)
          expect(ids).toEqual(Array(5).fill(promoted.id))
          expect(readFileSync(join(dir, "workstreams", SCRATCH_ID, "messages.jsonl")).length).toBe(0)
        }
        // Whatever happened, the store is usable again: scratch takes messages and promotes once more.
        const again = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const next = yield* s.storeMessage(SCRATCH_ID, { role: "user", content: "after" })
          return { next, promoted: yield* s.promoteScratch({ title: "again" }) }
        }))
        expect(again.next.seq).toBe(holder === "scratch" ? 6 : 1)
        expect(again.promoted.messageCount).toBe(holder === "scratch" ? 6 : 1)
      }), { timeout: 120_000 })
  }

  const forkSteps: ReadonlyArray<readonly [ForkStep | "none", boolean]> = [
    ["written", false],
    ["committed", true],
    ["installed", true],
    ["none", true]
  ]
  for (const [step, exists] of forkSteps) {
    it.live(`a crash in fork at "${step}" leaves ${exists ? "a complete fork" : "no fork"}, the source untouched`, () =>
      Effect.gen(function*() {
        const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-fork-")))
        const word = `w${Math.random().toString(36).slice(2)}`
        const { source, stored } = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const source = yield* s.create({ title: "source" })
          const stored = yield* s.storeMessages(source.id, [1, 2, 3, 4, 5, 6].map((i) => ({ role: "user" as const, content: `${word} turn ${i}` })))
          return { source, stored }
        }))
        // A store that stays open across the crash sees the fork as a process that never reopened would.
        const scope = yield* Scope.make()
        const open = yield* Layer.buildWithScope(Local.layer({ dir }), scope)
        const result = yield* runCrashChild(["fork", dir, source.id, "4"], step === "none" ? {} : { env: { ARAWN_CRASH_AT: step } })
        expect(result.signal).toBe(step === "none" ? null : "SIGKILL")
        const check = Effect.gen(function*() {
          const s = yield* store
          const forks = (yield* s.list({ forkedFrom: source.id })).items
          expect(forks.length).toBe(exists ? 1 : 0)
          expect(yield* s.loadMessages(source.id)).toEqual(stored)
          const hits = yield* s.searchMessages(word, { limit: 100 })
          expect(hits.filter((h) => h.workstreamId === source.id).length).toBe(6)
          if (forks.length === 1) {
            const fork = forks[0]!
            expect(fork.messageCount).toBe(4)
            expect(fork.forkedFrom).toEqual({ workstreamId: source.id, seq: 4 })
            const copied = yield* s.loadMessages(fork.id)
            expect(copied.map((m) => [m.seq, m.content, m.timestamp.epochMillis])).toEqual(
              stored.slice(0, 4).map((m) => [m.seq, m.content, m.timestamp.epochMillis])
            )
            const found = hits.filter((h) => h.workstreamId === fork.id).map((h) => h.message)
            expect([...found].sort((a, b) => a.seq - b.seq)).toEqual(copied)
            expect((yield* s.storeMessage(fork.id, { role: "user", content: "after" })).seq).toBe(5)
            return fork.id
          }
          expect(hits.length).toBe(6)
          return undefined
        })
        const seenOpen = yield* Effect.provide(check, open)
        yield* Scope.close(scope, Exit.void)
        const seenAfter = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          return (yield* s.list({ forkedFrom: source.id })).items.map((w) => [w.id, w.messageCount])
        }))
        expect(seenAfter).toEqual(seenOpen === undefined ? [] : [[seenOpen, 5]])
        const logs = readdirSync(join(dir, "workstreams")).sort()
        expect(logs).toEqual((seenOpen === undefined ? [source.id] : [source.id, seenOpen]).sort())
        if (seenOpen !== undefined) expectCleanLog(join(dir, "workstreams", seenOpen, "messages.jsonl"))
        // The store forks again whatever happened.
        const again = yield* within(dir, Effect.flatMap(store, (s) => s.fork(source.id, { title: "again", copy: true })))
        expect(again.messageCount).toBe(6)
      }), { timeout: 120_000 })
  }

  // A branch writes its record alone: killed before its commit it never happened, or (its record file already
  // written) the next open adopts it whole; after, it is there. Either way no message of the source moves.
  const branchSteps: ReadonlyArray<BranchStep | "none"> = ["recorded", "committed", "none"]
  for (const step of branchSteps) {
    it.live(`a crash in a branch at "${step}" leaves no branch or a whole one, the source untouched and still appendable`, () =>
      Effect.gen(function*() {
        const dir = removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-branch-")))
        const word = `w${Math.random().toString(36).slice(2)}`
        const { source, stored } = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const source = yield* s.create({ title: "source" })
          const stored = yield* s.storeMessages(source.id, [1, 2, 3, 4, 5, 6].map((i) => ({ role: "user" as const, content: `${word} turn ${i}` })))
          return { source, stored }
        }))
        const sourceLog = readFileSync(join(dir, "workstreams", source.id, "messages.jsonl"))
        const result = yield* runCrashChild(["branch", dir, source.id, "4"], step === "none" ? {} : { env: { ARAWN_CRASH_AT: step } })
        expect(result.signal).toBe(step === "none" ? null : "SIGKILL")
        const seen = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const forks = (yield* s.list({ forkedFrom: source.id })).items
          expect(forks.length).toBeLessThanOrEqual(1)
          expect(yield* s.loadMessages(source.id)).toEqual(stored)
          expect((yield* s.searchMessages(word, { limit: 100 })).length).toBe(6)
          if (forks.length === 0) return undefined
          const branch = forks[0]!
          expect(branch.forkedFrom).toEqual({ workstreamId: source.id, seq: 4, shared: true })
          expect(branch.messageCount).toBe(4)
          expect(yield* s.loadMessages(branch.id)).toEqual(stored.slice(0, 4))
          expect((yield* s.searchMessages(word, { branch: branch.id, limit: 100 })).map((h) => h.seq).sort()).toEqual([1, 2, 3, 4])
          expect((yield* s.storeMessage(branch.id, { role: "user", content: "after" })).seq).toBe(5)
          expect(yield* outcome(s.delete(source.id))).toBe("InvalidInput")
          return branch.id
        }))
        if (step !== "recorded") expect(seen).toBeDefined()
        // The source's log is byte for byte what it was: a branch copies nothing and rewrites nothing.
        expect(readFileSync(join(dir, "workstreams", source.id, "messages.jsonl")).equals(sourceLog)).toBe(true)
        if (seen !== undefined) {
          const lines = readFileSync(join(dir, "workstreams", seen, "messages.jsonl"), "utf8").trim().split("\n")
          expect(lines.length).toBe(1)
          expect(JSON.parse(lines[0]!).content).toBe("after")
        }
        expect((yield* within(dir, Effect.flatMap(store, (s) => s.storeMessage(source.id, { role: "user", content: "more" })))).seq).toBe(7)
      }), { timeout: 120_000 })
  }
})
