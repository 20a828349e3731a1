/** The pure overlay resolution: which summaries stand, and the prefix of a path they cover whole. */
import { describe, expect, it } from "@effect/vitest"
import { DateTime, FastCheck as fc } from "effect"
import { SummaryId, WorkstreamId } from "../src/Ids.js"
import { coveredPrefix, resolveOverlays } from "../src/internal/workstreamOverlays.js"
import { Summary } from "../src/WorkstreamContext.js"

const ws = WorkstreamId.make("w")
const summary = (n: number, fromSeq: number, toSeq: number, at = n) =>
  new Summary({
    id: SummaryId.make(`00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`),
    workstreamId: ws,
    fromSeq,
    toSeq,
    content: `s${n}`,
    createdAt: DateTime.unsafeMake(at)
  })
const ranges = (xs: ReadonlyArray<Summary>) => xs.map((x) => [x.fromSeq, x.toSeq])

describe("resolveOverlays and coveredPrefix", () => {
  it("the newest claims its range; an older overlapping one is dropped whole; winners come in seq order", () => {
    expect(ranges(resolveOverlays([summary(1, 1, 4), summary(2, 3, 6), summary(3, 8, 9)]))).toEqual([[3, 6], [8, 9]])
    expect(ranges(resolveOverlays([summary(2, 1, 10), summary(1, 2, 3)]))).toEqual([[1, 10]])
    // Same createdAt: the greater id is newer.
    expect(ranges(resolveOverlays([summary(1, 1, 2, 5), summary(2, 2, 3, 5)]))).toEqual([[2, 3]])
    expect(resolveOverlays([])).toEqual([])
  })

  it("coveredPrefix is the largest t with 1..t inside the winners (adjacent ranges join), 0 when seq 1 is open", () => {
    expect(coveredPrefix([summary(1, 1, 3), summary(2, 4, 6), summary(3, 8, 9)])).toBe(6)
    expect(coveredPrefix([summary(1, 2, 5)])).toBe(0)
    expect(coveredPrefix([])).toBe(0)
  })

  it("winners are pairwise disjoint, every input either wins or overlaps a newer winner, and the prefix is covered seq by seq", () => {
    const arb = fc.array(fc.tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 5 })), { maxLength: 12 })
    fc.assert(fc.property(arb, (specs) => {
      const all = specs.map(([from, len, at], i) => summary(i + 1, from, from + len, at))
      const winners = resolveOverlays(all)
      for (const [i, a] of winners.entries()) {
        for (const b of winners.slice(i + 1)) expect(a.toSeq < b.fromSeq).toBe(true)
      }
      const newer = (a: Summary, b: Summary) => a.createdAt.epochMillis > b.createdAt.epochMillis || (a.createdAt.epochMillis === b.createdAt.epochMillis && a.id > b.id)
      for (const s of all) {
        if (winners.includes(s)) continue
        expect(winners.some((w) => newer(w, s) && w.fromSeq <= s.toSeq && s.fromSeq <= w.toSeq)).toBe(true)
      }
      const t = coveredPrefix(winners)
      const covered = (seq: number) => winners.some((w) => w.fromSeq <= seq && seq <= w.toSeq)
      for (let seq = 1; seq <= t; seq++) expect(covered(seq)).toBe(true)
      expect(covered(t + 1)).toBe(false)
    }))
  })
})
