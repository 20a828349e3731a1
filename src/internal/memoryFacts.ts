/**
 * The storeFact and retractFact decisions over both time axes (the rules table of `MemoryTime`), pure: the kernel
 * hands them to the driver, which runs them on the live (unretracted) facts of one key under its write lock.
 */
import { DateTime, Option } from "effect"
import type { MemoryId } from "../Ids.js"
import { Confidence, Memory } from "../Memory.js"
import type { StoreFactResult } from "../Memory.js"
import type { FactWrite, NewRow, Rewrite } from "../MemoryBackend/Driver.js"
import type { MemoryEvent } from "../MemoryEvent.js"
import { reinforce } from "./memoryRules.js"
import { recordedMillis, validFromMillis } from "./memoryTime.js"

const end = (m: Memory) => m.validTo?.epochMillis ?? Infinity

/** What a plan needs before it can be written: vectors of these contents and this many fresh ids. */
export interface Needs {
  readonly contents: ReadonlyArray<string>
  readonly ids: number
}

/** What the kernel has gathered for a plan (vectors by content, fresh ids). */
export interface Supplies {
  readonly vectors: ReadonlyMap<string, Float32Array>
  readonly ids: ReadonlyArray<MemoryId>
}

export type Plan =
  | { readonly _tag: "Write"; readonly write: FactWrite; readonly superseded: ReadonlyArray<MemoryId> }
  | { readonly _tag: "Need"; readonly needs: Needs }

/** The memory with the current-fact flag set as wanted (a superseded one points at the current fact). */
const flagged = (m: Memory, superseded: boolean, by: MemoryId | undefined, now: DateTime.Utc | undefined): Memory => {
  const { supersededBy: _, ...confidence } = m.confidence
  return new Memory({
    ...m,
    confidence: new Confidence({ ...confidence, superseded, ...(superseded && by !== undefined ? { supersededBy: by } : {}) }, true),
    ...(now !== undefined ? { updatedAt: now } : {})
  }, true)
}

/** A live fact re-recorded at `now` with the valid interval `[from, to)` (`to` absent: open). */
const piece = (o: Memory, id: MemoryId, from: DateTime.Utc, to: DateTime.Utc | undefined, now: DateTime.Utc): Memory => {
  const { key: _k, priorValidTo: _p, retractedAt: _r, validTo: _t, validToRecordedAt: _v, ...rest } = o
  return new Memory({ ...rest, id, validFrom: from, ...(to !== undefined ? { validTo: to } : {}), recordedAt: now, updatedAt: now }, true)
}

interface Piece {
  readonly memory: Memory
  readonly vector: Float32Array | undefined
  readonly revises: MemoryId
}

/**
 * The current-fact flags after a write: the live fact that starts last is current, every other one superseded by
 * it. Existing facts whose flag changes are rewritten (after `rewritten`, which holds this write's own changes).
 */
const reflag = (
  kept: ReadonlyArray<Memory>,
  rewritten: Map<MemoryId, Rewrite>,
  now: DateTime.Utc
): { readonly latest: Memory | undefined } => {
  const latest = kept.reduce<Memory | undefined>((a, m) => (a === undefined || validFromMillis(m) > validFromMillis(a) ? m : a), undefined)
  for (const m of kept) {
    const want = m !== latest
    if (m.confidence.superseded === want) continue
    const base = rewritten.get(m.id)
    const memory = flagged(base?.memory ?? m, want, latest?.id, now)
    const event: MemoryEvent = want
      ? { _tag: "superseded", at: now, by: latest!.id }
      : { _tag: "updated", at: now, changes: [{ field: "superseded", before: true, after: false }] }
    rewritten.set(m.id, { memory, events: [...(base?.events ?? []), event] })
  }
  return { latest }
}

/**
 * Record time never runs backwards on a key: a writer whose clock reads earlier than a live fact's record time (a
 * concurrent writer on another machine or process committed first) writes at that instant instead, and a fact
 * without its own validFrom starts there too, so it follows the other one instead of being back-dated before it.
 */
const atRecordTime = (live: ReadonlyArray<Memory>, given: NewRow, clock: DateTime.Utc, explicitFrom: boolean) => {
  const lastWrite = Math.max(clock.epochMillis, ...live.map((m) => Math.max(recordedMillis(m), m.validToRecordedAt?.epochMillis ?? 0)))
  if (lastWrite <= clock.epochMillis) return { row: given, now: clock }
  const now = DateTime.unsafeMake(lastWrite)
  const memory = new Memory({ ...given.memory, recordedAt: now, updatedAt: now, ...(explicitFrom ? {} : { validFrom: now }) }, true)
  return { row: { ...given, memory }, now }
}

/** The new fact's interval: its own, its open end closed at the next live start after it. */
interface Span {
  readonly from: number
  readonly to: number
  readonly fromUtc: DateTime.Utc
  readonly toUtc: DateTime.Utc | undefined
}

/**
 * What the new fact does to each live fact it overlaps: a first end is set in place (with what was held before, so
 * earlier record-time views stay exact); otherwise the fact is retracted and what it still says outside the new
 * interval is recorded again, as facts of their own.
 */
const retire = (overlapping: ReadonlyArray<Memory>, row: NewRow, span: Span, now: DateTime.Utc, supplies: Supplies) => {
  const n = row.memory
  const rewritten = new Map<MemoryId, Rewrite>()
  const ended: Array<Memory> = []
  const pieces: Array<Piece> = []
  const needs = new Set<string>()
  let ids = 0
  for (const o of overlapping) {
    const oFrom = validFromMillis(o)
    if (oFrom < span.from && o.validToRecordedAt === undefined && end(o) <= span.to) {
      const closed = new Memory({
        ...o,
        validTo: span.fromUtc,
        validToRecordedAt: now,
        ...(o.validTo !== undefined ? { priorValidTo: o.validTo } : {}),
        updatedAt: now
      }, true)
      const memory = o.confidence.superseded ? closed : flagged(closed, true, n.id, now)
      rewritten.set(o.id, { memory, events: [{ _tag: "superseded", at: now, by: n.id, validTo: span.fromUtc }] })
      ended.push(memory)
      continue
    }
    const memory = flagged(new Memory({ ...o, retractedAt: now }, true), true, n.id, now)
    rewritten.set(o.id, { memory, events: [{ _tag: "superseded", at: now, by: n.id, retracted: true }] })
    const parts: Array<readonly [DateTime.Utc, DateTime.Utc | undefined]> = []
    if (oFrom < span.from) parts.push([o.validFrom ?? o.createdAt, span.fromUtc])
    if (span.to < end(o) && span.toUtc !== undefined) parts.push([span.toUtc, o.validTo])
    for (const [pFrom, pTo] of parts) {
      // A fact stored without a vector (`embed: false`) is re-recorded without one too.
      const unembedded = o.embed === false
      const vector = unembedded ? undefined : o.content === n.content && row.vector !== undefined ? row.vector : supplies.vectors.get(o.content)
      const id = supplies.ids[ids++]
      if (vector === undefined && !unembedded) needs.add(o.content)
      if (id !== undefined && (vector !== undefined || unembedded)) pieces.push({ memory: piece(o, id, pFrom, pTo, now), vector, revises: o.id })
    }
  }
  return { rewritten, ended, pieces, needs, ids }
}

/** storeFact's decision for `given` over the live facts of its key (see the rules table in `MemoryTime`). */
export const planFact = (
  live: ReadonlyArray<Memory>,
  given: NewRow,
  clock: DateTime.Utc,
  supplies: Supplies,
  explicitFrom: boolean
): Plan => {
  const { now, row } = atRecordTime(live, given, clock, explicitFrom)
  const n = row.memory
  const from = validFromMillis(n)
  const next = Math.min(...live.map(validFromMillis).filter((s) => s > from))
  const to = n.validTo?.epochMillis ?? next
  const toUtc = n.validTo ?? live.find((m) => validFromMillis(m) === next)?.validFrom
  const content = n.content.trim()
  const same = live.find((m) => m.content.trim() === content && validFromMillis(m) <= from && to <= end(m))
  if (same !== undefined) {
    const memory = reinforce(same, now)
    const event: MemoryEvent = { _tag: "reinforced", at: now, reinforcementCount: memory.confidence.reinforcementCount }
    return { _tag: "Write", write: { updates: [{ memory, events: [event] }], insert: Option.none() }, superseded: [] }
  }
  const overlapping = live.filter((m) => validFromMillis(m) < to && from < end(m))
  const span: Span = { from, to, fromUtc: n.validFrom ?? n.createdAt, toUtc }
  const { ended, ids, needs, pieces, rewritten } = retire(overlapping, row, span, now, supplies)
  const kept = [...live.filter((m) => !overlapping.includes(m)), ...ended]
  if (needs.size > 0 || ids > supplies.ids.length) return { _tag: "Need", needs: { contents: Array.from(needs), ids } }
  const inserted = new Memory({ ...n, ...(to !== Infinity && toUtc !== undefined ? { validTo: toUtc } : {}) }, true)
  const { latest } = reflag([...kept, inserted, ...pieces.map((p) => p.memory)], rewritten, now)
  const flagOf = (m: Memory) => flagged(m, m !== latest, latest?.id, undefined)
  const stored = (m: Memory, revises?: MemoryId): MemoryEvent => ({
    _tag: "stored",
    at: now,
    validFrom: m.validFrom ?? m.createdAt,
    ...(m.validTo !== undefined ? { validTo: m.validTo } : {}),
    ...(revises !== undefined ? { revises } : {})
  })
  // New rows carry their flag from the start, not as a rewrite.
  rewritten.delete(inserted.id)
  for (const p of pieces) rewritten.delete(p.memory.id)
  const insert: NewRow = {
    memory: flagOf(inserted),
    vector: row.vector,
    events: row.events.map((e) => (e._tag === "stored" ? { ...e, ...stored(inserted) } : e))
  }
  const also = pieces.map((p): NewRow => ({ memory: flagOf(p.memory), vector: p.vector, events: [stored(p.memory, p.revises)] }))
  // Reported as superseded: the facts this write ended or retracted (not those a later start merely outranks).
  return {
    _tag: "Write",
    write: { updates: Array.from(rewritten.values()), insert: Option.some(insert), also },
    superseded: overlapping.map((o) => o.id)
  }
}

/** retractFact's decision: the fact's record interval closes; the live fact starting last becomes current. */
export const planRetract = (live: ReadonlyArray<Memory>, id: MemoryId, now: DateTime.Utc): FactWrite => {
  const target = live.find((m) => m.id === id)
  if (target === undefined) return { updates: [], insert: Option.none() }
  const rewritten = new Map<MemoryId, Rewrite>([[id, {
    memory: new Memory({ ...target, retractedAt: now, confidence: new Confidence({ ...target.confidence, superseded: true }, true), updatedAt: now }, true),
    events: [{ _tag: "retracted", at: now }]
  }]])
  reflag(live.filter((m) => m.id !== id), rewritten, now)
  return { updates: Array.from(rewritten.values()), insert: Option.none() }
}

/** What storeFact reports for a written plan. */
export const planResult = (plan: Extract<Plan, { _tag: "Write" }>, id: MemoryId): StoreFactResult =>
  Option.isNone(plan.write.insert)
    ? { id: plan.write.updates[0]!.memory.id, outcome: "reinforced", supersededIds: [] }
    : { id, outcome: plan.superseded.length > 0 ? "superseded" : "inserted", supersededIds: plan.superseded }
