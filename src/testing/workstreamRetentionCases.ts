/**
 * The retention cases of the WorkstreamStore conformance suite, registered by `WorkstreamStoreSuite.suite`: policies
 * per workstream and per tag, and `prune`, which removes only a prefix behind summaries, never what a branch still
 * reads, and says why when it removes less than a policy asks.
 */
import { expect } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"
import { IdGenerator, WorkstreamId } from "../Ids.js"
import type { ContextItem } from "../WorkstreamContext.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { Cases } from "./workstreamMessageCases.js"
import { outcome, token, untyped, uuid } from "./internal.js"

const wid = (s: string): WorkstreamId => untyped(s)

export const retentionCases = ({ append, fresh, test }: Cases): void => {
  test("setRetention stores a policy per workstream or tag (maxAge as text or ms), getRetention reads it, null removes it", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      expect(yield* s.getRetention({ workstreamId: ws.id })).toEqual(Option.none())
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 10, maxAge: "2 days" })
      expect(yield* s.getRetention({ workstreamId: ws.id })).toEqual(Option.some({ maxMessages: 10, maxAge: 172_800_000 }))
      yield* s.setRetention({ workstreamId: ws.id }, { maxAge: 1000 })
      expect(yield* s.getRetention({ workstreamId: ws.id })).toEqual(Option.some({ maxAge: 1000 }))
      const tag = `namespace:${token()}`
      yield* s.setRetention({ tag }, { maxMessages: 3 })
      expect(yield* s.getRetention({ tag })).toEqual(Option.some({ maxMessages: 3 }))
      yield* s.setRetention({ tag }, null)
      yield* s.setRetention({ tag }, null)
      expect(yield* s.getRetention({ tag })).toEqual(Option.none())
      expect(yield* outcome(s.setRetention({ workstreamId: wid(`missing_${token()}`) }, { maxMessages: 1 }))).toBe("NotFound")
      expect(yield* outcome(s.setRetention({ workstreamId: ws.id }, { maxAge: "soon" }))).toBe("InvalidInput")
      expect(yield* outcome(s.setRetention({ workstreamId: ws.id }, { maxMessages: -1 }))).toBe("InvalidInput")
    }))

  test("prune without a summary over the prefix removes nothing and says why; messages and counters stay", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const stored = yield* append(ws.id, 6)
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 2 })
      const report = yield* s.prune({ workstreamId: ws.id })
      expect(report.removed).toBe(0)
      expect(report.pruned).toEqual([])
      expect(report.refused.map((r) => r.workstreamId)).toEqual([ws.id])
      expect(report.refused[0]!.reason).toContain("summar")
      expect((yield* s.loadMessages(ws.id)).map((m) => m.id)).toEqual(stored.map((m) => m.id))
      const after = Option.getOrThrow(yield* s.get(ws.id))
      expect(after.messageCount).toBe(6)
      expect(after.prunedThrough).toBeUndefined()
    }))

  test("prune of a workstream without a policy, or whose policy keeps everything, does nothing; an unknown id is InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 3)
      expect(yield* s.prune({ workstreamId: ws.id })).toEqual({ pruned: [], refused: [], removed: 0, done: true })
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 3 })
      expect(yield* s.prune({ workstreamId: ws.id })).toEqual({ pruned: [], refused: [], removed: 0, done: true })
      expect(yield* outcome(s.prune({ workstreamId: wid(`missing_${token()}`) }))).toBe("InvalidInput")
      expect(yield* outcome(s.prune({ budget: 0 }))).toBe("InvalidInput")
    }))

  test("a tag's policy applies to every workstream carrying the tag; the workstream's own policy overrides it", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const tag = `namespace:${token()}`
      const a = yield* s.create({ title: "a", tags: [tag] })
      const b = yield* s.create({ title: "b", tags: [tag] })
      yield* append(a.id, 4)
      yield* append(b.id, 4)
      yield* s.setRetention({ tag }, { maxMessages: 1 })
      yield* s.setRetention({ workstreamId: b.id }, { maxMessages: 10 })
      const report = yield* s.prune()
      const refused = report.refused.map((r) => r.workstreamId)
      expect(refused).toContain(a.id)
      expect(refused).not.toContain(b.id)
    }))

  test("prune removes the prefix a summary covers: the tail keeps its seqs, appends go on, messageCount counts all, search and context follow", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const word = `w${token().replace(/[^a-z0-9]/gi, "")}`
      const stored = yield* s.storeMessages(ws.id, Array.from({ length: 8 }, (_, i) => ({ role: "user" as const, content: `${word} m${i + 1}` })))
      yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 6, content: "the first six" })
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 1 })
      const report = yield* s.prune({ workstreamId: ws.id })
      expect(report.pruned.map((p) => [p.workstreamId, p.through, p.removed])).toEqual([[ws.id, 6, 6]])
      expect(report.refused.map((r) => r.workstreamId)).toEqual([ws.id])
      expect(report.done).toBe(true)
      const after = Option.getOrThrow(yield* s.get(ws.id))
      expect([after.messageCount, after.prunedThrough]).toEqual([8, 6])
      expect((yield* s.loadMessages(ws.id)).map((m) => [m.seq, m.id])).toEqual(stored.slice(6).map((m) => [m.seq, m.id]))
      expect((yield* s.loadMessages(ws.id, { limit: 1 })).map((m) => m.seq)).toEqual([8])
      expect((yield* s.loadMessages(ws.id, { beforeSeq: 7 }))).toEqual([])
      const next = yield* s.storeMessage(ws.id, { role: "assistant", content: "after the prune" })
      expect(next.seq).toBe(9)
      const hits = yield* s.searchMessages(word, { workstreamIds: [ws.id], limit: 50 })
      expect(hits.map((h) => h.seq).sort((a, b) => a - b)).toEqual([7, 8])
      const context = yield* s.loadContext(ws.id)
      expect(context.map((c) => (c._tag === "Summary" ? "summary" : c.message.seq))).toEqual(["summary", 7, 8, 9])
      const again = yield* s.prune({ workstreamId: ws.id })
      expect(again.removed).toBe(0)
    }))

  test("prune stops at its budget and resumes: done is false until every policy is met", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 10)
      yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 10, content: "all of it" })
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 0 })
      const first = yield* s.prune({ workstreamId: ws.id, budget: 4 })
      expect([first.removed, first.done]).toEqual([4, false])
      const second = yield* s.prune({ workstreamId: ws.id, budget: 4 })
      expect([second.removed, second.done]).toEqual([4, false])
      const third = yield* s.prune({ workstreamId: ws.id, budget: 4 })
      expect([third.removed, third.done]).toEqual([2, true])
      expect(yield* s.loadMessages(ws.id)).toEqual([])
      const after = Option.getOrThrow(yield* s.get(ws.id))
      expect([after.messageCount, after.prunedThrough]).toEqual([10, 10])
      expect((yield* s.storeMessage(ws.id, { role: "user", content: "fresh start" })).seq).toBe(11)
    }))

  test("maxAge removes the messages older than it (by the Clock), behind a summary", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 3)
      yield* TestClock.adjust(Duration.days(2))
      yield* append(ws.id, 2)
      yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 4, content: "older" })
      yield* s.setRetention({ workstreamId: ws.id }, { maxAge: "1 day" })
      const report = yield* s.prune({ workstreamId: ws.id })
      expect(report.pruned.map((p) => p.through)).toEqual([3])
      expect((yield* s.loadMessages(ws.id)).map((m) => m.seq)).toEqual([4, 5])
    }))

  test("prune never removes what a branch reads without a summary on its own path; with one there, it does", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh()
      const stored = yield* append(root.id, 8)
      const branch = yield* s.fork(root.id, { atSeq: 4, title: "branch" })
      const own = yield* s.storeMessage(branch.id, { role: "user", content: "the branch's own" })
      yield* s.summarize(root.id, { fromSeq: 1, toSeq: 6, content: "root's first six" })
      yield* s.setRetention({ workstreamId: root.id }, { maxMessages: 2 })
      const refused = yield* s.prune({ workstreamId: root.id })
      expect(refused.removed).toBe(0)
      expect(refused.refused[0]?.reason).toContain(branch.id)
      expect((yield* s.loadMessages(branch.id)).map((m) => m.id)).toEqual([...stored.slice(0, 4), own].map((m) => m.id))
      yield* s.summarize(branch.id, { fromSeq: 1, toSeq: 4, content: "what the branch shares" })
      const report = yield* s.prune({ workstreamId: root.id })
      expect(report.pruned.map((p) => [p.through, p.removed])).toEqual([[6, 6]])
      expect((yield* s.loadMessages(root.id)).map((m) => m.seq)).toEqual([7, 8])
      expect((yield* s.loadMessages(branch.id)).map((m) => m.id)).toEqual([own.id])
      const context = yield* s.loadContext(branch.id)
      expect(context.map((c) => (c._tag === "Summary" ? c.summary.content : c.message.content))).toEqual(["what the branch shares", own.content])
      expect(yield* outcome(s.fork(root.id, { atSeq: 3, title: "too early" }))).toBe("InvalidInput")
      expect(yield* outcome(s.fork(root.id, { atSeq: 8, title: "copy", copy: true }))).toBe("InvalidInput")
      const later = yield* s.fork(root.id, { atSeq: 7, title: "later" })
      expect((yield* s.loadMessages(later.id)).map((m) => m.seq)).toEqual([7])
    }))

  test("a branch whose first messages its source still holds is not pruned: that would leave a gap in its path", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh()
      yield* append(root.id, 3)
      const branch = yield* s.fork(root.id, { atSeq: 3, title: "branch" })
      yield* append(branch.id, 4)
      yield* s.summarize(branch.id, { fromSeq: 1, toSeq: 6, content: "most of it" })
      yield* s.setRetention({ workstreamId: branch.id }, { maxMessages: 1 })
      const report = yield* s.prune({ workstreamId: branch.id })
      expect(report.removed).toBe(0)
      expect(report.refused[0]?.reason).toContain("gap")
      expect((yield* s.loadMessages(branch.id)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7])
    }))

  test("a copy of a pruned workstream (create with prunedThrough, as an import does) keeps its seqs; a pruned branch is refused", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const copy = yield* s.create({ title: "copy of a pruned thread", prunedThrough: 4 })
      expect([copy.messageCount, copy.prunedThrough]).toEqual([4, 4])
      const [m] = yield* s.storeMessages(copy.id, [{ role: "user", content: "the first message kept" }])
      expect(m!.seq).toBe(5)
      expect((yield* s.loadMessages(copy.id)).map((x) => x.seq)).toEqual([5])
      const after = yield* s.get(copy.id)
      expect(Option.map(after, (w) => [w.messageCount, w.prunedThrough])).toEqual(Option.some([5, 4]))
      const source = yield* fresh()
      yield* append(source.id, 2)
      expect(yield* outcome(s.create({
        title: "pruned branch",
        forkedFrom: { workstreamId: source.id, seq: 2, shared: true },
        prunedThrough: 1
      }))).toBe("InvalidInput")
    }))

  test("loadContext after a newer summary outranks the one a prune relied on: the pruned, uncovered seqs are no items", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const stored = yield* append(ws.id, 8)
      const first = yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 1, content: "the first" })
      yield* TestClock.adjust(Duration.seconds(1))
      yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 5, content: "1 to 5" })
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 3 })
      expect((yield* s.prune({ workstreamId: ws.id })).removed).toBe(5)
      yield* TestClock.adjust(Duration.seconds(1))
      // Newest wins: 4..6 claims its range, "1 to 5" overlaps it and drops out, "the first" wins again; 2..3 are gone.
      const later = yield* s.summarize(ws.id, { fromSeq: 4, toSeq: 6, content: "4 to 6" })
      const shape = (items: ReadonlyArray<ContextItem>) =>
        items.map((i) => (i._tag === "Summary" ? i.summary.id : i.message.id))
      const whole = [first.id, later.id, stored[6]!.id, stored[7]!.id]
      expect(shape(yield* s.loadContext(ws.id))).toEqual(whole)
      expect(shape(yield* s.loadContext(ws.id, { limit: 4 }))).toEqual(whole)
      expect(shape(yield* s.loadContext(ws.id, { limit: 3 }))).toEqual(whole.slice(1))
    }))

  // A fork draws its ids after the kernel's own look at the source's prune point and before the driver takes the
  // source's lock: an id generator that prunes on the first draw puts a prune in between, deterministically.
  test("a copy re-checks the prune point under the source's lock: a prune after the kernel's look refuses it, writing nothing", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 6)
      yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 4, content: "the first four" })
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 2 })
      const drawn: Array<string> = []
      const pruningOnce = {
        next: Effect.suspend(() => {
          const id = uuid()
          drawn.push(id)
          return drawn.length === 1 ? Effect.as(Effect.ignore(s.prune({ workstreamId: ws.id })), id) : Effect.succeed(id)
        })
      }
      const copy = yield* Effect.flip(Effect.provideService(s.fork(ws.id, { atSeq: 6, title: "copy", copy: true }), IdGenerator, pruningOnce))
      expect([copy._tag, copy.message]).toEqual(["InvalidInput", expect.stringContaining("pruned")])
      expect(Option.getOrThrow(yield* s.get(ws.id)).prunedThrough).toBe(4)
      for (const id of drawn) expect(yield* s.get(wid(id))).toEqual(Option.none())
      expect(yield* s.listBranches(ws.id)).toEqual([])
    }))

  test("delete drops the workstream's own policy: a new workstream given the same id starts without one", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* s.setRetention({ workstreamId: ws.id }, { maxMessages: 1 })
      yield* s.delete(ws.id)
      const again = yield* s.create({ id: ws.id, title: "same id" })
      expect(yield* s.getRetention({ workstreamId: again.id })).toEqual(Option.none())
      yield* append(again.id, 3)
      expect(yield* s.prune({ workstreamId: again.id })).toEqual({ pruned: [], refused: [], removed: 0, done: true })
    }))
}
