/**
 * The local store on a full disk (a 2 MiB tmpfs, which needs root to mount): an append that fails is not stored,
 * reads and reopening keep working without writing, and a retry with the same message id stores it exactly once.
 */
import { execFileSync } from "node:child_process"
import { closeSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { WorkstreamStore } from "arawn-store"
import type { Message, NewMessage, Workstream } from "../src/Workstream.js"
import * as Local from "../src/WorkstreamStore/Local.js"

/** Whether this process may mount a tmpfs: root, and a mount that works here (not in every container). */
const canMount = (() => {
  if (process.getuid?.() !== 0) return false
  const probe = mkdtempSync(join(tmpdir(), "arawn-ws-mount-"))
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], { stdio: "ignore" })
    execFileSync("umount", [probe], { stdio: "ignore" })
    return true
  } catch {
    return false
  } finally {
    rmdirSync(probe)
  }
})()
if (!canMount) console.warn("WorkstreamStore/Local on a full disk: mounting a tmpfs needs root; these tests do not run here")

/** Runs `body` on a fresh 2 MiB tmpfs, unmounted and removed afterwards. */
const onSmallDisk = <A, E, R>(body: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "arawn-ws-full-"))
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir])
      return dir
    }),
    body,
    (dir) =>
      Effect.sync(() => {
        execFileSync("umount", ["-l", dir])
        rmdirSync(dir)
      })
  )

/** Fills the disk holding `dir` with one file, until the next write fails for want of space. */
const fill = (dir: string) => {
  const fd = openSync(join(dir, "filler"), "w")
  try {
    for (const size of [1 << 16, 4096, 1]) {
      const chunk = Buffer.alloc(size)
      for (;;) {
        try {
          writeSync(fd, chunk)
        } catch (e) {
          if ((e as { readonly code?: string }).code === "ENOSPC") break
          throw e
        }
      }
    }
  } finally {
    closeSync(fd)
  }
}
const free = (dir: string) => rmSync(join(dir, "filler"))

const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore>) =>
  Effect.provide(body, Local.layer({ dir }))
const store = WorkstreamStore.WorkstreamStore
const logLines = (dir: string, ws: Workstream) =>
  readFileSync(join(dir, "workstreams", ws.id, "messages.jsonl"), "utf8").split("\n").filter((l) => l.length > 0)

/** Appends with given ids on the full disk until one fails: the log's last page and the WAL may hold a few first. */
const appendUntilFull = (ws: Workstream) =>
  Effect.gen(function*() {
    const s = yield* store
    const acknowledged: Array<Message> = []
    for (let i = 0; i < 200; i++) {
      const input: NewMessage = { id: crypto.randomUUID(), role: "user", content: `while full ${i}`, metadata: { attempt: i } }
      const result = yield* Effect.either(s.storeMessage(ws.id, input))
      if (Either.isRight(result)) acknowledged.push(result.right)
      else return { acknowledged, failed: input, error: result.left }
    }
    return yield* Effect.dieMessage("the disk never filled up")
  })

describe("WorkstreamStore/Local on a full disk", () => {
  it.effect.runIf(canMount)("an append that fails for want of space is not stored; retried with its id after space is freed, it is stored once", () =>
    onSmallDisk((dir) =>
      Effect.gen(function*() {
        const { acknowledged, error, failed, ws } = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const ws = yield* s.create({ title: "full disk" })
          yield* s.storeMessage(ws.id, { role: "user", content: "before" })
          fill(dir)
          const run = yield* appendUntilFull(ws)
          // Not visible in any read, nor counted, nor left in the log for a later read or open to pick up.
          const expected = ["before", ...run.acknowledged.map((m) => m.content)]
          expect((yield* s.loadMessages(ws.id)).map((m) => m.content)).toEqual(expected)
          expect((yield* s.loadMessages(ws.id, { limit: 1 })).map((m) => m.content)).toEqual(expected.slice(-1))
          expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(expected.length)
          expect(logLines(dir, ws).length).toBe(expected.length)
          return { ...run, ws }
        }))
        expect(error._tag).toBe("StorageError")
        const expected = ["before", ...acknowledged.map((m) => m.content)]
        // Reopened on the still-full disk: it opens, and the failed append is still nowhere.
        yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          expect((yield* s.loadMessages(ws.id)).map((m) => m.content)).toEqual(expected)
          expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(expected.length)
        }))
        free(dir)
        yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const stored = yield* s.storeMessage(ws.id, failed)
          expect(stored.seq).toBe(expected.length + 1)
          // A second retry (the caller never saw the first succeed) returns the same message and stores nothing.
          expect(yield* s.storeMessage(ws.id, failed)).toEqual(stored)
          expect((yield* s.loadMessages(ws.id)).map((m) => m.content)).toEqual([...expected, failed.content])
          expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(expected.length + 1)
        }))
      })
    ), 120_000)

  it.effect.runIf(canMount)("every read succeeds on a full disk: loads, get, list, search, and opening the store", () =>
    onSmallDisk((dir) =>
      Effect.gen(function*() {
        const ws = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const ws = yield* s.create({ title: "read while full", tags: ["full"] })
          yield* s.storeMessages(ws.id, [{ role: "user", content: "the disk is full" }, { role: "assistant", content: "reads still work" }])
          fill(dir)
          yield* appendUntilFull(ws)
          return ws
        }))
        yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const all = yield* s.loadMessages(ws.id)
          expect(all.slice(0, 2).map((m) => m.content)).toEqual(["the disk is full", "reads still work"])
          expect(yield* s.loadMessages(ws.id, { afterSeq: 1, beforeSeq: 3 })).toEqual([all[1]])
          expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(all.length)
          expect((yield* s.list({ tag: "full" })).items.map((w) => w.id)).toEqual([ws.id])
          expect((yield* s.searchMessages("reads work")).map((h) => h.message.seq)).toEqual([2])
        }))
        free(dir)
      })
    ), 120_000)
})
