/**
 * When a store with a caller-given id is a retry: the memory it would write equals the stored one in everything the
 * caller decides. What the store assigns or changes on its own (the timestamps it takes from the clock, access and
 * reinforcement counts, supersession, the expiry a sliding read moved) is left out, so a retry after any of those
 * is still the same write; an `update` since is not.
 */
import { DateTime, Effect } from "effect"
import { InvalidInput } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
import type { Memory } from "../Memory.js"
import type { Driver, Occupied } from "../MemoryBackend/Driver.js"
import type { NewMemoryInput } from "./memoryRules.js"
import { isExpired } from "./memoryRules.js"

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

/**
 * Equality by value over what memories hold: JSON values, tuples, citations with their instants. Keys whose value is
 * undefined count as absent, and key order never matters (PostgreSQL's jsonb keeps its own).
 */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (a === b) return true
  if (DateTime.isDateTime(a) || DateTime.isDateTime(b)) {
    return DateTime.isDateTime(a) && DateTime.isDateTime(b) && a.epochMillis === b.epochMillis
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
  }
  if (!isRecord(a) || !isRecord(b)) return false
  const keys = (r: Readonly<Record<string, unknown>>) => Object.keys(r).filter((k) => r[k] !== undefined)
  const ka = keys(a)
  return ka.length === keys(b).length && ka.every((k) => Object.hasOwn(b, k) && sameValue(a[k], b[k]))
}

/** The expiry the caller asked for: the time to live when it came from one (its instant moves with the clock), else the instant. */
const sameExpiry = (a: Memory, b: Memory) =>
  a.ttlMillis === b.ttlMillis && (a.ttlMillis !== undefined || a.expiresAt?.epochMillis === b.expiresAt?.epochMillis)

/**
 * Whether `stored` is what `input`, built into `next`, wrote: same namespace, content type, content, metadata, source,
 * session, workstream, citation, expiry, and createdAt when the input gives one. A precomputed embedding is not
 * compared: the stored vector is the content's.
 */
export const sameWrite = (input: NewMemoryInput, next: Memory, stored: Memory): boolean =>
  stored.namespace === next.namespace &&
  stored.contentType === next.contentType &&
  stored.content === next.content &&
  stored.embed === next.embed &&
  stored.confidence.source === next.confidence.source &&
  stored.sessionId === next.sessionId &&
  stored.workstreamId === next.workstreamId &&
  sameExpiry(stored, next) &&
  (input.createdAt === undefined || stored.createdAt.epochMillis === next.createdAt.epochMillis) &&
  sameValue(stored.metadata, next.metadata) &&
  sameValue(stored.citation, next.citation)

/** One input of a store with the memory it would write (its vector comes later). */
export interface Built {
  readonly input: NewMemoryInput
  readonly memory: Memory
}

/** A live memory holds the id for another write. */
export const idTaken = (method: string, id: MemoryId) => new InvalidInput({ method, message: `memory id ${id} already exists` })

/** How the driver treats ids held already: only a caller-given id can make a row a retry. */
export const occupiedBy = (built: ReadonlyArray<Built>, nowMillis: number): Occupied => {
  const inputs = new Map(built.map((b) => [b.memory.id, b.input] as const))
  return {
    nowMillis,
    same: (stored, row) => {
      const input = inputs.get(row.memory.id)
      return input?.id !== undefined && sameWrite(input, row.memory, stored)
    }
  }
}

/**
 * Reads what the batch's given ids hold before anything is embedded: true when every input retries what is stored
 * (so there is nothing to write), InvalidInput when a live memory holds one for another write. The insert checks
 * again in its transaction; this read only spares a retry the embedding.
 */
export const isRetry = (driver: Driver, method: string, built: ReadonlyArray<Built>, nowMillis: number) =>
  Effect.gen(function*() {
    const given = built.filter((b) => b.input.id !== undefined)
    if (given.length === 0) return false
    const stored = new Map((yield* driver.getMany(given.map((b) => b.memory.id))).map((m) => [m.id, m] as const))
    let every = given.length === built.length
    for (const b of given) {
      const held = stored.get(b.memory.id)
      if (held === undefined || isExpired(held, nowMillis)) every = false
      else if (!sameWrite(b.input, b.memory, held)) return yield* idTaken(method, b.memory.id)
    }
    return every
  })
