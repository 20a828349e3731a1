import { randomUUID } from "node:crypto"
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, DateTime, Effect, Layer, Logger, Option } from "effect"
import { WorkstreamStore } from "arawn-store"
import { WorkstreamStoreSuite } from "arawn-store/testing"
import { IdGenerator, MessageId, SessionId, WorkstreamId } from "../src/Ids.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { removedAfterAll } from "./support/tempDir.js"

const freshDir = () => removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-")))

WorkstreamStoreSuite.suite("WorkstreamStore/Local", Local.layer({ dir: freshDir() }))

// A fork draws its first id after its own look at the source's prune point and before the driver takes the write
// lock: an id generator that prunes right then puts a prune in between, deterministically.
it.effect("a fork re-checks the prune point under the write lock: a prune after the kernel's look refuses it cleanly", () =>
  within(freshDir(), Effect.gen(function*() {
    const s = yield* store
    const ws = yield* s.create({ title: "source" })
    yield* s.storeMessages(ws.id, Array.from({ length: 6 }, (_, i) => ({ role: "user" as const, content: `m${i + 1}` })))
    yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 4, content: "the first four" })
    yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 2 })
    let armed = true
    const pruning = {
      next: Effect.suspend(() => {
        if (!armed) return Effect.sync(() => randomUUID())
        armed = false
        return Effect.as(Effect.orDie(s.prune({ workstreamId: ws.id })), randomUUID())
      })
    }
    const copy = yield* Effect.flip(Effect.provideService(s.fork(ws.id, { atSeq: 6, title: "copy", copy: true }), IdGenerator, pruning))
    expect([copy._tag, copy.message]).toEqual(["InvalidInput", expect.stringContaining("pruned")])
    expect(Option.getOrThrow(yield* s.get(ws.id)).prunedThrough).toBe(4)
    expect((yield* s.list({ limit: 10 })).items.map((w) => w.id)).toEqual([ws.id])
  })))

const FIXTURE = new URL("./fixtures/original-messages.jsonl", import.meta.url)
const wid = (s: string) => WorkstreamId.make(s)
/** A string passed where an id is expected, unchecked, to prove the store rejects it. */
const unchecked = (s: string) => s as WorkstreamId
const logOf = (dir: string, id: string) => join(dir, "workstreams", id, "messages.jsonl")
const linesOf = (file: string) => readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0)

/** Opens the store in `dir` for the duration of `body` (so every call is a fresh open, as after a restart). */
const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore | Local.WorkstreamIndex>) =>
  Effect.provide(body, Local.layer({ dir }))

const store = WorkstreamStore.WorkstreamStore

/** Runs `body` and returns what it logged at WARN or above, one string per entry. */
const warningsOf = <A, E, R>(body: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const seen: Array<string> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      if (logLevel._tag === "Warning" || logLevel._tag === "Error") {
        seen.push(`${JSON.stringify(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
      }
    })
    const result = yield* Effect.provide(body, Logger.replace(Logger.defaultLogger, logger))
    return { result, warnings: seen }
  })

/** Runs raw SQL against the store's database while the store is closed. */
const rawSql = (dir: string, statement: string) =>
  Effect.provide(
    Effect.flatMap(SqliteClient.SqliteClient, (sql) => sql.unsafe(statement)),
    SqliteClient.layer({ filename: join(dir, "workstreams.db") })
  )

// Each test below opens a store on disk several times, and each open runs the migrations and fsyncs: seconds of CPU
// and disk where this file's concurrent tests share a fifth of a core (2 cores at load 10) and a contended disk.
const DISK = { timeout: 120_000 }

describe("WorkstreamStore/Local on disk", DISK, () => {
  it.effect("a reopened directory has every workstream, tag and message", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const session = SessionId.make("0b1e6c2a-4f3d-4e5a-8b7c-9d0e1f2a3b4c")
      const written = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "kept", tags: ["b", "a"], summary: "sum", defaultModel: "m" })
        const messages = yield* s.storeMessages(ws.id, [
          { role: "user", content: "one", sessionId: session },
          { role: "assistant", content: "two", metadata: { k: [1, "x"] } }
        ])
        yield* s.ensureScratch()
        yield* s.storeMessage(wid("scratch"), { role: "user", content: "note" })
        return { ws: Option.getOrThrow(yield* s.get(ws.id)), messages }
      }))
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        expect(Option.getOrThrow(yield* s.get(written.ws.id))).toEqual(written.ws)
        expect(yield* s.loadMessages(written.ws.id)).toEqual(written.messages)
        expect((yield* s.loadMessages(wid("scratch"))).map((m) => m.content)).toEqual(["note"])
        expect((yield* s.list({ tag: "a" })).items.map((w) => w.id)).toEqual([written.ws.id])
        expect((yield* s.storeMessage(written.ws.id, { role: "user", content: "three" })).seq).toBe(3)
      }))
    }))

  it.effect("a log written by the original runtime loads unchanged, adopted on create or through rebuildIndex", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      mkdirSync(join(dir, "workstreams", "imported"), { recursive: true })
      copyFileSync(FIXTURE, logOf(dir, "imported"))
      const before = readFileSync(logOf(dir, "imported"))
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ id: "imported", title: "from the original" })
        expect(ws.messageCount).toBe(6)
        expect(ws.lastMessageAt?.pipe(DateTime.formatIso)).toBe("2026-03-07T09:15:42.000Z")
        const messages = yield* s.loadMessages(ws.id)
        expect(messages.map((m) => [m.seq, m.role])).toEqual([
          [1, "user"],
          [2, "tool_use"],
          [3, "tool_result"],
          [4, "assistant"],
          [5, "agent_push"],
          [6, "system"]
        ])
        // The original's promote left "scratch" in moved lines; the directory decides.
        expect(new Set(messages.map((m) => m.workstreamId))).toEqual(new Set(["imported"]))
        expect(messages.map((m) => DateTime.formatIso(m.timestamp))).toEqual([
          "2026-03-06T03:03:16.601Z",
          "2026-03-06T03:03:17.002Z",
          "2026-03-06T03:03:19.123Z",
          "2026-03-06T03:03:20.000Z",
          "2026-03-06T04:00:00.500Z",
          "2026-03-07T09:15:42.000Z"
        ])
        expect(messages[0]!.sessionId).toBe("0b1e6c2a-4f3d-4e5a-8b7c-9d0e1f2a3b4c")
        expect(messages[4]!.sessionId).toBeUndefined()
        expect(messages[1]!.metadata).toEqual({ tool_id: "toolu_01", name: "shell", arguments: { command: "cargo test -p arawn-memory" } })
        expect(messages[2]!.metadata).toEqual({ tool_call_id: "toolu_01", success: true })
        expect(messages[2]!.content).toBe("test result: ok. 172 passed; 0 failed\n\ttook 3.2s")
        expect(messages[3]!.content).toBe("All 172 tests pass — the failure was a stale build. «ok» 🦀 \"quoted\"")
        expect(messages[4]!.metadata).toBeUndefined()
        expect((yield* s.loadMessages(ws.id, { limit: 2 })).map((m) => m.seq)).toEqual([5, 6])

        // The same file placed under an existing (empty) workstream is picked up by rebuildIndex.
        const later = yield* s.create({ title: "rebuilt" })
        mkdirSync(join(dir, "workstreams", later.id), { recursive: true })
        copyFileSync(FIXTURE, logOf(dir, later.id))
        const report = yield* Local.rebuildIndex(later.id)
        expect(report.indexed).toBe(6)
        expect(report.malformed).toEqual([])
        expect(Option.isNone(report.repairedTail)).toBe(true)
        expect((yield* s.loadMessages(later.id)).map((m) => m.content)).toEqual(messages.map((m) => m.content))
        expect(Option.getOrThrow(yield* s.get(later.id)).messageCount).toBe(6)
      }))
      // Reading never rewrites the original's bytes.
      expect(readFileSync(logOf(dir, "imported")).equals(before)).toBe(true)
    }))

  it.effect("written lines have the original's fields, order and shapes", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const session = SessionId.make("0b1e6c2a-4f3d-4e5a-8b7c-9d0e1f2a3b4c")
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "format" })
        yield* s.storeMessage(ws.id, { role: "user", content: "plain" })
        yield* s.storeMessage(ws.id, {
          role: "tool_use",
          content: "",
          sessionId: session,
          metadata: { tool_id: "t1", name: "grep", arguments: { pattern: "a\"b" } },
          id: MessageId.make("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
          timestamp: DateTime.unsafeMake("2026-03-06T03:03:16.601Z")
        })
        return ws
      }))
      const [plain, tool] = linesOf(logOf(dir, ws.id)).map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(Object.keys(plain!)).toEqual(["id", "workstream_id", "session_id", "role", "content", "timestamp"])
      expect(plain!.session_id).toBeNull()
      expect(plain!.workstream_id).toBe(ws.id)
      expect(plain!.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      expect(Object.keys(tool!)).toEqual(["id", "workstream_id", "session_id", "role", "content", "timestamp", "metadata"])
      expect(tool).toEqual({
        id: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        workstream_id: ws.id,
        session_id: session,
        role: "tool_use",
        content: "",
        timestamp: "2026-03-06T03:03:16.601Z",
        metadata: "{\"tool_id\":\"t1\",\"name\":\"grep\",\"arguments\":{\"pattern\":\"a\\\"b\"}}"
      })
    }))

  it.effect("a torn last line is cut off on open and reported; acknowledged messages stay", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "torn" })
        yield* s.storeMessages(ws.id, [{ role: "user", content: "a" }, { role: "assistant", content: "b" }])
        return ws
      }))
      const file = logOf(dir, ws.id)
      const intact = statSync(file).size
      appendFileSync(file, "{\"id\":\"5f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01\",\"workstream_id\":\"x\",\"rol")
      const { warnings } = yield* warningsOf(within(dir, Effect.gen(function*() {
        const s = yield* store
        expect((yield* s.loadMessages(ws.id)).map((m) => m.content)).toEqual(["a", "b"])
        expect((yield* s.storeMessage(ws.id, { role: "user", content: "c" })).seq).toBe(3)
      })))
      expect(warnings.some((w) => w.includes("torn last line") && w.includes(`"offset":${intact}`))).toBe(true)
      expect(linesOf(file).map((l) => JSON.parse(l).content)).toEqual(["a", "b", "c"])
    }))

  it.effect("lines past the indexed end appear while the store is open: reads serve the index and never write; the next append settles them", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const [torn, whole] = [yield* s.create({ title: "torn while open" }), yield* s.create({ title: "line added while open" })]
        yield* s.storeMessage(torn.id, { role: "user", content: "a" })
        yield* s.storeMessage(whole.id, { role: "user", content: "a" })
        const [tornFile, wholeFile] = [logOf(dir, torn.id), logOf(dir, whole.id)]
        const intact = statSync(tornFile).size
        appendFileSync(tornFile, "{\"id\":")
        const [line] = linesOf(FIXTURE.pathname)
        appendFileSync(wholeFile, JSON.stringify({ ...JSON.parse(line!), workstream_id: whole.id }) + "\n")
        const wholeSize = statSync(wholeFile).size
        for (const id of [torn.id, whole.id]) {
          const { result, warnings } = yield* warningsOf(s.loadMessages(id))
          expect(result.map((m) => m.content)).toEqual(["a"])
          expect(warnings).toEqual([])
          expect(Option.getOrThrow(yield* s.get(id)).messageCount).toBe(1)
        }
        expect([statSync(tornFile).size, statSync(wholeFile).size]).toEqual([intact + 6, wholeSize])
        // The next append, under the write lock, cuts the torn line off and indexes the whole one before its own.
        const { warnings } = yield* warningsOf(s.storeMessage(torn.id, { role: "user", content: "b" }))
        expect(warnings.some((w) => w.includes("torn last line"))).toBe(true)
        expect((yield* s.loadMessages(torn.id)).map((m) => m.content)).toEqual(["a", "b"])
        expect((yield* s.storeMessage(whole.id, { role: "user", content: "b" })).seq).toBe(3)
        expect((yield* s.loadMessages(whole.id)).map((m) => m.content)).toEqual(["a", JSON.parse(line!).content, "b"])
      }))
    }))

  it.effect("a complete last line missing only its newline is kept", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "no newline" })
        yield* s.storeMessage(ws.id, { role: "user", content: "a" })
        return ws
      }))
      const file = logOf(dir, ws.id)
      const [first] = linesOf(FIXTURE.pathname)
      appendFileSync(file, first!)
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        expect((yield* s.loadMessages(ws.id)).map((m) => m.seq)).toEqual([1, 2])
      }))
      expect(readFileSync(file, "utf8").endsWith("\n")).toBe(true)
    }))

  it.effect("a malformed line in the middle is skipped and reported with its line number, never failing a read", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "malformed" })
        yield* s.storeMessages(ws.id, [1, 2, 3].map((i) => ({ role: "user" as const, content: `m${i}` })))
        return ws
      }))
      const file = logOf(dir, ws.id)
      const lines = linesOf(file)
      const badOffset = Buffer.byteLength(lines[0]! + "\n")
      writeFileSync(file, [lines[0], "{not json", lines[1], "{\"id\":\"nope\"}", lines[2], ""].join("\n"))
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const report = yield* Local.rebuildIndex(ws.id)
        expect(report.indexed).toBe(3)
        expect(report.malformed.map((m) => [m.lineNumber, m.offset])).toEqual([[2, badOffset], [4, expect.any(Number)]])
        expect(report.malformed[0]!.reason).toContain("not JSON")
        expect(report.malformed[1]!.reason).toContain("not a message")
        expect((yield* s.loadMessages(ws.id)).map((m) => [m.seq, m.content])).toEqual([[1, "m1"], [2, "m2"], [3, "m3"]])
        expect((yield* s.loadMessages(ws.id, { limit: 1 })).map((m) => m.content)).toEqual(["m3"])
        expect((yield* s.storeMessage(ws.id, { role: "user", content: "m4" })).seq).toBe(4)
      }))
    }))

  it.effect("an index that is deleted, behind its log, or pointing at edited bytes is rebuilt on open", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "index" })
        yield* s.storeMessages(ws.id, [1, 2, 3, 4].map((i) => ({ role: "user" as const, content: `m${i}` })))
        return ws
      }))
      const contents = (id: WorkstreamId) => Effect.map(Effect.flatMap(store, (s) => s.loadMessages(id)), (ms) => ms.map((m) => `${m.seq}:${m.content}`))

      yield* rawSql(dir, "DELETE FROM arawn_store_workstream_messages")
      expect(yield* within(dir, contents(ws.id))).toEqual(["1:m1", "2:m2", "3:m3", "4:m4"])

      // A crash between the fsynced append and its index leaves the log ahead: the lines are indexed on open.
      const file = logOf(dir, ws.id)
      const extra = linesOf(FIXTURE.pathname).slice(0, 2).join("\n") + "\n"
      appendFileSync(file, extra)
      expect(yield* within(dir, contents(ws.id))).toEqual(["1:m1", "2:m2", "3:m3", "4:m4", "5:Can you look at the failing test in crates/arawn-memory?", "6:"])

      // Edited in place (a line removed before the indexed end) and grown: the stale offsets are not trusted.
      const lines = linesOf(file)
      writeFileSync(file, [lines[0], ...lines.slice(2), linesOf(FIXTURE.pathname)[4], ""].join("\n"))
      expect(yield* within(dir, contents(ws.id))).toEqual(["1:m1", "2:m3", "3:m4", "4:Can you look at the failing test in crates/arawn-memory?", "5:", "6:Reminder: rebase before merging."])
      expect(yield* within(dir, Effect.map(Effect.flatMap(store, (s) => s.get(ws.id)), (w) => Option.getOrThrow(w).messageCount))).toBe(6)
    }))

  it.effect("delete removes metadata, tags, index and the log directory", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "doomed", tags: ["x"] })
        yield* s.storeMessages(ws.id, [{ role: "user", content: "a" }])
        expect(existsSync(join(dir, "workstreams", ws.id))).toBe(true)
        yield* s.delete(ws.id)
        expect(existsSync(join(dir, "workstreams", ws.id))).toBe(false)
      }))
      const counts = yield* rawSql(dir, `SELECT
          (SELECT COUNT(*) FROM arawn_store_workstreams) AS workstreams,
          (SELECT COUNT(*) FROM arawn_store_workstream_tags) AS tags,
          (SELECT COUNT(*) FROM arawn_store_workstream_messages) AS messages,
          (SELECT COUNT(*) FROM arawn_store_workstream_deletions) AS pending`)
      expect(counts).toEqual([{ workstreams: 0, tags: 0, messages: 0, pending: 0 }])
    }))

  it.effect("bad workstream ids touch nothing on disk", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const bad = ["../escape", "a/b", "a\\b", "..", ".hidden", "-lead", "nul\u0000", "", "x".repeat(129), "/abs"]
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        for (const id of bad) {
          for (
            const op of [
              s.create({ id, title: "t" }),
              s.storeMessage(unchecked(id), { role: "user", content: "x" }),
              s.storeMessages(unchecked(id), [{ role: "user", content: "x" }]),
              s.loadMessages(unchecked(id)),
              s.delete(unchecked(id)),
              s.update(unchecked(id), { title: "t" }),
              Local.rebuildIndex(unchecked(id))
            ]
          ) {
            expect((yield* Effect.flip(op))._tag).toBe("InvalidInput")
          }
        }
      }))
      expect(readdirSync(join(dir, "workstreams"))).toEqual([])
      expect(readdirSync(dir).filter((f) => !f.startsWith("workstreams"))).toEqual([])
      expect(readdirSync(join(dir, ".."))).not.toContain("escape")
    }))

  it.effect("layerConfig reads its directory from Config", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const layer = Local.layerConfig({ dir: Config.string("WORKSTREAM_DIR") }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["WORKSTREAM_DIR", dir]]))))
      )
      const ws = yield* Effect.provide(Effect.flatMap(store, (s) => s.create({ title: "configured" })), layer)
      expect(yield* within(dir, Effect.map(Effect.flatMap(store, (s) => s.get(ws.id)), Option.isSome))).toBe(true)
    }))

  it.effect("promoteScratch rewrites every moved line with the new id and empties scratch's log", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const promoted = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        yield* s.ensureScratch()
        yield* s.storeMessages(wid("scratch"), [{ role: "user", content: "idea" }, { role: "assistant", content: "reply" }])
        return yield* s.promoteScratch({ title: "promoted" })
      }))
      expect(linesOf(logOf(dir, promoted.id)).map((l) => JSON.parse(l).workstream_id)).toEqual([promoted.id, promoted.id])
      expect(readFileSync(logOf(dir, "scratch")).length).toBe(0)
      expect(existsSync(`${logOf(dir, promoted.id)}.tmp`)).toBe(false)
      const pending = yield* rawSql(dir, "SELECT COUNT(*) AS n FROM arawn_store_workstream_promotions")
      expect(pending).toEqual([{ n: 0 }])
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        expect((yield* s.loadMessages(promoted.id)).map((m) => m.content)).toEqual(["idea", "reply"])
        expect(yield* s.loadMessages(wid("scratch"))).toEqual([])
      }))
    }))
})

describe("WorkstreamStore/Local on a damaged directory", DISK, () => {
  it.effect("a workstreams.db that is not a database, or a directory in its place, is a StorageError", () =>
    Effect.gen(function*() {
      const garbage = freshDir()
      writeFileSync(join(garbage, "workstreams.db"), "this is not a sqlite file, just text ".repeat(200))
      const blocked = freshDir()
      mkdirSync(join(blocked, "workstreams.db"))
      for (const dir of [garbage, blocked]) {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(Local.layer({ dir }))))
        expect(exit._tag).toBe("Failure")
        if (exit._tag === "Failure") {
          const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          expect(failure?._tag).toBe("StorageError")
        }
      }
    }))
})

describe("WorkstreamStore/Local table prefix", DISK, () => {
  it.effect("a custom prefix keeps its own tables beside the default ones; a prefix that is not an SQL identifier is InvalidInput", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const mine = yield* Effect.provide(
        Effect.flatMap(store, (s) => Effect.zipRight(s.create({ id: "shared_id", title: "mine" }), s.list())),
        Local.layer({ dir, prefix: "tenant_a" })
      )
      expect(mine.items.map((w) => w.title)).toEqual(["mine"])
      const theirs = yield* within(dir, Effect.flatMap(store, (s) => s.list()))
      expect(theirs.items).toEqual([])
      const names = yield* rawSql(dir, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      expect(names.map((r) => String(Reflect.get(r, "name"))).filter((n) => n.startsWith("tenant_a_"))).toEqual([
        "tenant_a_workstream_deletions",
        "tenant_a_workstream_message_ids",
        "tenant_a_workstream_message_text",
        "tenant_a_workstream_message_text_config",
        "tenant_a_workstream_message_text_content",
        "tenant_a_workstream_message_text_data",
        "tenant_a_workstream_message_text_docsize",
        "tenant_a_workstream_message_text_idx",
        "tenant_a_workstream_messages",
        "tenant_a_workstream_migrations",
        "tenant_a_workstream_promotions",
        "tenant_a_workstream_retention",
        "tenant_a_workstream_tags",
        "tenant_a_workstreams"
      ])
      for (const prefix of ["1abc", "a-b", "a b", "x; DROP TABLE y", ""]) {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(Local.layer({ dir, prefix }))))
        expect(exit._tag === "Failure" && exit.cause._tag === "Fail" ? exit.cause.error._tag : "no failure").toBe("InvalidInput")
      }
    }))
})

describe("WorkstreamStore/Local reads the original's lines by the one log codec", DISK, () => {
  it.effect("RFC 3339 only, UUID ids in any case, a non-UUID session kept in metadata, non-object metadata kept raw", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const line = (fields: Record<string, unknown>) =>
        JSON.stringify({ workstream_id: "codec", session_id: null, role: "user", content: "c", timestamp: "2026-03-06T03:03:16Z", ...fields })
      mkdirSync(join(dir, "workstreams", "codec"), { recursive: true })
      writeFileSync(logOf(dir, "codec"), [
        line({ id: "5F0C6A3E-8D7B-4C21-9A4E-2B6F1D3C9E01", timestamp: "2026-03-06T04:03:16.5+01:00" }),
        line({ id: "6f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01", timestamp: "March 6 2026" }),
        line({ id: "7f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01", timestamp: "2026-02-30T00:00:00Z" }),
        line({ id: "not-a-uuid" }),
        line({ id: "8f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01", session_id: "cli-session-7", metadata: "{\"k\":1}" }),
        line({ id: "9f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01", metadata: "[1,2]" }),
        line({ id: "af0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01", metadata: "not json" }),
        ""
      ].join("\n"))
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        yield* s.create({ id: "codec", title: "codec" })
        const report = yield* Local.rebuildIndex(wid("codec"))
        expect(report.malformed.map((m) => [m.lineNumber, m.reason.split(" ")[0]])).toEqual([[2, "bad"], [3, "bad"], [4, "not"]])
        const messages = yield* s.loadMessages(wid("codec"))
        expect(messages.map((m) => m.id)).toEqual([
          "5f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01",
          "8f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01",
          "9f0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01",
          "af0c6a3e-8d7b-4c21-9a4e-2b6f1d3c9e01"
        ])
        expect(DateTime.formatIso(messages[0]!.timestamp)).toBe("2026-03-06T03:03:16.500Z")
        expect(messages[1]!.sessionId).toBeUndefined()
        expect(messages[1]!.metadata).toEqual({ k: 1, session_id: "cli-session-7" })
        expect(messages[2]!.metadata).toEqual({ raw: "[1,2]" })
        expect(messages[3]!.metadata).toEqual({ raw: "not json" })
        // The non-UUID session is no session: filtering by a real one never matches it.
        expect(yield* s.loadMessages(wid("codec"), { sessionId: SessionId.make("0b1e6c2a-4f3d-4e5a-8b7c-9d0e1f2a3b4c") })).toEqual([])
      }))
    }))
})

describe("WorkstreamStore/Local and duplicate message ids", DISK, () => {
  it.effect("a log that already holds one id twice still opens, loads and rebuilds; appending that id again is refused", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const [first] = linesOf(FIXTURE.pathname)
      mkdirSync(join(dir, "workstreams", "dups"), { recursive: true })
      writeFileSync(logOf(dir, "dups"), `${first}\n${first}\n`)
      const id = MessageId.make(JSON.parse(first!).id)
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        expect((yield* s.create({ id: "dups", title: "dups" })).messageCount).toBe(2)
        expect((yield* s.loadMessages(wid("dups"))).map((m) => [m.seq, m.id])).toEqual([[1, id], [2, id]])
        expect((yield* Local.rebuildIndex(wid("dups"))).indexed).toBe(2)
        expect((yield* Effect.flip(s.storeMessage(wid("dups"), { role: "user", content: "x", id })))._tag).toBe("InvalidInput")
        expect((yield* s.storeMessage(wid("dups"), { role: "user", content: "x" })).seq).toBe(3)
      }))
      expect(yield* within(dir, Effect.flatMap(store, (s) => s.loadMessages(wid("dups"))))).toHaveLength(3)
    }))

  it.effect("a store made before message ids were indexed opens, is reindexed from its logs and refuses their ids", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "old" })
        yield* s.storeMessages(ws.id, [{ role: "user", content: "a" }, { role: "user", content: "b" }])
        return ws
      }))
      const [kept] = yield* within(dir, Effect.flatMap(store, (s) => s.loadMessages(ws.id)))
      // As a store before migration 0003 left it: no message ids anywhere, no version, no search index or lineage,
      // no record of those migrations.
      yield* rawSql(dir, "DROP TABLE arawn_store_workstream_message_text")
      yield* rawSql(dir, "DROP INDEX arawn_store_workstreams_forked_from")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstreams DROP COLUMN forked_from_id")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstreams DROP COLUMN forked_from_seq")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstream_messages DROP COLUMN role")
      yield* rawSql(dir, "DROP TABLE arawn_store_workstream_message_ids")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstream_messages DROP COLUMN message_id")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstreams DROP COLUMN ids_indexed")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstreams DROP COLUMN version")
      yield* rawSql(dir, "DROP TABLE arawn_store_workstream_retention")
      yield* rawSql(dir, "ALTER TABLE arawn_store_workstreams DROP COLUMN pruned_through")
      yield* rawSql(dir, "DELETE FROM arawn_store_workstream_migrations WHERE migration_id >= 3")
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        expect((yield* s.loadMessages(ws.id)).map((m) => m.content)).toEqual(["a", "b"])
        expect((yield* Effect.flip(s.storeMessage(ws.id, { role: "user", content: "c", id: kept!.id })))._tag).toBe("InvalidInput")
      }))
    }))
})
