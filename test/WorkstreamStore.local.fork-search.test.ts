/** Local-store edge cases of fork and searchMessages, beside the shared suite in WorkstreamStore.local.test.ts. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { WorkstreamStore } from "arawn-store"
import { SCRATCH_ID, SessionId, WorkstreamId } from "../src/Ids.js"
import type { SearchMessagesOptions } from "../src/Workstream.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { removedAfterAll } from "./support/tempDir.js"

const freshDir = () => removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-branch-")))
const store = WorkstreamStore.WorkstreamStore
const logOf = (dir: string, id: string) => join(dir, "workstreams", id, "messages.jsonl")
const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore | Local.WorkstreamIndex>) =>
  Effect.provide(body, Local.layer({ dir }))
const rawSql = (dir: string, statement: string) =>
  Effect.provide(
    Effect.flatMap(SqliteClient.SqliteClient, (sql) => sql.unsafe(statement)),
    SqliteClient.layer({ filename: join(dir, "workstreams.db") })
  )

const WORDS = ["cache", "ttl", "bug", "eviction", "redis", "timeout", "lease", "migration", "index", "token"]
const QUERIES: ReadonlyArray<readonly [string, SearchMessagesOptions]> = [
  ["ttl bug", { limit: 50 }],
  ["the cache eviction", { limit: 7 }],
  ["redis", { roles: ["assistant"], limit: 20 }],
  ["migrating indexes", { limit: 1000 }],
  ["lease timeout token", { limit: 5 }]
]

/** A few workstreams of word-salad messages (deterministic), one fork (a branch, or a copy) and one promoted scratch among them. */
const seed = (copy: boolean) => Effect.gen(function*() {
  const s = yield* store
  const session = SessionId.make("0b1e6c2a-4f3d-4e5a-8b7c-9d0e1f2a3b4c")
  const ids: Array<WorkstreamId> = []
  for (let w = 0; w < 4; w++) {
    const ws = yield* s.create({ title: `w${w}` })
    ids.push(ws.id)
    yield* s.storeMessages(ws.id, Array.from({ length: 40 }, (_, i) => ({
      role: i % 3 === 0 ? "assistant" as const : "user" as const,
      content: Array.from({ length: 3 + ((i * 7 + w) % 9) }, (_, k) => WORDS[(i * 13 + k * 7 + w * 3) % WORDS.length]).join(" "),
      ...(i % 5 === 0 ? { sessionId: session } : {})
    })))
  }
  ids.push((yield* s.fork(ids[0]!, { atSeq: 25, title: "fork", copy })).id)
  yield* s.ensureScratch()
  yield* s.storeMessages(SCRATCH_ID, [{ role: "user", content: "scratch ttl cache note" }, { role: "user", content: "redis bug" }])
  ids.push((yield* s.promoteScratch({ title: "promoted" })).id)
  return { ids, session }
})

const searchAll = (session: SessionId) =>
  Effect.gen(function*() {
    const s = yield* store
    const out = []
    for (const [q, o] of QUERIES) out.push(yield* s.searchMessages(q, o))
    out.push(yield* s.searchMessages("cache ttl", { sessionId: session, limit: 100 }))
    return out
  })

describe("WorkstreamStore/Local search index", () => {
  it.effect("an index rebuild from the logs reproduces search results exactly", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const { ids, session } = yield* within(dir, seed(false))
      const before = yield* within(dir, searchAll(session))
      expect(before.every((hits) => hits.length > 0)).toBe(true)
      // Through rebuildIndex, one workstream at a time.
      const rebuilt = yield* within(dir, Effect.gen(function*() {
        for (const id of ids) yield* Local.rebuildIndex(id)
        return yield* searchAll(session)
      }))
      expect(rebuilt).toEqual(before)
      // With the whole index gone (message index and text index), rebuilt by the next open from the logs alone.
      yield* rawSql(dir, "DELETE FROM arawn_store_workstream_messages")
      yield* rawSql(dir, "DELETE FROM arawn_store_workstream_message_text")
      expect(yield* within(dir, searchAll(session))).toEqual(before)
    }))

  it.effect("a store made before message search is indexed from its logs on open", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      // Stores before forks had no branches: its fork is a copy.
      const { session } = yield* within(dir, seed(true))
      const before = yield* within(dir, searchAll(session))
      // As a store before migration 0005 (search and forks) left it.
      for (const statement of [
        "DROP TABLE arawn_store_workstream_message_text",
        "DROP INDEX arawn_store_workstreams_forked_from",
        "ALTER TABLE arawn_store_workstreams DROP COLUMN forked_from_id",
        "ALTER TABLE arawn_store_workstreams DROP COLUMN forked_from_seq",
        "ALTER TABLE arawn_store_workstreams DROP COLUMN forked_shared",
        "ALTER TABLE arawn_store_workstream_messages DROP COLUMN role",
        "DELETE FROM arawn_store_workstream_migrations WHERE migration_id >= 5"
      ]) yield* rawSql(dir, statement)
      const after = yield* within(dir, searchAll(session))
      expect(after).toEqual(before)
    }))

  it.effect("a delete takes its messages out of the text index in the same transaction", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "gone" })
        yield* s.storeMessages(ws.id, [{ role: "user", content: "ephemeral words" }, { role: "user", content: "more words" }])
        yield* s.delete(ws.id)
      }))
      const rows = yield* rawSql(dir, "SELECT count(*) AS n FROM arawn_store_workstream_message_text_docsize")
      expect(rows).toEqual([{ n: 0 }])
      expect(yield* within(dir, Effect.flatMap(store, (s) => s.searchMessages("ephemeral")))).toEqual([])
    }))

  it.scoped("a search reads a workstream another store deleted and made again from its new log, never a handle left open on the old one", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      // Two layers on one directory, each with its own pool of open logs, as two processes have.
      const [a, b] = [Context.get(yield* Layer.build(Local.layer({ dir })), store), Context.get(yield* Layer.build(Local.layer({ dir })), store)]
      const id = WorkstreamId.make("reborn")
      yield* a.create({ id, title: "first" })
      yield* a.storeMessages(id, [{ role: "user", content: "alpha beacon one" }, { role: "user", content: "alpha beacon two" }])
      expect((yield* a.searchMessages("beacon")).map((h) => h.message.content).sort()).toEqual(["alpha beacon one", "alpha beacon two"])
      yield* b.delete(id)
      yield* b.create({ id, title: "second" })
      // Lines of the same lengths at the same offsets: only the file's identity tells the old log from the new one.
      yield* b.storeMessages(id, [{ role: "user", content: "omega beacon uno" }, { role: "user", content: "omega beacon dos" }])
      expect((yield* a.searchMessages("beacon")).map((h) => h.message.content).sort()).toEqual(["omega beacon dos", "omega beacon uno"])
      expect((yield* a.searchMessages("alpha")).length).toBe(0)
    }))
})

describe("WorkstreamStore/Local fork", () => {
  it.effect("a fork's log is the source's lines with new ids and the fork's id; its lineage survives reopen and rebuild", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const { fork, source } = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const source = yield* s.create({ title: "source" })
        yield* s.storeMessages(source.id, [
          { role: "user", content: "one" },
          { role: "assistant", content: "two", metadata: { k: [1] } },
          { role: "user", content: "three" }
        ])
        return { source, fork: yield* s.fork(source.id, { atSeq: 2, title: "fork", copy: true }) }
      }))
      const sourceLines = readFileSync(logOf(dir, source.id), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      const forkLines = readFileSync(logOf(dir, fork.id), "utf8").trim().split("\n").map((l) => JSON.parse(l))
      expect(forkLines.length).toBe(2)
      for (const [i, line] of forkLines.entries()) {
        expect(Object.keys(line)).toEqual(Object.keys(sourceLines[i]))
        expect({ ...line, id: "x", workstream_id: "y" }).toEqual({ ...sourceLines[i], id: "x", workstream_id: "y" })
        expect(line.workstream_id).toBe(fork.id)
        expect(line.id).not.toBe(sourceLines[i].id)
      }
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        expect(Option.getOrThrow(yield* s.get(fork.id))).toEqual(fork)
        const report = yield* Local.rebuildIndex(fork.id)
        expect(report.indexed).toBe(2)
        expect(Option.getOrThrow(yield* s.get(fork.id)).forkedFrom).toEqual({ workstreamId: source.id, seq: 2 })
        expect((yield* s.list({ forkedFrom: source.id })).items.map((w) => w.id)).toEqual([fork.id])
      }))
    }))

  it.effect("a fork of a log with malformed lines holds the source's messages at the same seqs, and nothing else", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const line = (id: string, content: string) =>
        JSON.stringify({
          id,
          workstream_id: "adopted",
          session_id: null,
          role: "user",
          content,
          timestamp: "2026-03-06T03:03:16.601287Z"
        })
      mkdirSync(join(dir, "workstreams", "adopted"), { recursive: true })
      writeFileSync(logOf(dir, "adopted"), [
        line("6f1c1b64-7a4e-4a43-9d6c-0d5f6f0b2a01", "first"),
        "{ not json",
        "",
        line("6f1c1b64-7a4e-4a43-9d6c-0d5f6f0b2a02", "second"),
        line("6f1c1b64-7a4e-4a43-9d6c-0d5f6f0b2a03", "third")
      ].join("\n") + "\n")
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        yield* s.create({ id: "adopted", title: "adopted" })
        const fork = yield* s.fork(WorkstreamId.make("adopted"), { atSeq: 2, title: "fork", copy: true })
        const copied = yield* s.loadMessages(fork.id)
        expect(copied.map((m) => [m.seq, m.content, m.timestamp.epochMillis])).toEqual([
          [1, "first", Date.UTC(2026, 2, 6, 3, 3, 16, 601)],
          [2, "second", Date.UTC(2026, 2, 6, 3, 3, 16, 601)]
        ])
        expect(readFileSync(logOf(dir, fork.id), "utf8").split("\n").filter((l) => l.length > 0).length).toBe(2)
        // The exact timestamp text travels, sub-millisecond digits included.
        expect(readFileSync(logOf(dir, fork.id), "utf8")).toContain("2026-03-06T03:03:16.601287Z")
      }))
    }))

  it.effect("a fork of a log edited in place (an id no longer the one indexed) copies from the log itself", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const source = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const source = yield* s.create({ title: "edited" })
        yield* s.storeMessages(source.id, ["one", "two", "three"].map((content) => ({ role: "user" as const, content })))
        return source
      }))
      const text = readFileSync(logOf(dir, source.id), "utf8")
      const second = JSON.parse(text.split("\n")[1]!).id as string
      const edited = `${second.slice(0, -1)}${second.endsWith("0") ? "1" : "0"}`
      writeFileSync(logOf(dir, source.id), text.replace(second, edited))
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const fork = yield* s.fork(source.id, { title: "fork", copy: true })
        expect((yield* s.loadMessages(fork.id)).map((m) => [m.seq, m.content])).toEqual([[1, "one"], [2, "two"], [3, "three"]])
        expect(readFileSync(logOf(dir, fork.id), "utf8")).not.toContain(edited)
      }))
    }))
})
