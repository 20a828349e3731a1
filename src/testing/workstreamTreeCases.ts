/**
 * The branch cases of the WorkstreamStore conformance suite (threads as a tree), registered by
 * `WorkstreamStoreSuite.suite`: a fork shares its source's messages without copying them, reads and searches follow
 * a branch's path and never a sibling's, and a workstream keeps the messages its branches share.
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
const key = (m: Message) => [m.workstreamId, m.seq, m.id, m.content]

export const treeCases = ({ append, fresh, test }: Cases): void => {
  test("fork makes a branch: messages 1..atSeq are the source's own (same ids, nothing copied), its seqs continue, and each side grows alone", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const source = yield* s.create({ title: "source", defaultModel: "m", tags: ["x"] })
      const stored = yield* append(source.id, 5)
      yield* TestClock.adjust(Duration.minutes(1))
      const now = yield* DateTime.now
      const branch = yield* s.fork(source.id, { atSeq: 3, title: "retry from 3", tags: ["b"] })
      expect(branch.forkedFrom).toEqual({ workstreamId: source.id, seq: 3, shared: true })
      expect(branch.messageCount).toBe(3)
      expect(branch.lastMessageAt?.epochMillis).toBe(stored[2]!.timestamp.epochMillis)
      expect(branch.defaultModel).toBe("m")
      expect(branch.updatedAt.epochMillis).toBe(now.epochMillis)
      expect(Option.getOrThrow(yield* s.get(branch.id))).toEqual(branch)
      expect((yield* s.update(branch.id, { title: "renamed" })).forkedFrom).toEqual(branch.forkedFrom)
      expect((yield* s.loadMessages(branch.id)).map(key)).toEqual(stored.slice(0, 3).map(key))
      const own = yield* s.storeMessages(branch.id, [{ role: "user", content: "another way" }, { role: "assistant", content: "ok" }])
      expect(own.map((m) => [m.seq, m.workstreamId])).toEqual([[4, branch.id], [5, branch.id]])
      const more = yield* s.storeMessage(source.id, { role: "user", content: "source goes on" })
      expect(more.seq).toBe(6)
      expect((yield* s.loadMessages(branch.id)).map(key)).toEqual([...stored.slice(0, 3), ...own].map(key))
      expect((yield* s.loadMessages(source.id)).map(key)).toEqual([...stored, more].map(key))
      expect((yield* s.loadMessages(branch.id, { limit: 3 })).map((m) => m.seq)).toEqual([3, 4, 5])
      expect((yield* s.loadMessages(branch.id, { beforeSeq: 5, afterSeq: 1 })).map((m) => m.seq)).toEqual([2, 3, 4])
      const counted = Option.getOrThrow(yield* s.get(branch.id))
      expect(counted.messageCount).toBe(5)
      expect(counted.lastMessageAt?.epochMillis).toBe(own[1]!.timestamp.epochMillis)
      // A branch at 0 shares nothing; a branch of everything ends where its source did.
      const empty = yield* s.fork(source.id, { atSeq: 0, title: "blank" })
      expect([empty.messageCount, empty.lastMessageAt]).toEqual([0, undefined])
      expect((yield* s.storeMessage(empty.id, { role: "user", content: "first" })).seq).toBe(1)
      const whole = yield* s.fork(source.id, { title: "all" })
      expect(whole.forkedFrom).toEqual({ workstreamId: source.id, seq: 6, shared: true })
      expect((yield* s.loadMessages(whole.id)).map(key)).toEqual([...stored, more].map(key))
    }))

  test("a chain of 50 branches reads as one path: tail reads, ranges and session filters agree with the whole path", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const session = sid()
      let head = yield* fresh("root")
      const path: Array<Message> = [...yield* append(head.id, 3, (i) => (i === 1 ? { sessionId: session } : {}))]
      for (let depth = 0; depth < 50; depth++) {
        // Each branch cuts its parent one message short of its end, so every ancestor holds a message no branch sees.
        const extra = yield* s.storeMessage(head.id, { role: "user", content: `dropped ${depth}` })
        const branch = yield* s.fork(head.id, { atSeq: extra.seq - 1, title: `depth ${depth + 1}` })
        const own = yield* s.storeMessages(branch.id, [
          { role: "user", content: `own ${depth}`, ...(depth % 10 === 0 ? { sessionId: session } : {}) },
          { role: "assistant", content: `reply ${depth}` }
        ])
        path.push(...own)
        head = branch
      }
      const all = yield* s.loadMessages(head.id)
      expect(all.map(key)).toEqual(path.map(key))
      expect(all.map((m) => m.seq)).toEqual(path.map((_, i) => i + 1))
      expect(Option.getOrThrow(yield* s.get(head.id)).messageCount).toBe(path.length)
      expect((yield* s.loadMessages(head.id, { limit: 5 })).map(key)).toEqual(path.slice(-5).map(key))
      expect((yield* s.loadMessages(head.id, { limit: 4, beforeSeq: 40 })).map((m) => m.seq)).toEqual([36, 37, 38, 39])
      expect((yield* s.loadMessages(head.id, { afterSeq: 100 })).map((m) => m.seq)).toEqual([101, 102, 103])
      const bySession = path.filter((m) => m.sessionId === session)
      expect((yield* s.loadMessages(head.id, { sessionId: session })).map(key)).toEqual(bySession.map(key))
      expect((yield* s.loadMessages(head.id, { sessionId: session, limit: 2 })).map(key)).toEqual(bySession.slice(-2).map(key))
      expect((yield* s.storeMessage(head.id, { role: "user", content: "next" })).seq).toBe(path.length + 1)
    }))

  test("searchMessages with a branch searches exactly its path: never a sibling's or a later source message", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const word = token()
      const root = yield* fresh("root")
      const shared = yield* s.storeMessages(root.id, [{ role: "user", content: `${word} one` }, { role: "user", content: `${word} two` }])
      const left = yield* s.fork(root.id, { title: "left" })
      const right = yield* s.fork(root.id, { atSeq: 1, title: "right" })
      const later = yield* s.storeMessage(root.id, { role: "user", content: `${word} after the forks` })
      const leftOwn = yield* s.storeMessage(left.id, { role: "user", content: `${word} left only` })
      const rightOwn = yield* s.storeMessage(right.id, { role: "user", content: `${word} right only` })
      const deeper = yield* s.fork(left.id, { atSeq: 2, title: "left of left" })
      const deeperOwn = yield* s.storeMessage(deeper.id, { role: "user", content: `${word} deeper` })
      const ids = (hits: ReadonlyArray<{ readonly message: Message }>) => hits.map((h) => h.message.id).sort()
      const search = (branch: WorkstreamId) => s.searchMessages(word, { branch, limit: 100 })
      expect(ids(yield* search(left.id))).toEqual([...shared, leftOwn].map((m) => m.id).sort())
      expect(ids(yield* search(right.id))).toEqual([shared[0]!, rightOwn].map((m) => m.id).sort())
      expect(ids(yield* search(deeper.id))).toEqual([...shared, deeperOwn].map((m) => m.id).sort())
      expect(ids(yield* search(root.id))).toEqual([...shared, later].map((m) => m.id).sort())
      // Without the filter, every stored message once: shared messages are stored once, by their workstream.
      expect((yield* s.searchMessages(word, { limit: 100 })).length).toBe(6)
      const hit = (yield* s.searchMessages(`${word} one`, { branch: right.id }))[0]!
      expect([hit.workstreamId, hit.seq, hit.message.id]).toEqual([root.id, 1, shared[0]!.id])
      expect(ids(yield* s.searchMessages(word, { branch: left.id, workstreamIds: [left.id], limit: 100 }))).toEqual([leftOwn.id])
      expect(yield* s.searchMessages(word, { branch: wid(`missing_${token()}`) })).toEqual([])
      expect(yield* outcome(s.searchMessages(word, { branch: wid("../x") }))).toBe("InvalidInput")
    }))

  test("a workstream with branches is not deleted (InvalidInput naming them) unless with its subtree; copied forks stay", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh("root")
      yield* append(root.id, 4)
      const a = yield* s.fork(root.id, { atSeq: 2, title: "a" })
      const aa = yield* s.fork(a.id, { title: "a of a" })
      const copy = yield* s.fork(root.id, { atSeq: 3, title: "copy", copy: true })
      const e = yield* Effect.flip(s.delete(root.id))
      expect(e._tag).toBe("InvalidInput")
      expect(e.message).toContain(a.id)
      expect(e.message).toContain("subtree")
      expect(yield* outcome(s.delete(a.id))).toBe("InvalidInput")
      expect((yield* s.loadMessages(aa.id)).length).toBe(2)
      yield* s.delete(aa.id)
      yield* s.delete(a.id)
      const b = yield* s.fork(root.id, { title: "b" })
      const bb = yield* s.fork(b.id, { title: "b of b" })
      yield* s.delete(root.id, { subtree: true })
      for (const id of [root.id, b.id, bb.id]) expect(Option.isNone(yield* s.get(id))).toBe(true)
      expect(yield* outcome(s.loadMessages(bb.id))).toBe("NotFound")
      expect((yield* s.loadMessages(copy.id)).length).toBe(3)
      yield* s.delete(root.id, { subtree: true })
      expect(yield* outcome(s.delete(root.id, untyped({ subtree: "yes" })))).toBe("InvalidInput")
    }))

  test("listBranches lists every fork below a workstream, each after its source; copying a branch is refused, branching it is not", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh("root")
      yield* append(root.id, 3)
      const a = yield* s.fork(root.id, { atSeq: 1, title: "a" })
      yield* TestClock.adjust(Duration.seconds(1))
      const b = yield* s.fork(root.id, { title: "b" })
      yield* TestClock.adjust(Duration.seconds(1))
      const aa = yield* s.fork(a.id, { title: "a of a" })
      const copy = yield* s.fork(root.id, { title: "copy", copy: true })
      const listed = yield* s.listBranches(root.id)
      expect(listed.map((w) => w.id)).toEqual([a.id, aa.id, b.id, copy.id])
      expect((yield* s.listBranches(aa.id))).toEqual([])
      expect(yield* outcome(s.listBranches(wid(`missing_${token()}`)))).toBe("NotFound")
      expect(yield* outcome(s.fork(a.id, { title: "copy of a branch", copy: true }))).toBe("InvalidInput")
      expect((yield* s.list({ forkedFrom: root.id })).items.map((w) => w.id).sort()).toEqual([a.id, b.id, copy.id].sort())
    }))

  test("archive and unarchive move a workstream out of and back into list({ archived: false }), keeping its log; scratch cannot be archived", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const tag = token()
      const kept = yield* s.create({ title: "kept", tags: [tag] })
      const old = yield* s.create({ title: "old", tags: [tag] })
      yield* append(old.id, 2)
      const archived = yield* s.archive(old.id)
      expect(archived.state).toBe("archived")
      const ids = (archivedOnly: boolean) => Effect.map(s.list({ tag, archived: archivedOnly }), (p) => p.items.map((w) => w.id))
      expect(yield* ids(false)).toEqual([kept.id])
      expect(yield* ids(true)).toEqual([old.id])
      expect((yield* s.loadMessages(old.id)).length).toBe(2)
      expect((yield* s.unarchive(old.id)).state).toBe("active")
      expect((yield* ids(false)).sort()).toEqual([kept.id, old.id].sort())
      expect(yield* ids(true)).toEqual([])
      expect(yield* outcome(s.archive(wid(`missing_${token()}`)))).toBe("NotFound")
      expect(yield* outcome(s.archive(wid("scratch")))).toBe("InvalidInput")
      expect(yield* outcome(s.list({ archived: untyped("yes") }))).toBe("InvalidInput")
    }))

  test("create with a shared lineage (a copy of a store) makes a branch of an existing source, or is InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh("root")
      const stored = yield* append(root.id, 3)
      const id = wid(`imported_${token()}`)
      const createdAt = DateTime.unsafeMake("2026-01-02T03:04:05.678Z")
      const made = yield* s.create({ id, title: "imported branch", forkedFrom: { workstreamId: root.id, seq: 2, shared: true }, createdAt })
      expect(made.messageCount).toBe(2)
      expect(made.createdAt.epochMillis).toBe(createdAt.epochMillis)
      expect(made.lastMessageAt?.epochMillis).toBe(stored[1]!.timestamp.epochMillis)
      expect((yield* s.loadMessages(id)).map(key)).toEqual(stored.slice(0, 2).map(key))
      expect(yield* outcome(s.create({ id, title: "again", forkedFrom: { workstreamId: root.id, seq: 2, shared: true } }))).toBe("InvalidInput")
      expect(yield* outcome(s.create({ title: "too far", forkedFrom: { workstreamId: root.id, seq: 9, shared: true } }))).toBe("InvalidInput")
      expect(yield* outcome(s.create({ title: "no source", forkedFrom: { workstreamId: wid(`missing_${token()}`), seq: 1, shared: true } })))
        .toBe("InvalidInput")
      expect((yield* s.list({ forkedFrom: root.id })).items.map((w) => w.id)).toEqual([id])
    }))
}
