/**
 * The compaction-overlay cases of the WorkstreamStore conformance suite, registered by `WorkstreamStoreSuite.suite`:
 * a summary covers a range without deleting it, `loadContext` shows the newest summary in place of what it covers,
 * and branches inherit summaries by position.
 */
import { expect } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, TestClock } from "effect"
import { SummaryId } from "../Ids.js"
import type { WorkstreamId } from "../Ids.js"
import type { ContextItem, Summary } from "../WorkstreamContext.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { Cases } from "./workstreamMessageCases.js"
import { outcome, untyped, uuid } from "./internal.js"

/** A context as `m<seq>` for a message and `s<from>-<to>` for a summary. */
const shape = (items: ReadonlyArray<ContextItem>) =>
  items.map((i) => (i._tag === "Message" ? `m${i.message.seq}` : `s${i.summary.fromSeq}-${i.summary.toSeq}`))

const summarize = (id: WorkstreamId, fromSeq: number, toSeq: number, extra: Partial<{ id: SummaryId; metadata: { readonly [k: string]: number } }> = {}) =>
  Effect.flatMap(WorkstreamStore, (s) => Effect.tap(s.summarize(id, { fromSeq, toSeq, content: `summary of ${fromSeq}..${toSeq}`, ...extra }), () => TestClock.adjust(Duration.millis(1))))

const ranges = (summaries: ReadonlyArray<Summary>) => summaries.map((x) => [x.workstreamId, x.fromSeq, x.toSeq])

export const overlayCases = ({ append, fresh, test }: Cases): void => {
  test("summarize stores a summary over a range and deletes nothing; loadContext shows it in place of the range, one item", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const stored = yield* append(ws.id, 8)
      yield* TestClock.adjust(Duration.minutes(1))
      const now = yield* DateTime.now
      const summary = yield* s.summarize(ws.id, { fromSeq: 2, toSeq: 5, content: "they agreed on a plan", metadata: { model: "m", tokens: 12 } })
      expect(summary.workstreamId).toBe(ws.id)
      expect([summary.fromSeq, summary.toSeq, summary.content]).toEqual([2, 5, "they agreed on a plan"])
      expect(summary.metadata).toEqual({ model: "m", tokens: 12 })
      expect(summary.createdAt.epochMillis).toBe(now.epochMillis)
      expect(yield* s.listSummaries(ws.id)).toEqual([summary])
      expect(shape(yield* s.loadContext(ws.id))).toEqual(["m1", "s2-5", "m6", "m7", "m8"])
      expect(shape(yield* s.loadContext(ws.id, { limit: 4 }))).toEqual(["s2-5", "m6", "m7", "m8"])
      expect(shape(yield* s.loadContext(ws.id, { limit: 2 }))).toEqual(["m7", "m8"])
      const context = yield* s.loadContext(ws.id)
      expect(context[1]).toEqual({ _tag: "Summary", summary })
      expect(context[0]).toEqual({ _tag: "Message", message: stored[0] })
      expect(yield* s.loadMessages(ws.id)).toEqual(stored)
      const record = Option.getOrThrow(yield* s.get(ws.id))
      expect([record.messageCount, record.version]).toEqual([8, 0])
      // Messages appended later come after it.
      yield* append(ws.id, 1)
      expect(shape(yield* s.loadContext(ws.id, { limit: 3 }))).toEqual(["m7", "m8", "m9"])
      const empty = yield* fresh()
      expect(yield* s.loadContext(empty.id)).toEqual([])
      expect(yield* s.listSummaries(empty.id)).toEqual([])
    }))

  test("a range outside 1..messageCount, blank content and bad options are InvalidInput; an unknown workstream is NotFound", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 3)
      const bad = [
        { fromSeq: 0, toSeq: 2, content: "x" },
        { fromSeq: 2, toSeq: 1, content: "x" },
        { fromSeq: 1, toSeq: 4, content: "x" },
        { fromSeq: 1, toSeq: 2, content: "  " },
        { fromSeq: 1, toSeq: 2, content: "nul\u0000" },
        { fromSeq: 1.5, toSeq: 2, content: "x" }
      ]
      for (const input of bad) expect(yield* outcome(s.summarize(ws.id, input))).toBe("InvalidInput")
      expect(yield* outcome(s.summarize(ws.id, { id: untyped("not-a-uuid"), fromSeq: 1, toSeq: 1, content: "x" }))).toBe("InvalidInput")
      expect(yield* outcome(s.loadContext(ws.id, { limit: 0 }))).toBe("InvalidInput")
      expect(yield* outcome(s.summarize(untyped("../x"), { fromSeq: 1, toSeq: 1, content: "x" }))).toBe("InvalidInput")
      expect(yield* s.listSummaries(ws.id)).toEqual([])
      const unknown = untyped<WorkstreamId>(`missing_${uuid()}`)
      expect(yield* outcome(s.summarize(unknown, { fromSeq: 1, toSeq: 1, content: "x" }))).toBe("NotFound")
      expect(yield* outcome(s.listSummaries(unknown))).toBe("NotFound")
      expect(yield* outcome(s.loadContext(unknown))).toBe("NotFound")
      // The whole log is a range too.
      expect(shape(yield* s.loadContext(ws.id))).toEqual(["m1", "m2", "m3"])
      yield* summarize(ws.id, 1, 3)
      expect(shape(yield* s.loadContext(ws.id))).toEqual(["s1-3"])
    }))

  test("a retry with the same id and fields returns the stored summary; the same id with other fields is InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      yield* append(ws.id, 4)
      const id = SummaryId.make(uuid())
      const first = yield* s.summarize(ws.id, { id, fromSeq: 1, toSeq: 2, content: "c", metadata: { a: 1, b: 2 } })
      yield* TestClock.adjust(Duration.seconds(5))
      expect(yield* s.summarize(ws.id, { id, fromSeq: 1, toSeq: 2, content: "c", metadata: { b: 2, a: 1 } })).toEqual(first)
      expect(yield* s.summarize(ws.id, { id, fromSeq: 1, toSeq: 2, content: "c", metadata: { a: 1, b: 2 }, createdAt: first.createdAt })).toEqual(first)
      for (const other of [{ toSeq: 3 }, { content: "d" }, { metadata: { a: 2, b: 2 } }, { createdAt: DateTime.unsafeMake(first.createdAt.epochMillis + 1) }]) {
        expect(yield* outcome(s.summarize(ws.id, { id, fromSeq: 1, toSeq: 2, content: "c", metadata: { a: 1, b: 2 }, ...other }))).toBe("InvalidInput")
      }
      expect(yield* s.listSummaries(ws.id)).toEqual([first])
      // A given createdAt (a copy of a store) is kept.
      const at = DateTime.unsafeMake("2026-03-04T05:06:07.890Z")
      expect((yield* s.summarize(ws.id, { fromSeq: 3, toSeq: 4, content: "e", createdAt: at })).createdAt.epochMillis).toBe(at.epochMillis)
      expect(ranges(yield* s.listSummaries(ws.id))).toEqual([[ws.id, 1, 2], [ws.id, 3, 4]])
    }))

  test("where summaries overlap the newest claims its range and an older overlapping one is left out whole", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const stored = yield* append(ws.id, 12)
      yield* summarize(ws.id, 2, 4)
      yield* summarize(ws.id, 6, 7)
      expect(shape(yield* s.loadContext(ws.id))).toEqual(["m1", "s2-4", "m5", "s6-7", "m8", "m9", "m10", "m11", "m12"])
      // A newer, wider one nests both: it alone stands.
      yield* summarize(ws.id, 1, 8)
      expect(shape(yield* s.loadContext(ws.id))).toEqual(["s1-8", "m9", "m10", "m11", "m12"])
      // A newer one inside it claims its range; the wider one, overlapping it, is dropped whole, and so is 2..4.
      yield* summarize(ws.id, 3, 3)
      expect(shape(yield* s.loadContext(ws.id))).toEqual(["m1", "m2", "s3-3", "m4", "m5", "s6-7", "m8", "m9", "m10", "m11", "m12"])
      // A partial overlap drops the older one whole: 6..7 gives way to 7..10, and message 6 shows again.
      yield* summarize(ws.id, 7, 10)
      expect(shape(yield* s.loadContext(ws.id, { limit: 5 }))).toEqual(["m5", "m6", "s7-10", "m11", "m12"])
      expect(ranges(yield* s.listSummaries(ws.id)).map((r) => `${r[1]}-${r[2]}`)).toEqual(["2-4", "6-7", "1-8", "3-3", "7-10"])
      // Same createdAt: the greater id is the newer.
      const low = SummaryId.make("00000000-0000-4000-8000-000000000001")
      const high = SummaryId.make("00000000-0000-4000-8000-00000000000f")
      const at = yield* DateTime.now
      yield* s.summarize(ws.id, { id: high, fromSeq: 11, toSeq: 12, content: "high", createdAt: at })
      yield* s.summarize(ws.id, { id: low, fromSeq: 12, toSeq: 12, content: "low", createdAt: at })
      const tail = yield* s.loadContext(ws.id, { limit: 1 })
      expect(tail.map((i) => (i._tag === "Summary" ? i.summary.id : i.message.id))).toEqual([high])
      expect(yield* s.loadMessages(ws.id)).toEqual(stored)
    }))

  test("branches inherit the summaries of their path by position: cut at or after a range, whenever it was made", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const root = yield* fresh("root")
      yield* append(root.id, 10)
      yield* summarize(root.id, 1, 3)
      const cutAfter = yield* s.fork(root.id, { atSeq: 6, title: "after" })
      const cutInside = yield* s.fork(root.id, { atSeq: 4, title: "inside" })
      // Made after the forks: the branch cut after its range sees it, the one cut inside it does not.
      yield* summarize(root.id, 5, 6)
      yield* summarize(root.id, 8, 9)
      expect(ranges(yield* s.listSummaries(cutAfter.id))).toEqual([[root.id, 1, 3], [root.id, 5, 6]])
      expect(ranges(yield* s.listSummaries(cutInside.id))).toEqual([[root.id, 1, 3]])
      yield* append(cutAfter.id, 2)
      expect(shape(yield* s.loadContext(cutAfter.id))).toEqual(["s1-3", "m4", "s5-6", "m7", "m8"])
      // A branch's own summary may cover its ancestors' messages; neither its source nor a sibling sees it.
      yield* summarize(cutAfter.id, 4, 7)
      expect(shape(yield* s.loadContext(cutAfter.id))).toEqual(["s1-3", "s4-7", "m8"])
      expect(ranges(yield* s.listSummaries(root.id)).map((r) => r[0])).toEqual([root.id, root.id, root.id])
      expect(ranges(yield* s.listSummaries(cutInside.id))).toEqual([[root.id, 1, 3]])
      // Down a chain, through a branch that holds no message of its own: each fork point bounds what is seen.
      const middle = yield* s.fork(cutAfter.id, { atSeq: 7, title: "middle" })
      const leaf = yield* s.fork(middle.id, { atSeq: 5, title: "leaf" })
      yield* summarize(middle.id, 2, 5)
      expect(ranges(yield* s.listSummaries(middle.id))).toEqual([[root.id, 1, 3], [root.id, 5, 6], [cutAfter.id, 4, 7], [middle.id, 2, 5]])
      expect(ranges(yield* s.listSummaries(leaf.id))).toEqual([[root.id, 1, 3], [middle.id, 2, 5]])
      expect(shape(yield* s.loadContext(leaf.id))).toEqual(["m1", "s2-5"])
      // A copied fork takes messages, not summaries.
      const copy = yield* s.fork(root.id, { atSeq: 6, copy: true, title: "copy" })
      expect(yield* s.listSummaries(copy.id)).toEqual([])
      expect(shape(yield* s.loadContext(copy.id, { limit: 2 }))).toEqual(["m5", "m6"])
    }))

  test("deleting a workstream deletes its summaries, with its subtree's", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const id = untyped<WorkstreamId>(`sum_${uuid()}`)
      yield* s.create({ id, title: "first" })
      yield* append(id, 4)
      yield* summarize(id, 1, 2)
      const branch = yield* s.fork(id, { atSeq: 4, title: "b" })
      yield* summarize(branch.id, 3, 4)
      yield* s.delete(id, { subtree: true })
      yield* s.create({ id, title: "again" })
      yield* append(id, 4)
      expect(yield* s.listSummaries(id)).toEqual([])
      expect(shape(yield* s.loadContext(id))).toEqual(["m1", "m2", "m3", "m4"])
      expect(yield* outcome(s.listSummaries(branch.id))).toBe("NotFound")
    }))
}
