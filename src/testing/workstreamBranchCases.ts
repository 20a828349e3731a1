/**
 * The fork and search cases of the WorkstreamStore conformance suite, registered by `WorkstreamStoreSuite.suite`.
 * Every test searches for words only it uses (`token()`), so tests sharing one store never see each other's hits.
 */
import { expect } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, TestClock } from "effect"
import { SessionId, WorkstreamId } from "../Ids.js"
import type { Message } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { Cases } from "./workstreamMessageCases.js"
import { outcome, token, untyped, uuid } from "./internal.js"

const sid = (): SessionId => SessionId.make(uuid())
const wid = (s: string): WorkstreamId => untyped(s)
const copyOf = (m: Message) => [m.seq, m.role, m.content, m.timestamp.epochMillis, m.sessionId, m.metadata]

export const branchCases = ({ append, fresh, test }: Cases): void => {
  // --- fork ----------------------------------------------------------------------------------------------------

  test("fork with copy copies messages 1..atSeq with new ids and the same seqs, timestamps, sessions and metadata", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const source = yield* s.create({ title: "source", defaultModel: "model-a", tags: ["x"] })
      const session = sid()
      const stored: Array<Message> = []
      for (let i = 1; i <= 5; i++) {
        yield* TestClock.adjust(Duration.seconds(i))
        stored.push(yield* s.storeMessage(source.id, {
          role: i % 2 === 0 ? "assistant" : "user",
          content: `message ${i}`,
          ...(i === 2 ? { sessionId: session } : {}),
          ...(i === 3 ? { metadata: { n: i, nested: { ok: true } } } : {})
        }))
      }
      yield* TestClock.adjust(Duration.minutes(1))
      const before = Option.getOrThrow(yield* s.get(source.id))
      const now = yield* DateTime.now
      const fork = yield* s.fork(source.id, { atSeq: 3, title: "retry from 3", tags: ["b", "a"], copy: true })
      expect(fork.id).not.toBe(source.id)
      expect(fork.title).toBe("retry from 3")
      expect(fork.tags).toEqual(["a", "b"])
      expect(fork.state).toBe("active")
      expect(fork.isScratch).toBe(false)
      expect(fork.defaultModel).toBe("model-a")
      expect(fork.forkedFrom).toEqual({ workstreamId: source.id, seq: 3 })
      expect(fork.messageCount).toBe(3)
      expect(fork.lastMessageAt?.epochMillis).toBe(stored[2]!.timestamp.epochMillis)
      expect(fork.createdAt.epochMillis).toBe(now.epochMillis)
      expect(fork.updatedAt.epochMillis).toBe(now.epochMillis)
      expect(Option.getOrThrow(yield* s.get(fork.id))).toEqual(fork)
      const copied = yield* s.loadMessages(fork.id)
      expect(copied.map(copyOf)).toEqual(stored.slice(0, 3).map(copyOf))
      expect(copied.every((m) => m.workstreamId === fork.id)).toBe(true)
      const sourceIds = new Set(stored.map((m) => m.id))
      expect(copied.some((m) => sourceIds.has(m.id))).toBe(false)
      expect(new Set(copied.map((m) => m.id)).size).toBe(3)
      // The source is untouched.
      expect(Option.getOrThrow(yield* s.get(source.id))).toEqual(before)
      expect(yield* s.loadMessages(source.id)).toEqual(stored)
      // The fork grows on its own, from the next seq.
      const next = yield* s.storeMessage(fork.id, { role: "user", content: "a different turn" })
      expect(next.seq).toBe(4)
      expect((yield* s.loadMessages(source.id)).length).toBe(5)
      expect((yield* s.storeMessage(source.id, { role: "user", content: "source goes on" })).seq).toBe(6)
      expect((yield* s.loadMessages(fork.id)).map((m) => m.content)).toEqual(["message 1", "message 2", "message 3", "a different turn"])
      expect((yield* s.loadMessages(fork.id, { limit: 2 })).map((m) => m.seq)).toEqual([3, 4])
    }))

  test("fork with copy copies everything by default; atSeq 0 and an empty source make empty forks; defaultModel can be given", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const source = yield* fresh()
      const stored = yield* append(source.id, 4)
      const all = yield* s.fork(source.id, { title: "all", defaultModel: "other", copy: true })
      expect(all.forkedFrom).toEqual({ workstreamId: source.id, seq: 4 })
      expect(all.defaultModel).toBe("other")
      expect((yield* s.loadMessages(all.id)).map(copyOf)).toEqual(stored.map(copyOf))
      const none = yield* s.fork(source.id, { atSeq: 0, title: "from the start", copy: true })
      expect(none.forkedFrom).toEqual({ workstreamId: source.id, seq: 0 })
      expect(none.messageCount).toBe(0)
      expect(none.lastMessageAt).toBeUndefined()
      expect(yield* s.loadMessages(none.id)).toEqual([])
      expect((yield* s.storeMessage(none.id, { role: "user", content: "x" })).seq).toBe(1)
      const empty = yield* fresh()
      const ofEmpty = yield* s.fork(empty.id, { title: "of empty", copy: true })
      expect(ofEmpty.forkedFrom).toEqual({ workstreamId: empty.id, seq: 0 })
      expect(ofEmpty.messageCount).toBe(0)
    }))

  test("fork of an unknown source is NotFound; atSeq past the end, negative or fractional, and bad titles are InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      expect(yield* outcome(s.fork(wid(`missing_${token()}`), { title: "t" }))).toBe("NotFound")
      expect(yield* outcome(s.fork(wid("../x"), { title: "t" }))).toBe("InvalidInput")
      const source = yield* fresh()
      yield* append(source.id, 3)
      const e = yield* Effect.flip(s.fork(source.id, { atSeq: 4, title: "t" }))
      expect(e._tag).toBe("InvalidInput")
      for (const atSeq of [-1, 1.5, Number.NaN]) expect(yield* outcome(s.fork(source.id, { atSeq, title: "t" }))).toBe("InvalidInput")
      expect(yield* outcome(s.fork(source.id, { title: " " }))).toBe("InvalidInput")
      expect(yield* outcome(s.fork(source.id, { title: "t", tags: [""] }))).toBe("InvalidInput")
      expect((yield* s.list({ forkedFrom: source.id })).items).toEqual([])
      expect(yield* outcome(s.list({ forkedFrom: "../x" }))).toBe("InvalidInput")
    }))

  test("a copied fork of a copied fork keeps its lineage; list filters by forkedFrom (direct forks only) and pages", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh("root")
      yield* append(root.id, 6)
      const a = yield* s.fork(root.id, { atSeq: 5, title: "a", copy: true })
      yield* TestClock.adjust(Duration.seconds(1))
      const b = yield* s.fork(root.id, { atSeq: 2, title: "b", copy: true })
      yield* TestClock.adjust(Duration.seconds(1))
      yield* s.storeMessage(a.id, { role: "user", content: "only in a" })
      const aa = yield* s.fork(a.id, { atSeq: 6, title: "a of a", copy: true })
      expect(aa.forkedFrom).toEqual({ workstreamId: a.id, seq: 6 })
      expect(Option.getOrThrow(yield* s.get(aa.id)).forkedFrom).toEqual({ workstreamId: a.id, seq: 6 })
      expect(Option.getOrThrow(yield* s.get(a.id)).forkedFrom?.workstreamId).toBe(root.id)
      expect((yield* s.loadMessages(aa.id)).map((m) => m.content)).toEqual(["m1", "m2", "m3", "m4", "m5", "only in a"])
      const direct = yield* s.list({ forkedFrom: root.id })
      expect(direct.items.map((w) => w.id)).toEqual([a.id, b.id])
      expect((yield* s.list({ forkedFrom: a.id })).items.map((w) => w.id)).toEqual([aa.id])
      const first = yield* s.list({ forkedFrom: root.id, limit: 1 })
      const rest = yield* s.list({ forkedFrom: root.id, limit: 1, cursor: Option.getOrThrow(first.nextCursor) })
      expect([...first.items, ...rest.items].map((w) => w.id)).toEqual([a.id, b.id])
      // Deleting a source leaves its forks whole, their lineage naming it.
      yield* s.delete(a.id)
      expect(Option.getOrThrow(yield* s.get(aa.id)).forkedFrom).toEqual({ workstreamId: a.id, seq: 6 })
      expect((yield* s.loadMessages(aa.id)).length).toBe(6)
      expect((yield* s.list({ forkedFrom: a.id })).items.map((w) => w.id)).toEqual([aa.id])
      // A copy of a store (an import) creates a fork with its lineage given.
      const imported = yield* s.create({ title: "imported fork", forkedFrom: { workstreamId: root.id, seq: 1 } })
      expect(Option.getOrThrow(yield* s.get(imported.id)).forkedFrom).toEqual({ workstreamId: root.id, seq: 1 })
      expect((yield* s.list({ forkedFrom: root.id })).items.map((w) => w.id)).toContain(imported.id)
    }))

  // --- searchMessages ------------------------------------------------------------------------------------------

  test("searchMessages finds messages across workstreams, best first, with scores in [0,1], seqs and snippets", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const word = token()
      const other = token()
      const a = yield* fresh()
      const b = yield* fresh()
      yield* s.storeMessages(a.id, [
        { role: "user", content: `nothing here` },
        { role: "assistant", content: `${word} ${word} ${other}` }
      ])
      const filler = Array.from({ length: 60 }, (_, i) => `filler${i}`).join(" ")
      yield* s.storeMessages(b.id, [{ role: "user", content: `${filler} the ${word} came up once ${filler}` }])
      const hits = yield* s.searchMessages(`What about ${word.toUpperCase()}?`)
      expect(hits.map((h) => [h.workstreamId, h.seq])).toEqual([[a.id, 2], [b.id, 1]])
      expect(hits[0]!.message.content).toBe(`${word} ${word} ${other}`)
      expect(hits[0]!.message.workstreamId).toBe(a.id)
      expect(hits[0]!.message.seq).toBe(2)
      for (const h of hits) {
        expect(h.score).toBeGreaterThan(0)
        expect(h.score).toBeLessThanOrEqual(1)
        expect(h.snippet.toLowerCase()).toContain(word)
      }
      expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score)
      expect(hits[0]!.snippet).toBe(`${word} ${word} ${other}`)
      const long = hits[1]!.snippet
      expect(long.startsWith("…") && long.endsWith("…")).toBe(true)
      expect(long.length).toBeLessThan(hits[1]!.message.content.length)
      expect(yield* s.loadMessages(a.id, { afterSeq: 1 })).toEqual([hits[0]!.message])
      // Several words: any may match, and a message with more of them ranks higher.
      const both = yield* s.searchMessages(`${word} ${other}`)
      expect(both[0]!.seq).toBe(2)
      expect((yield* s.searchMessages(other)).map((h) => h.workstreamId)).toEqual([a.id])
    }))

  test("searchMessages matches word forms and ignores case; the top of the ranking never depends on the limit", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const tag = token()
      const ws = yield* fresh()
      yield* s.storeMessages(ws.id, [
        { role: "user", content: `${tag} we are Migrating the tables` },
        { role: "assistant", content: `${tag} the migration ran` },
        { role: "user", content: `${tag} unrelated words` }
      ])
      const forms = yield* s.searchMessages("migrations", { workstreamIds: [ws.id] })
      expect(forms.map((h) => h.seq).sort()).toEqual([1, 2])
      const many = Array.from({ length: 12 }, (_, i) => ({ role: "user" as const, content: `${tag} ${"pad ".repeat(i)}` }))
      yield* s.storeMessages(ws.id, many)
      const all = yield* s.searchMessages(tag, { limit: 100 })
      expect(all.length).toBe(15)
      for (const limit of [1, 3, 7]) {
        expect((yield* s.searchMessages(tag, { limit })).map((h) => h.message.id)).toEqual(all.slice(0, limit).map((h) => h.message.id))
      }
      for (let i = 1; i < all.length; i++) expect(all[i - 1]!.score).toBeGreaterThanOrEqual(all[i]!.score)
    }))

  test("searchMessages filters by workstreams, session, roles and time before the limit", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const word = token()
      const a = yield* fresh()
      const b = yield* fresh()
      const session = sid()
      const start = yield* DateTime.now
      // Many strong matches that every filter below rejects, and weak ones it keeps: the limit must not cut first.
      yield* s.storeMessages(a.id, Array.from({ length: 30 }, () => ({ role: "assistant" as const, content: `${word} ${word} ${word}` })))
      yield* TestClock.adjust(Duration.minutes(10))
      const weak = yield* s.storeMessages(b.id, Array.from({ length: 3 }, (_, i) => ({
        role: "tool_result" as const,
        content: `${word} with much more text around it so that it ranks lower ${i}`,
        sessionId: session
      })))
      const ids = (hits: ReadonlyArray<{ readonly message: Message }>) => hits.map((h) => h.message.id).sort()
      const expected = weak.map((m) => m.id).sort()
      expect(ids(yield* s.searchMessages(word, { workstreamIds: [b.id], limit: 3 }))).toEqual(expected)
      expect(ids(yield* s.searchMessages(word, { workstreamIds: [b.id, wid(`missing_${token()}`)], limit: 3 }))).toEqual(expected)
      expect(ids(yield* s.searchMessages(word, { sessionId: session, limit: 3 }))).toEqual(expected)
      expect(ids(yield* s.searchMessages(word, { roles: ["tool_result", "system"], limit: 3 }))).toEqual(expected)
      expect(ids(yield* s.searchMessages(word, { since: DateTime.add(start, { minutes: 5 }), limit: 3 }))).toEqual(expected)
      const early = yield* s.searchMessages(word, { until: DateTime.add(start, { minutes: 5 }), limit: 100 })
      expect(early.length).toBe(30)
      expect(early.every((h) => h.workstreamId === a.id)).toBe(true)
      expect((yield* s.searchMessages(word, { until: start, since: start, limit: 100 })).length).toBe(30)
      expect(yield* s.searchMessages(word, { workstreamIds: [] })).toEqual([])
      expect(yield* s.searchMessages(word, { roles: [] })).toEqual([])
      expect(yield* s.searchMessages(word, { sessionId: sid() })).toEqual([])
      expect((yield* s.searchMessages(word)).length).toBe(10)
    }))

  test("searchMessages takes any text as plain words, never as query syntax; bad options are InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const word = token()
      const ws = yield* fresh()
      yield* s.storeMessages(ws.id, [
        { role: "user", content: `${word} NEAR OR AND NOT content: "quoted" * ^start` },
        { role: "user", content: "plain" }
      ])
      const hostile = [
        `"${word}`, `${word}"`, `${word} OR`, `NEAR(${word}`, `${word}*`, `content:${word}`, `-${word}`, `^${word}`,
        `{${word}}`, `${word} AND NOT`, `(${word}`, `'${word}'`, `${word}\u0000`, `${word}:`
      ]
      for (const q of hostile) {
        const hits = yield* s.searchMessages(q, { workstreamIds: [ws.id] })
        expect(hits.map((h) => h.seq)).toEqual([1])
      }
      for (const q of ["", "   ", "\"", "*", "()", "-", ":", "\u0000"]) expect(yield* s.searchMessages(q)).toEqual([])
      expect(yield* outcome(s.searchMessages(word, { limit: 0 }))).toBe("InvalidInput")
      expect(yield* outcome(s.searchMessages(word, { limit: 1001 }))).toBe("InvalidInput")
      expect(yield* outcome(s.searchMessages(word, { roles: [untyped("robot")] }))).toBe("InvalidInput")
      expect(yield* outcome(s.searchMessages(word, { workstreamIds: [wid("../x")] }))).toBe("InvalidInput")
      expect(yield* outcome(s.searchMessages(word, { sessionId: "s1" }))).toBe("InvalidInput")
      expect(yield* outcome(s.searchMessages(untyped(42)))).toBe("InvalidInput")
    }))

  test("searchMessages follows the logs: appends are found at once, a delete removes its hits, a copied fork's copies are found", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const word = token()
      const ws = yield* fresh()
      expect(yield* s.searchMessages(word)).toEqual([])
      yield* s.storeMessage(ws.id, { role: "user", content: `first ${word}` })
      expect((yield* s.searchMessages(word)).map((h) => h.seq)).toEqual([1])
      const fork = yield* s.fork(ws.id, { title: "copy", copy: true })
      const hits = yield* s.searchMessages(word)
      expect(hits.map((h) => h.workstreamId).sort()).toEqual([ws.id, fork.id].sort())
      const copy = hits.find((h) => h.workstreamId === fork.id)!
      expect(copy.message).toEqual((yield* s.loadMessages(fork.id))[0])
      yield* s.delete(ws.id)
      expect((yield* s.searchMessages(word)).map((h) => h.workstreamId)).toEqual([fork.id])
      yield* s.delete(fork.id)
      expect(yield* s.searchMessages(word)).toEqual([])
      const reborn = yield* s.create({ id: ws.id, title: "reborn" })
      expect(yield* s.searchMessages(word)).toEqual([])
      yield* s.storeMessage(reborn.id, { role: "user", content: `again ${word}` })
      expect((yield* s.searchMessages(word)).map((h) => h.message.content)).toEqual([`again ${word}`])
    }))
}
