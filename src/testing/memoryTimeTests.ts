/** The MemoryBackend suite's cases for the two time axes: the storeFact rules table and as-of reads. */
import { expect } from "@effect/vitest"
import { Chunk, DateTime, Duration, Effect, Option, Stream, TestClock } from "effect"
import type { SessionId } from "../Ids.js"
import type { NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { outcome, token } from "./internal.js"
import { mid, sid } from "./memorySuiteSupport.js"
import type { Test } from "./memorySuiteSupport.js"

const at = (millis: number) => DateTime.unsafeMake(millis)
const ms = (d: DateTime.Utc | undefined) => d?.epochMillis

export const timeTests = (test: Test) => {
  const fact = (subject: string, content: string, s: SessionId, extra: Partial<NewMemory> = {}): NewMemory => ({
    content,
    contentType: "fact",
    sessionId: s,
    metadata: { subject, predicate: "plan" },
    ...extra
  })

  test("two axes: a later fact ends the earlier one's valid interval; as-of reads see each era and each record-time view", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `user.${token()}`
      const w = token()
      const t0 = yield* TestClock.currentTimeMillis
      const free = yield* m.storeFact(fact(subject, `${w} plan free`, s))
      yield* TestClock.adjust(Duration.seconds(10))
      const t1 = t0 + 10_000
      const pro = yield* m.storeFact(fact(subject, `${w} plan pro`, s))
      expect([pro.outcome, pro.supersededIds]).toEqual(["superseded", [free.id]])
      const was = Option.getOrThrow(yield* m.get(free.id))
      expect([ms(was.validFrom), ms(was.validTo), ms(was.recordedAt), was.retractedAt]).toEqual([t0, t1, t0, undefined])
      const ids = (asOf: { valid?: DateTime.Utc; recorded?: DateTime.Utc }) =>
        Effect.map(m.search(w, { sessionId: s, mode: "text", asOf }), (hits) => hits.map((h) => h.memory.id))
      expect(yield* ids({ valid: at(t0 + 5_000) })).toEqual([free.id])
      expect(yield* ids({})).toEqual([pro.id])
      // Before the second write the store held the first fact open-ended: true "now" as it knew it then.
      expect(yield* ids({ recorded: at(t1 - 1) })).toEqual([free.id])
      expect(yield* ids({ recorded: at(t0 - 1) })).toEqual([])
      expect(Option.isSome(yield* m.get(free.id, { asOf: { valid: at(t0) } }))).toBe(true)
      expect(Option.isNone(yield* m.get(free.id, { asOf: {} }))).toBe(true)
      expect(yield* m.count({ sessionId: s, asOf: { valid: at(t0 + 1) } })).toBe(1)
      const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: s, asOf: { recorded: at(t1 - 1), valid: at(t1 + 5) } })))
      expect(listed.map((x) => x.id)).toEqual([free.id])
      const timeline = yield* m.facts(subject)
      expect(timeline.map((e) => [e.memory.id, ms(e.validFrom), ms(e.validTo)])).toEqual([[free.id, t0, t1], [pro.id, t1, undefined]])
      const before = yield* m.facts(subject, { predicate: "plan", asOf: { recorded: at(t1 - 1) } })
      expect(before.map((e) => [e.memory.id, ms(e.validTo)])).toEqual([[free.id, undefined]])
    }))

  test("two axes: a back-dated fact fills the past up to the current fact and never retires it", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `user.${token()}`
      yield* TestClock.adjust(Duration.days(40))
      const now = yield* TestClock.currentTimeMillis
      const current = yield* m.storeFact(fact(subject, "plan team", s))
      const past = yield* m.storeFact(fact(subject, "plan trial", s, { validFrom: at(now - 30 * 86_400_000) }))
      expect([past.outcome, past.supersededIds]).toEqual(["inserted", []])
      const kept = Option.getOrThrow(yield* m.get(current.id))
      expect([kept.confidence.superseded, kept.validTo, kept.retractedAt]).toEqual([false, undefined, undefined])
      const filled = Option.getOrThrow(yield* m.get(past.id))
      expect([filled.confidence.superseded, ms(filled.validTo)]).toEqual([true, now])
      expect(yield* m.count({ sessionId: s })).toBe(1)
    }))

  test("two axes: disjoint valid intervals coexist; a bounded fact inside another splits it; same start corrects", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `user.${token()}`
      yield* TestClock.adjust(Duration.days(10))
      const now = yield* TestClock.currentTimeMillis
      const day = 86_400_000
      const a = yield* m.storeFact(fact(subject, "in paris", s, { validFrom: at(now - 9 * day), validTo: at(now - 7 * day) }))
      const b = yield* m.storeFact(fact(subject, "in rome", s, { validFrom: at(now - 5 * day), validTo: at(now - 3 * day) }))
      expect(b.outcome).toBe("inserted")
      const span = (e: { validFrom: DateTime.Utc; validTo?: DateTime.Utc; memory: { content: string } }) =>
        [e.memory.content, (e.validFrom.epochMillis - now) / day, e.validTo === undefined ? null : (e.validTo.epochMillis - now) / day]
      expect((yield* m.facts(subject)).map(span)).toEqual([["in paris", -9, -7], ["in rome", -5, -3]])
      yield* m.storeFact(fact(subject, "in lyon", s, { validFrom: at(now - 8 * day), validTo: at(now - 7.5 * day) }))
      expect((yield* m.facts(subject)).map(span)).toEqual([["in paris", -9, -8], ["in lyon", -8, -7.5], ["in paris", -7.5, -7], ["in rome", -5, -3]])
      const fix = yield* m.storeFact(fact(subject, "in milan", s, { validFrom: at(now - 5 * day) }))
      expect(fix.supersededIds).toContain(b.id)
      expect(Option.getOrThrow(yield* m.get(b.id)).retractedAt?.epochMillis).toBe(now)
      expect((yield* m.facts(subject)).map(span).at(-1)).toEqual(["in milan", -5, null])
      // What the store held before the correction is still readable as of then.
      expect((yield* m.facts(subject, { asOf: { recorded: at(now - 1) } })).length).toBe(0)
      expect(Option.isSome(yield* m.get(a.id))).toBe(true)
    }))

  test("two axes: retractFact closes the record interval; history carries both times; a bad interval is InvalidInput", () =>
    Effect.gen(function*() {
      const m = yield* MemoryBackend
      const s = sid()
      const subject = `user.${token()}`
      const first = yield* m.storeFact(fact(subject, "plan basic", s))
      yield* TestClock.adjust(Duration.seconds(5))
      const second = yield* m.storeFact(fact(subject, "plan plus", s))
      yield* TestClock.adjust(Duration.seconds(5))
      yield* m.retractFact(second.id)
      const gone = Option.getOrThrow(yield* m.get(second.id))
      expect([gone.confidence.superseded, gone.retractedAt !== undefined]).toEqual([true, true])
      // The earlier fact starts last among the live ones again: current, though its valid interval stays ended.
      expect(Option.getOrThrow(yield* m.get(first.id)).confidence.superseded).toBe(false)
      const events = Chunk.toReadonlyArray(yield* Stream.runCollect(m.history(second.id)))
      expect(events.map((e) => e._tag)).toEqual(["stored", "retracted"])
      const stored = events[0]
      expect(stored?._tag === "stored" && stored.validFrom?.epochMillis).toBe(stored?.at.epochMillis)
      const ended = Chunk.toReadonlyArray(yield* Stream.runCollect(m.history(first.id))).find((e) => e._tag === "superseded")
      expect(ended?._tag === "superseded" && ended.validTo?.epochMillis).toBe(ms(gone.validFrom))
      const now = yield* DateTime.now
      expect(yield* outcome(m.storeFact(fact(subject, "x", s, { validFrom: now, validTo: now })))).toBe("InvalidInput")
      expect(yield* outcome(m.retractFact(second.id))).toBe("success")
      expect(yield* outcome(m.retractFact(mid()))).toBe("NotFound")
    }))
}
