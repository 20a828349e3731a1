/**
 * The retention cases of the WorkstreamStore conformance suite, registered by `WorkstreamStoreSuite.suite`: policies
 * per workstream and per tag, and `prune`, which removes only a prefix behind summaries, never what a branch still
 * reads, and says why when it removes less than a policy asks.
 */
import { expect } from "@effect/vitest"
import { Effect, Option } from "effect"
import { WorkstreamId } from "../Ids.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { Cases } from "./workstreamMessageCases.js"
import { outcome, token, untyped } from "./internal.js"

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
}
