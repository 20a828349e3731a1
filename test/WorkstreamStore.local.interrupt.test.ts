/**
 * Interrupting a caller of the local store cancels its work: a fork or promotion interrupted at any point between
 * its steps happened whole or not at all, leaves no staging directory once its workstreams are read, and no file
 * handle open once the store closes.
 */
import { readdirSync, readlinkSync, realpathSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { WorkstreamStore } from "arawn-store"
import { SCRATCH_ID } from "../src/Ids.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { tempDir } from "./support/tempDir.js"

const store = WorkstreamStore.WorkstreamStore
/** The files under `dir` this process holds open (Linux). */
const openUnder = (dir: string) =>
  readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`)
      return target.startsWith(dir) ? [target] : []
    } catch {
      return []
    }
  })
const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore>) =>
  Effect.provide(body, Local.layer({ dir }))

/** One turn of the event loop (file operations complete on later turns), no clock involved. */
const turn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** Runs `op` in a fiber interrupted after `turns` turns of the event loop; whether it had finished first. */
const interruptAfter = <A, E>(turns: number, op: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(op)
    for (let i = 0; i < turns; i++) yield* turn
    return Exit.isSuccess(yield* Fiber.interrupt(fiber))
  })

const stagingLeft = (dir: string) => readdirSync(join(dir, "workstreams")).filter((n) => n.startsWith("."))

/** Interruption points from the first event-loop turn on, until the operation finishes before its interruption. */
const POINTS = Array.from({ length: 18 }, (_, i) => i === 0 ? 0 : 2 ** (i - 1))

describe("WorkstreamStore/Local interrupted", () => {
  // A copy (its log staged, then installed) and a branch (its record alone).
  for (const copy of [true, false]) it.effect(`a fork${copy ? " with copy" : " (a branch)"} interrupted at any point is whole or absent, and leaves no staging and no open handle`, () =>
    Effect.gen(function*() {
      const dir = tempDir("arawn-ws-interrupt-")
      let finished = 0
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const source = yield* s.create({ title: "source" })
        // More lines than one batch of the indexed copy (5000), so an interruption can fall between batches.
        const contents = Array.from({ length: 6000 }, (_, i) => `message ${i}`)
        yield* s.storeMessages(source.id, contents.map((content) => ({ role: "user" as const, content })))
        for (const [k, yields] of POINTS.entries()) {
          const done = yield* interruptAfter(yields, s.fork(source.id, { atSeq: 5500, title: `fork ${k}`, copy }))
          const forks = (yield* s.list({ forkedFrom: source.id, limit: 100 })).items.filter((w) => w.title === `fork ${k}`)
          expect(forks.length).toBeLessThanOrEqual(1)
          if (done) expect(forks.length).toBe(1)
          for (const f of forks) {
            expect((yield* s.loadMessages(f.id)).map((m) => m.content)).toEqual(contents.slice(0, 5500))
          }
          expect(stagingLeft(dir)).toEqual([])
          expect(openUnder(`${realpathSync(dir)}/workstreams/.`)).toEqual([])
          expect((yield* s.loadMessages(source.id)).map((m) => m.content)).toEqual(contents)
          if (done && ++finished >= 2) break
        }
      }))
      expect(finished).toBeGreaterThan(0)
      expect(openUnder(realpathSync(dir))).toEqual([])
    }), 300_000)

  it.effect("a promotion interrupted at any point moves every message once or not at all, and leaves no open handle", () =>
    Effect.gen(function*() {
      const dir = tempDir("arawn-ws-interrupt-")
      let finished = 0
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        yield* s.ensureScratch()
        for (const [k, yields] of POINTS.entries()) {
          const contents = Array.from({ length: 300 }, (_, i) => `round ${k} message ${i}`)
          yield* s.storeMessages(SCRATCH_ID, contents.map((content) => ({ role: "user" as const, content })))
          const done = yield* interruptAfter(yields, s.promoteScratch({ title: `promoted ${k}` }))
          const promoted = (yield* s.list({ limit: 100 })).items.filter((w) => w.title === `promoted ${k}`)
          expect(promoted.length).toBeLessThanOrEqual(1)
          if (done) expect(promoted.length).toBe(1)
          const inScratch = (yield* s.loadMessages(SCRATCH_ID)).map((m) => m.content)
          const moved = promoted.length === 0 ? [] : (yield* s.loadMessages(promoted[0]!.id)).map((m) => m.content)
          // Scratch held only this round's messages: they are in exactly one of the two.
          expect(promoted.length === 0 ? inScratch : moved).toEqual(contents)
          expect(promoted.length === 0 ? moved : inScratch).toEqual([])
          expect(stagingLeft(dir)).toEqual([])
          if (promoted.length === 0) {
            yield* s.promoteScratch({ title: `promoted ${k} again` })
          }
          if (done && ++finished >= 2) break
        }
      }))
      expect(finished).toBeGreaterThan(0)
      expect(openUnder(realpathSync(dir))).toEqual([])
    }), 300_000)
})
