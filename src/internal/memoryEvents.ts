/**
 * What each write records in a memory's history, and the storeFact decision that produces reinforcements and
 * supersessions. Pure: the kernel hands the results to the driver, which writes them with the change.
 */
import { DateTime, Option, Schema } from "effect"
import type { MemoryId } from "../Ids.js"
import type { JsonValue } from "../Json.js"
import { Citation } from "../Memory.js"
import type { Memory, StoreFactResult } from "../Memory.js"
import type { FactWrite, NewRow, Rewrite } from "../MemoryBackend/Driver.js"
import type { FieldChange, MemoryEvent } from "../MemoryEvent.js"
import type { NewMemoryInput } from "./memoryRules.js"
import { reinforce, supersede } from "./memoryRules.js"

const encodeCitation = Schema.encodeSync(Citation)

/** The JSON form of a value for a field change (undefined stays absent). */
const json = (value: unknown): JsonValue | undefined =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value))

/** The fields an update may change, each as the JSON a history entry records. */
const FIELDS: ReadonlyArray<readonly [string, (m: Memory) => JsonValue | undefined]> = [
  ["contentType", (m) => m.contentType],
  ["content", (m) => m.content],
  ["sessionId", (m) => m.sessionId],
  ["workstreamId", (m) => m.workstreamId],
  ["metadata", (m) => json(m.metadata)],
  ["source", (m) => m.confidence.source],
  ["citation", (m) => (m.citation === undefined ? undefined : json(encodeCitation(m.citation)))],
  ["expiresAt", (m) => (m.expiresAt === undefined ? undefined : DateTime.formatIso(m.expiresAt))]
]

const same = (a: JsonValue | undefined, b: JsonValue | undefined) => JSON.stringify(a) === JSON.stringify(b)

/** The events of a new memory: stored, and for an import the reinforcements and supersession it arrived with. */
export const initialEvents = (input: NewMemoryInput, memory: Memory, now: DateTime.Utc): ReadonlyArray<MemoryEvent> => {
  if (input.history?.events !== undefined) return input.history.events
  const imported = input.createdAt !== undefined || input.history !== undefined
  const valid = { validFrom: memory.validFrom ?? memory.createdAt, ...(memory.validTo !== undefined ? { validTo: memory.validTo } : {}) }
  const events: Array<MemoryEvent> = [{ _tag: "stored", at: imported ? memory.createdAt : now, ...(imported ? { imported } : {}), ...valid }]
  const c = memory.confidence
  if (c.reinforcementCount > 0) {
    events.push({ _tag: "reinforced", at: c.lastAccessed, reinforcementCount: c.reinforcementCount })
  }
  if (c.superseded && c.supersededBy !== undefined) events.push({ _tag: "superseded", at: memory.updatedAt, by: c.supersededBy })
  return events
}

/** An update's event: every field whose JSON form changed, before and after; none when nothing did. */
export const updatedEvents = (before: Memory, after: Memory, now: DateTime.Utc): ReadonlyArray<MemoryEvent> => {
  const changes: Array<FieldChange> = []
  for (const [field, read] of FIELDS) {
    const [b, a] = [read(before), read(after)]
    if (same(b, a)) continue
    changes.push({ field, ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}) })
  }
  return changes.length === 0 ? [] : [{ _tag: "updated", at: now, changes }]
}

/**
 * The spec's storeFact rule over the live facts of one key: identical content (trimmed, case-sensitive) reinforces
 * the newest such fact and inserts nothing; otherwise every live fact is superseded by the new one, which is
 * inserted.
 */
export const decideFact = (live: ReadonlyArray<Memory>, row: NewRow, now: DateTime.Utc): FactWrite => {
  const content = row.memory.content.trim()
  const match = live.find((m) => m.content.trim() === content)
  if (match !== undefined) {
    const memory = reinforce(match, now)
    const event: MemoryEvent = { _tag: "reinforced", at: now, reinforcementCount: memory.confidence.reinforcementCount }
    return { updates: [{ memory, events: [event] }], insert: Option.none() }
  }
  const updates = live.map((m): Rewrite => ({
    memory: supersede(m, row.memory.id, now),
    events: [{ _tag: "superseded", at: now, by: row.memory.id }]
  }))
  return { updates, insert: Option.some(row) }
}

/** What storeFact reports for what was written. */
export const factResult = (written: FactWrite, id: MemoryId): StoreFactResult =>
  Option.isNone(written.insert)
    ? { id: written.updates[0]!.memory.id, outcome: "reinforced", supersededIds: [] }
    : {
      id,
      outcome: written.updates.length > 0 ? "superseded" : "inserted",
      supersededIds: written.updates.map((u) => u.memory.id)
    }
