/**
 * The local store's directory is enough to rebuild it: with `workstreams.db` lost, every workstream comes back on
 * the next open with its record (from `workstreams/<id>/workstream.json`) and its messages (from its log).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect, Option } from "effect"
import { WorkstreamStore } from "arawn-store"
import { SCRATCH_ID, WorkstreamId } from "../src/Ids.js"
import type { Workstream } from "../src/Workstream.js"
import * as Local from "../src/WorkstreamStore/Local.js"

const store = WorkstreamStore.WorkstreamStore

/** A fresh directory, removed when `body` ends. */
const inDir = <A, E, R>(body: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "arawn-ws-recovery-"))),
    body,
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore>) =>
  Effect.provide(body, Local.layer({ dir }))

const loseIndex = (dir: string) => {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `workstreams.db${suffix}`), { force: true })
}

/** Every workstream with every message, in list order. */
const snapshot = Effect.gen(function*() {
  const s = yield* store
  const all: Array<Workstream> = []
  let cursor: string | undefined
  for (;;) {
    const page = yield* s.list({ limit: 1000, ...(cursor !== undefined ? { cursor } : {}) })
    all.push(...page.items)
    if (page.nextCursor._tag === "None") break
    cursor = page.nextCursor.value
  }
  return yield* Effect.forEach(all, (ws) =>
    Effect.all({ ws: Effect.succeed(ws), messages: s.loadMessages(ws.id), summaries: s.listSummaries(ws.id), context: s.loadContext(ws.id) }))
})

describe("WorkstreamStore/Local without its index", () => {
  it.effect("deleting workstreams.db loses nothing: every workstream is back with its record, messages and summaries", () =>
    inDir((dir) =>
      Effect.gen(function*() {
        const before = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const a = yield* s.create({ title: "Release 2.0", summary: "cut and ship", tags: ["release", "ci"], defaultModel: "opus" })
          yield* s.storeMessages(a.id, [{ role: "user", content: "cut the branch" }, { role: "assistant", content: "done" }])
          yield* s.update(a.id, { state: "paused", tags: ["release"] })
          // Summaries live beside the logs, not in the index: an inherited one, a branch's own, a promoted one.
          yield* s.summarize(a.id, { fromSeq: 1, toSeq: 1, content: "the branch is cut", metadata: { by: "model" } })
          const retry = yield* s.fork(a.id, { atSeq: 1, title: "retry", tags: ["fork"] })
          yield* s.storeMessage(retry.id, { role: "assistant", content: "not yet" })
          yield* s.summarize(retry.id, { fromSeq: 1, toSeq: 2, content: "cut, not yet" })
          yield* s.fork(a.id, { atSeq: 0, title: "empty fork" })
          yield* s.create({ title: "no messages yet" })
          yield* s.ensureScratch()
          yield* s.storeMessages(SCRATCH_ID, [{ role: "user", content: "a loose note" }])
          yield* s.summarize(SCRATCH_ID, { fromSeq: 1, toSeq: 1, content: "a note" })
          const promoted = yield* s.promoteScratch({ title: "promoted", tags: ["notes"] })
          yield* s.storeMessage(promoted.id, { role: "assistant", content: "later" })
          yield* s.storeMessages(SCRATCH_ID, [{ role: "user", content: "another loose note" }])
          return yield* snapshot
        }))
        expect(before.length).toBe(6)
        expect(before.flatMap((b) => b.summaries.map((x) => x.content)).sort()).toEqual(["a note", "cut, not yet", "the branch is cut", "the branch is cut"])
        loseIndex(dir)
        const after = yield* within(dir, snapshot)
        expect(after).toEqual(before)
        // The rebuilt index is a working one: appends continue the seqs, updates keep the compare-and-set token.
        yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const a = before.find((b) => b.ws.title === "Release 2.0")!.ws
          expect((yield* s.storeMessage(a.id, { role: "user", content: "next" })).seq).toBe(3)
          expect((yield* s.update(a.id, { title: "Release 2.0.1" }, { expected: a.version })).version).toBe(a.version + 1)
        }))
      })))

  it.effect("a store made before record files gets them on open; a log without one waits for create with its id", () =>
    inDir((dir) =>
      Effect.gen(function*() {
        const made = yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          const ws = yield* s.create({ title: "old store", tags: ["t"] })
          yield* s.storeMessage(ws.id, { role: "user", content: "hello" })
          return ws
        }))
        // As a store from before record files: none on disk, and the migration that writes them not yet run.
        rmSync(join(dir, "workstreams", made.id, "workstream.json"))
        yield* Effect.provide(
          Effect.flatMap(SqliteClient.SqliteClient, (sql) => sql`DELETE FROM arawn_store_workstream_migrations WHERE migration_id >= 7`),
          SqliteClient.layer({ filename: join(dir, "workstreams.db") })
        )
        yield* within(dir, Effect.void)
        expect(existsSync(join(dir, "workstreams", made.id, "workstream.json"))).toBe(true)

        // A log no index knows and no record describes (the original runtime's): reported, and adopted by create.
        const stray = WorkstreamId.make("stray-log")
        mkdirSync(join(dir, "workstreams", stray))
        writeFileSync(
          join(dir, "workstreams", stray, "messages.jsonl"),
          `${JSON.stringify({ id: "7c9e6679-7425-40de-944b-e07fc1f90ae7", workstream_id: stray, session_id: null, role: "user", content: "found", timestamp: "2026-03-06T03:03:16.601Z" })}\n`
        )
        yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          expect(Option.isNone(yield* s.get(stray))).toBe(true)
          expect((yield* s.create({ id: stray, title: "the original's thread" })).messageCount).toBe(1)
        }))

        loseIndex(dir)
        yield* within(dir, Effect.gen(function*() {
          const s = yield* store
          expect(Option.getOrThrow(yield* s.get(made.id))).toMatchObject({ title: "old store", tags: ["t"], messageCount: 1 })
          expect(Option.getOrThrow(yield* s.get(stray))).toMatchObject({ title: "the original's thread", messageCount: 1 })
          expect((yield* s.loadMessages(stray)).map((m) => m.content)).toEqual(["found"])
        }))
      })))

  it.effect("stores under different prefixes in one directory each adopt only their own workstreams", () =>
    inDir((dir) =>
      Effect.gen(function*() {
        const tenant = Local.layer({ dir, prefix: "tenant_a" })
        const mine = yield* Effect.provide(Effect.flatMap(store, (s) => s.create({ title: "tenant's" })), tenant)
        const theirs = yield* within(dir, Effect.flatMap(store, (s) => s.create({ title: "default's" })))
        loseIndex(dir)
        const titles = (layer: typeof tenant) =>
          Effect.provide(Effect.map(Effect.flatMap(store, (s) => s.list()), (page) => page.items.map((w) => [w.id, w.title])), layer)
        expect(yield* titles(tenant)).toEqual([[mine.id, "tenant's"]])
        expect(yield* titles(Local.layer({ dir }))).toEqual([[theirs.id, "default's"]])
      })))
})
