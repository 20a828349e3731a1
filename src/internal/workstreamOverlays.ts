/**
 * How compaction overlays resolve, as pure functions over summaries: which summaries stand in `loadContext` where
 * several cover the same messages, what prefix of a path they cover whole, and which items a context window holds.
 */
import type { Summary } from "../WorkstreamContext.js"

/** Newest first: createdAt desc, then id desc (the reverse of `listSummaries`' order). */
const byNewest = (a: Summary, b: Summary): number =>
  b.createdAt.epochMillis - a.createdAt.epochMillis || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** `listSummaries`' order: createdAt, then id. */
export const bySummaryAge = (a: Summary, b: Summary): number => byNewest(b, a)

const overlaps = (a: Summary, b: Summary): boolean => a.fromSeq <= b.toSeq && b.fromSeq <= a.toSeq

/**
 * The summaries that stand in a context, in seq order and pairwise disjoint: the newest (createdAt, then id) claims
 * its range, and each older one that overlaps any range already claimed is dropped whole (a summary is never cut).
 */
export const resolveOverlays = (summaries: ReadonlyArray<Summary>): ReadonlyArray<Summary> => {
  const winners: Array<Summary> = []
  for (const s of [...summaries].sort(byNewest)) {
    if (!winners.some((w) => overlaps(w, s))) winners.push(s)
  }
  return winners.sort((a, b) => a.fromSeq - b.fromSeq)
}

/**
 * The largest t such that seqs 1..t all lie inside `winners` (as `resolveOverlays` returns them: disjoint, in seq
 * order); 0 when seq 1 is uncovered.
 */
export const coveredPrefix = (winners: ReadonlyArray<Summary>): number => {
  let t = 0
  for (const w of [...winners].sort((a, b) => a.fromSeq - b.fromSeq)) {
    if (w.fromSeq > t + 1) break
    t = Math.max(t, w.toSeq)
  }
  return t
}

/** One piece of a context window: a summary, or a run of uncovered messages fromSeq..toSeq. */
export type ContextPiece =
  | { readonly _tag: "Summary"; readonly summary: Summary }
  | { readonly _tag: "Messages"; readonly fromSeq: number; readonly toSeq: number }

/**
 * The last `limit` items (all without one) of a path of `count` messages under `winners` (disjoint, in seq order,
 * each within 1..count), oldest first: a summary counts as one item, each uncovered message as one, and an
 * uncovered seq up to `pruned` (its message is gone) as none.
 */
export const contextPlan = (
  winners: ReadonlyArray<Summary>,
  count: number,
  limit: number | undefined,
  pruned = 0
): ReadonlyArray<ContextPiece> => {
  const pieces: Array<ContextPiece> = []
  let items = 0
  let seq = count
  let i = winners.length - 1
  while (seq >= 1 && (limit === undefined || items < limit)) {
    while (i >= 0 && winners[i]!.fromSeq > seq) i--
    const w = i >= 0 ? winners[i] : undefined
    if (w !== undefined && w.toSeq >= seq) {
      pieces.push({ _tag: "Summary", summary: w })
      items++
      seq = w.fromSeq - 1
      i--
      continue
    }
    const below = w === undefined ? 0 : w.toSeq
    if (seq <= pruned) {
      seq = below
      continue
    }
    const floor = Math.max(below, pruned) + 1
    const fromSeq = limit === undefined ? floor : Math.max(floor, seq - (limit - items) + 1)
    pieces.push({ _tag: "Messages", fromSeq, toSeq: seq })
    items += seq - fromSeq + 1
    seq = fromSeq - 1
  }
  return pieces.reverse()
}
