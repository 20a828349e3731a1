/**
 * The message cases of the WorkstreamStore conformance suite (appends, loads and their filters, ids, content),
 * registered by `WorkstreamStoreSuite.suite`.
 */
import { expect } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, TestClock } from "effect"
import { SessionId, WorkstreamId } from "../Ids.js"
import type { Message, Workstream } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { InvalidInput, NotFound, StorageError } from "../Errors.js"
import { hostileJson, outcome, token, untyped, uuid } from "./internal.js"

/** What the suite hands its case lists: how to register a test, and two fixtures. */
export interface Cases {
  readonly test: (title: string, body: () => Effect.Effect<void, unknown, WorkstreamStore>) => void
  readonly fresh: (title?: string) => Effect.Effect<Workstream, InvalidInput | StorageError, WorkstreamStore>
  readonly append: (
    id: WorkstreamId,
    n: number,
    extra?: (i: number) => Partial<{ sessionId: SessionId }>
  ) => Effect.Effect<ReadonlyArray<Message>, NotFound | InvalidInput | StorageError, WorkstreamStore>
}

const sid = (): SessionId => SessionId.make(uuid())
const wid = (s: string): WorkstreamId => untyped(s)
const seqs = (ms: ReadonlyArray<Message>) => ms.map((m) => m.seq)

export const messageCases = ({ append, fresh, test }: Cases): void => {

  test("storeMessage assigns id, seq 1..n and Clock time; bumps count, lastMessageAt and updatedAt", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* TestClock.adjust(Duration.seconds(10))
      const a = yield* s.storeMessage(ws.id, { role: "user", content: "hello" })
      yield* TestClock.adjust(Duration.seconds(10))
      const b = yield* s.storeMessage(ws.id, { role: "assistant", content: "hi" })
      expect([a.seq, b.seq]).toEqual([1, 2])
      expect(a.id).not.toBe(b.id)
      expect(a.workstreamId).toBe(ws.id)
      expect(b.timestamp.epochMillis - a.timestamp.epochMillis).toBe(10_000)
      const after = Option.getOrThrow(yield* s.get(ws.id))
      expect(after.messageCount).toBe(2)
      expect(after.lastMessageAt!.epochMillis).toBe(b.timestamp.epochMillis)
      expect(after.updatedAt.epochMillis).toBe(b.timestamp.epochMillis)
      expect(yield* s.loadMessages(ws.id)).toEqual([a, b])
    }))

  test("storeMessage to an unknown workstream is NotFound; bad roles and session ids are InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      expect(yield* outcome(s.storeMessage(wid(`missing_${token()}`), { role: "user", content: "x" }))).toBe("NotFound")
      const ws = yield* fresh()
      expect(yield* outcome(s.storeMessage(ws.id, { role: untyped("robot"), content: "x" }))).toBe("InvalidInput")
      expect(yield* outcome(s.storeMessage(ws.id, { role: "user", content: "x", sessionId: "s1" }))).toBe("InvalidInput")
      expect(yield* s.loadMessages(ws.id)).toEqual([])
    }))

  test("storeMessages is atomic: one bad message writes none; seqs are consecutive", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const e = yield* Effect.flip(s.storeMessages(ws.id, [{ role: "user", content: "ok" }, { role: untyped("nope"), content: "x" }]))
      expect(e._tag).toBe("InvalidInput")
      expect(e.message).toContain("message 1")
      expect(yield* s.loadMessages(ws.id)).toEqual([])
      expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(0)
      expect(yield* s.storeMessages(ws.id, [])).toEqual([])
      expect(seqs(yield* append(ws.id, 4))).toEqual([1, 2, 3, 4])
      expect(seqs(yield* append(ws.id, 2))).toEqual([5, 6])
    }))

  test("loadMessages without a limit returns every message oldest to newest", () =>
    Effect.gen(function*() {
      const ws = yield* fresh()
      yield* append(ws.id, 9)
      const all = yield* Effect.flatMap(WorkstreamStore, (s) => s.loadMessages(ws.id))
      expect(seqs(all)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(all.map((m) => m.content)).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"])
    }))

  test("loadMessages with a limit returns the LAST n, oldest to newest", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 10)
      expect(seqs(yield* s.loadMessages(ws.id, { limit: 3 }))).toEqual([8, 9, 10])
      expect(seqs(yield* s.loadMessages(ws.id, { limit: 1 }))).toEqual([10])
      expect(seqs(yield* s.loadMessages(ws.id, { limit: 50 }))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(yield* outcome(s.loadMessages(ws.id, { limit: 0 }))).toBe("InvalidInput")
      expect(yield* outcome(s.loadMessages(ws.id, { limit: -1 }))).toBe("InvalidInput")
    }))

  test("beforeSeq and afterSeq page backwards and forwards", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 10)
      expect(seqs(yield* s.loadMessages(ws.id, { beforeSeq: 8, limit: 3 }))).toEqual([5, 6, 7])
      expect(seqs(yield* s.loadMessages(ws.id, { beforeSeq: 3 }))).toEqual([1, 2])
      expect(seqs(yield* s.loadMessages(ws.id, { afterSeq: 7 }))).toEqual([8, 9, 10])
      expect(seqs(yield* s.loadMessages(ws.id, { afterSeq: 2, beforeSeq: 6 }))).toEqual([3, 4, 5])
      expect(seqs(yield* s.loadMessages(ws.id, { afterSeq: 2, limit: 2 }))).toEqual([9, 10])
      expect(yield* s.loadMessages(ws.id, { afterSeq: 10 })).toEqual([])
      expect(yield* s.loadMessages(ws.id, { beforeSeq: 1 })).toEqual([])
    }))

  test("since is inclusive and filters by timestamp", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 2)
      yield* TestClock.adjust(Duration.minutes(1))
      const cut = yield* DateTime.now
      yield* append(ws.id, 3)
      expect(seqs(yield* s.loadMessages(ws.id, { since: cut }))).toEqual([3, 4, 5])
      expect(seqs(yield* s.loadMessages(ws.id, { since: cut, limit: 2 }))).toEqual([4, 5])
      expect(yield* s.loadMessages(ws.id, { since: DateTime.add(cut, { seconds: 1 }) })).toEqual([])
    }))

  test("sessionId filters before the limit; messages without a session never match", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const [a, b] = [sid(), sid()]
      yield* append(ws.id, 12, (i) => (i % 3 === 0 ? { sessionId: a } : i % 3 === 1 ? { sessionId: b } : {}))
      expect(seqs(yield* s.loadMessages(ws.id, { sessionId: a }))).toEqual([1, 4, 7, 10])
      expect(seqs(yield* s.loadMessages(ws.id, { sessionId: b, limit: 2 }))).toEqual([8, 11])
      expect(seqs(yield* s.loadMessages(ws.id, { sessionId: a, beforeSeq: 10, limit: 2 }))).toEqual([4, 7])
      expect(yield* s.loadMessages(ws.id, { sessionId: sid() })).toEqual([])
    }))

  test("seq stays gap-free and unique under concurrent appends", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const singles = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i),
        (i) => s.storeMessage(ws.id, { role: "user", content: `c${i}` }),
        { concurrency: "unbounded" }
      )
      const batches = yield* Effect.forEach(
        Array.from({ length: 5 }, (_, i) => i),
        (i) => s.storeMessages(ws.id, [{ role: "user", content: `b${i}a` }, { role: "user", content: `b${i}b` }]),
        { concurrency: "unbounded" }
      )
      const all = yield* s.loadMessages(ws.id)
      expect(seqs(all)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
      expect(new Set(singles.map((m) => m.seq)).size).toBe(40)
      for (const [x, y] of batches) expect(y!.seq).toBe(x!.seq + 1)
      expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(50)
    }))

  // Found by the model-based run: a load racing the first append of a workstream failed on the log not being
  // there yet, and an append joining that load's open of the missing log failed too.
  test("loads racing the first appends of a new workstream see a prefix and never fail", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      for (let round = 0; round < 5; round++) {
        const ws = yield* fresh()
        const results = yield* Effect.all([
          s.storeMessages(ws.id, [{ role: "user", content: "a" }]),
          s.loadMessages(ws.id),
          s.storeMessages(ws.id, [{ role: "user", content: "b" }]),
          s.loadMessages(ws.id, { limit: 2 })
        ], { concurrency: "unbounded" })
        for (const loaded of [results[1], results[3]]) expect(loaded.map((m) => m.seq)).toEqual(loaded.map((_, i) => i + 1))
        expect(seqs(yield* s.loadMessages(ws.id))).toEqual([1, 2])
      }
    }))

  test("content and metadata round-trip exactly: unicode, newlines, quotes, empty, large", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const contents = [
        "",
        "line1\nline2\r\n\ttab",
        "quotes \" ' \\ and {\"json\": true}",
        "emoji 🦀👩‍👩‍👧 and 日本語 and \u2028\u2029 separators",
        "lone surrogate-free but astral 𝄞",
        "x".repeat(300_000)
      ]
      const stored = yield* s.storeMessages(ws.id, contents.map((content) => ({ role: "tool_result", content })))
      const metadata = { tool_id: "t1", name: "grep", arguments: { pattern: "a\"b", n: [1, 2, null] }, ok: true }
      const tool = yield* s.storeMessage(ws.id, { role: "tool_use", content: "", metadata })
      const loaded = yield* s.loadMessages(ws.id)
      expect(loaded.map((m) => m.content)).toEqual([...contents, ""])
      expect(loaded[loaded.length - 1]!.metadata).toEqual(metadata)
      expect(loaded).toEqual([...stored, tool])
    }))

  test("a given message id and timestamp are kept (import)", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const id = uuid()
      const timestamp = DateTime.unsafeMake("2026-03-06T03:03:16.601Z")
      const m = yield* s.storeMessage(ws.id, { role: "agent_push", content: "imported", id, timestamp })
      expect(m.id).toBe(id)
      expect(m.timestamp.epochMillis).toBe(timestamp.epochMillis)
      expect((yield* s.loadMessages(ws.id))[0]!.timestamp.epochMillis).toBe(timestamp.epochMillis)
    }))

  test("message metadata must be a JSON object; content over 16 MiB is InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      expect(yield* outcome(s.storeMessage(ws.id, { role: "user", content: "x", metadata: untyped([1, 2]) })))
        .toBe("InvalidInput")
      expect(yield* outcome(s.storeMessage(ws.id, { role: "user", content: "x".repeat(16 * 1024 * 1024 + 1) })))
        .toBe("InvalidInput")
      expect(yield* s.loadMessages(ws.id)).toEqual([])
    }))

  test("empty or blank content is InvalidInput except for tool_use and tool_result messages; nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      for (const role of ["user", "assistant", "system", "agent_push"] as const) {
        for (const content of ["", " \n\t "]) {
          expect(yield* outcome(s.storeMessage(ws.id, { role, content })), `${role} ${JSON.stringify(content)}`).toBe("InvalidInput")
        }
      }
      expect(yield* outcome(s.storeMessages(ws.id, [{ role: "user", content: "fine" }, { role: "assistant", content: "" }])))
        .toBe("InvalidInput")
      expect(yield* s.loadMessages(ws.id)).toEqual([])
      const tools = yield* s.storeMessages(ws.id, [{ role: "tool_use", content: "" }, { role: "tool_result", content: "" }])
      expect(tools.map((m) => [m.seq, m.content])).toEqual([[1, ""], [2, ""]])
      // An import keeps an existing log as it was: a message given with its own timestamp may be empty.
      const at = DateTime.unsafeMake(Date.UTC(2025, 0, 1))
      const kept = yield* s.storeMessage(ws.id, { role: "assistant", content: "", timestamp: at })
      expect([kept.seq, kept.content]).toEqual([3, ""])
    }))

  test("message metadata must be JSON: BigInt, Date, NaN and undefined are InvalidInput and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      for (const value of [1n, new Date(0), NaN, undefined, { nested: [Infinity] }]) {
        expect(yield* outcome(s.storeMessage(ws.id, { role: "user", content: "x", metadata: { value: untyped(value) } })))
          .toBe("InvalidInput")
      }
      expect(yield* s.loadMessages(ws.id)).toEqual([])
    }))

  test("cyclic, too deeply nested or too long message metadata is InvalidInput, never a crash, and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      for (const value of hostileJson()) {
        expect(yield* outcome(s.storeMessage(ws.id, { role: "user", content: "x", metadata: { value: untyped(value) } })))
          .toBe("InvalidInput")
        expect(yield* outcome(s.storeMessages(ws.id, [{ role: "user", content: "ok" }, { role: "user", content: "x", metadata: { value: untyped(value) } }])))
          .toBe("InvalidInput")
      }
      expect(yield* s.loadMessages(ws.id)).toEqual([])
      expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(0)
    }))

  test("a message id the workstream holds, or one given twice in a batch, is InvalidInput and nothing is written", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const [kept] = yield* s.storeMessages(ws.id, [{ role: "user", content: "first" }])
      const again = yield* Effect.flip(s.storeMessage(ws.id, { role: "user", content: "again", id: kept!.id }))
      expect(again._tag).toBe("InvalidInput")
      expect(again.message).toContain(kept!.id)
      const id = uuid()
      expect(yield* outcome(s.storeMessages(ws.id, [{ role: "user", content: "a", id }, { role: "user", content: "b", id }])))
        .toBe("InvalidInput")
      expect(yield* outcome(s.storeMessages(ws.id, [{ role: "user", content: "new" }, { role: "user", content: "old", id: kept!.id }])))
        .toBe("InvalidInput")
      expect((yield* s.loadMessages(ws.id)).map((m) => m.content)).toEqual(["first"])
      expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(1)
      expect((yield* s.storeMessage(ws.id, { role: "user", content: "fresh id", id })).seq).toBe(2)
    }))

  test("message ids are unique per workstream: another workstream may hold the same id", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const [a, b] = [yield* fresh(), yield* fresh()]
      const id = uuid()
      yield* s.storeMessage(a.id, { role: "user", content: "in a", id })
      expect((yield* s.storeMessage(b.id, { role: "user", content: "in b", id })).id).toBe(id)
      expect(yield* outcome(s.storeMessage(b.id, { role: "user", content: "in b again", id }))).toBe("InvalidInput")
    }))

  test("concurrent appends of the same new id: exactly one succeeds", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const id = uuid()
      const outcomes = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => i),
        (i) => outcome(s.storeMessage(ws.id, { role: "user", content: `racer ${i}`, id })),
        { concurrency: "unbounded" }
      )
      expect(outcomes.filter((o) => o === "success").length).toBe(1)
      expect(outcomes.filter((o) => o === "InvalidInput").length).toBe(5)
      expect((yield* s.loadMessages(ws.id)).map((m) => m.id)).toEqual([id])
    }))

  test("storeMessages to an unknown workstream is NotFound and creates nothing", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const id = wid(`missing_${token()}`)
      expect(yield* outcome(s.storeMessages(id, [{ role: "user", content: "x" }]))).toBe("NotFound")
      expect(Option.isNone(yield* s.get(id))).toBe(true)
    }))

  test("archived and paused workstreams keep their log and accept messages", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 2)
      yield* s.update(ws.id, { state: "archived" })
      expect(seqs(yield* append(ws.id, 1))).toEqual([3])
      const back = yield* s.update(ws.id, { state: "active" })
      expect(back.messageCount).toBe(3)
      expect(seqs(yield* s.loadMessages(ws.id))).toEqual([1, 2, 3])
    }))

  test("an id of 128 characters and the full alphabet works end to end", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const id = wid(`_Az09-${token()}`.padEnd(128, "x"))
      yield* s.create({ id, title: "long id" })
      yield* s.storeMessage(id, { role: "system", content: "ok" })
      expect((yield* s.loadMessages(id)).map((m) => m.workstreamId)).toEqual([id])
      yield* s.delete(id)
      expect(Option.isNone(yield* s.get(id))).toBe(true)
    }))

  test("a loadMessages filter that matches nothing is an empty array, not an error", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      expect(yield* s.loadMessages(ws.id, { limit: 5 })).toEqual([])
      yield* append(ws.id, 2)
      expect(yield* s.loadMessages(ws.id, { since: DateTime.unsafeMake("2999-01-01T00:00:00Z") })).toEqual([])
    }))

  test("logs of different workstreams are isolated", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const [a, b] = [yield* fresh(), yield* fresh()]
      yield* append(a.id, 3)
      yield* append(b.id, 1)
      expect(seqs(yield* s.loadMessages(a.id))).toEqual([1, 2, 3])
      expect((yield* s.loadMessages(b.id)).map((m) => m.workstreamId)).toEqual([b.id])
    }))
}
