import { DateTime, Duration, Effect } from "effect"
import { InvalidInput } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
import { Confidence, Memory, MemoryMetadata } from "../Memory.js"
import type { MemoryFilter, MemoryPatch, MetadataInput, NewMemory } from "../Memory.js"
import { inSubtree } from "../Namespace.js"
import * as Where from "../Where.js"
import type { FactFilter, TimeFilter } from "./memoryTime.js"
import { timesOfMemory, visibleAt } from "./memoryTime.js"
import { setOrClear } from "./patch.js"
import type { CandidateHead } from "./ranking.js"
import { STOPWORDS } from "./text.js"

/** Decoded forms of the inputs (defaults applied). */
export type NewMemoryInput = typeof NewMemory.Type
export type MemoryPatchInput = typeof MemoryPatch.Type
export type MemoryFilterInput = typeof MemoryFilter.Type

/** Tags are a set: sorted and unique, so equal sets compare equal everywhere. */
export const normaliseTags = (tags: ReadonlyArray<string> | undefined): Array<string> =>
  Array.from(new Set(tags ?? [])).sort()

// Constructors below skip re-validation (`true`): their inputs were decoded by the input schemas already, and
// validating every field again dominated the cost of a bulk `storeMany`.
export const buildMetadata = (input: typeof MetadataInput.Type | undefined): MemoryMetadata =>
  new MemoryMetadata({
    tags: normaliseTags(input?.tags),
    extra: input?.extra ?? {},
    ...(input?.subject !== undefined ? { subject: input.subject } : {}),
    ...(input?.predicate !== undefined ? { predicate: input.predicate } : {}),
    ...(input?.sourcePath !== undefined ? { sourcePath: input.sourcePath } : {}),
    ...(input?.sourceUrl !== undefined ? { sourceUrl: input.sourceUrl } : {}),
    ...(input?.toolName !== undefined ? { toolName: input.toolName } : {}),
    ...(input?.lineRange !== undefined ? { lineRange: input.lineRange } : {})
  }, true)

/** When a memory expires, and the time to live it came from (absent: it never expires). */
export interface Expiry {
  readonly expiresAt?: DateTime.Utc
  readonly ttlMillis?: number
}

const inTtl = (now: DateTime.Utc, ttl: Duration.Duration): Expiry => {
  const ttlMillis = Duration.toMillis(ttl)
  return { expiresAt: DateTime.unsafeMake(now.epochMillis + ttlMillis), ttlMillis }
}

/**
 * The expiry a write asks for: `expiresAt`, or `ttl` from now, or else `fallback` (the layer's default for new
 * memories, the current expiry for updates). Both at once, or an `expiresAt` not after now, is InvalidInput.
 */
export const resolveExpiry = (
  method: string,
  input: { readonly expiresAt?: DateTime.Utc | null | undefined; readonly ttl?: Duration.Duration | undefined },
  now: DateTime.Utc,
  fallback: Expiry
): Effect.Effect<Expiry, InvalidInput> => {
  if (input.expiresAt !== undefined && input.ttl !== undefined) {
    return Effect.fail(new InvalidInput({ method, message: "give expiresAt or ttl, not both" }))
  }
  if (input.ttl !== undefined) return Effect.succeed(inTtl(now, input.ttl))
  if (input.expiresAt === null) return Effect.succeed({})
  if (input.expiresAt === undefined) return Effect.succeed(fallback)
  return input.expiresAt.epochMillis > now.epochMillis
    ? Effect.succeed({ expiresAt: input.expiresAt })
    : Effect.fail(new InvalidInput({ method, message: "expiresAt must be later than now" }))
}

/** The layer's default expiry for a new memory. */
export const defaultExpiry = (now: DateTime.Utc, ttl: Duration.Duration | undefined): Expiry =>
  ttl === undefined ? {} : inTtl(now, ttl)

/** Whether the memory is gone for reads at `nowMillis`. */
export const isExpired = (m: { readonly expiresAt?: DateTime.Utc | undefined }, nowMillis: number): boolean =>
  m.expiresAt !== undefined && m.expiresAt.epochMillis <= nowMillis

/** A new memory as `store` writes it. */
export const buildMemory = (
  input: NewMemoryInput,
  id: MemoryId,
  now: DateTime.Utc,
  namespace: string,
  expiry: Expiry
): Memory => {
  const created = input.createdAt ?? now
  const h = input.history
  return new Memory({
    id,
    namespace,
    contentType: input.contentType,
    content: input.content,
    metadata: buildMetadata(input.metadata),
    confidence: new Confidence({
      source: input.source,
      reinforcementCount: h?.reinforcementCount ?? 0,
      superseded: h?.superseded ?? false,
      lastAccessed: h?.lastAccessed ?? created,
      ...(h?.supersededBy !== undefined ? { supersededBy: h.supersededBy } : {})
    }, true),
    createdAt: created,
    updatedAt: h?.updatedAt ?? now,
    accessedAt: h?.accessedAt ?? created,
    accessCount: h?.accessCount ?? 0,
    ...expiry,
    ...(h?.ttlMillis !== undefined && expiry.expiresAt !== undefined ? { ttlMillis: h.ttlMillis } : {}),
    ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
    ...(input.workstreamId !== undefined ? { workstreamId: input.workstreamId } : {}),
    ...(input.citation !== undefined ? { citation: input.citation } : {}),
    ...(input.embed === false ? { embed: false } : {}),
    ...(h?.key !== undefined ? { key: h.key } : {}),
    ...timesOf(input, created, now)
  }, true)
}

/** A new memory's two axes: valid from `validFrom` (default its creation), recorded now unless imported. */
const timesOf = (input: NewMemoryInput, created: DateTime.Utc, now: DateTime.Utc) => {
  const h = input.history
  return {
    validFrom: input.validFrom ?? created,
    recordedAt: h?.recordedAt ?? (input.createdAt !== undefined || h !== undefined ? created : now),
    ...(input.validTo !== undefined ? { validTo: input.validTo } : {}),
    ...(h?.retractedAt !== undefined ? { retractedAt: h.retractedAt } : {}),
    ...(h?.validToRecordedAt !== undefined ? { validToRecordedAt: h.validToRecordedAt } : {}),
    ...(h?.priorValidTo !== undefined ? { priorValidTo: h.priorValidTo } : {})
  }
}

/** The memory after `patch` (its expiry resolved already): present fields replace, null clears, `updatedAt` moves to `now`. */
export const applyPatch = (memory: Memory, patch: MemoryPatchInput, now: DateTime.Utc, expiry: Expiry): Memory =>
  new Memory({
    id: memory.id,
    namespace: memory.namespace,
    contentType: patch.contentType ?? memory.contentType,
    content: patch.content ?? memory.content,
    metadata: patch.metadata !== undefined ? buildMetadata(patch.metadata) : memory.metadata,
    confidence: patch.source !== undefined
      ? new Confidence({ ...memory.confidence, source: patch.source })
      : memory.confidence,
    createdAt: memory.createdAt,
    updatedAt: now,
    accessedAt: memory.accessedAt,
    accessCount: memory.accessCount,
    ...expiry,
    ...setOrClear("sessionId", patch.sessionId, memory.sessionId),
    ...setOrClear("workstreamId", patch.workstreamId, memory.workstreamId),
    ...setOrClear("citation", patch.citation, memory.citation),
    ...(memory.key !== undefined ? { key: memory.key } : {}),
    ...(memory.embed === false ? { embed: false } : {}),
    ...timesOfMemory(memory)
  })

/** The memory with another expiry instant (its time to live unchanged). */
export const withExpiry = (memory: Memory, expiresAt: DateTime.Utc): Memory => new Memory({ ...memory, expiresAt }, true)

/** The memory with its expiry moved to `nowMillis` + its time to live (reads with `extendOnAccess`). */
export const extended = (memory: Memory, nowMillis: number): Memory =>
  memory.ttlMillis === undefined ? memory : withExpiry(memory, DateTime.unsafeMake(nowMillis + memory.ttlMillis))

/** The memory reinforced once more at `now` (the fact was stated again). */
export const reinforce = (memory: Memory, now: DateTime.Utc): Memory =>
  new Memory({
    ...memory,
    confidence: new Confidence({
      ...memory.confidence,
      reinforcementCount: memory.confidence.reinforcementCount + 1,
      lastAccessed: now
    }),
    updatedAt: now
  })

/** The memory superseded by `by` at `now`. */
export const supersede = (memory: Memory, by: MemoryId, now: DateTime.Utc): Memory =>
  new Memory({
    ...memory,
    confidence: new Confidence({ ...memory.confidence, superseded: true, supersededBy: by }),
    updatedAt: now
  })

/**
 * A filter as a driver applies it: decoded, with the instant that decides what has expired; `time` (an as-of read)
 * replaces the superseded test, and `fact` keeps one subject (and predicate).
 */
export type DriverFilter = MemoryFilterInput & {
  readonly nowMillis: number
  readonly time?: TimeFilter | undefined
  readonly fact?: FactFilter | undefined
}

/** Whether a memory passes a search/list filter (expired memories never do). */
export const matchesFilter = (m: Memory, f: DriverFilter): boolean =>
  !isExpired(m, f.nowMillis) &&
  (f.namespace === undefined || inSubtree(f.namespace, m.namespace)) &&
  (f.time !== undefined ? visibleAt(m, f.time) : f.includeSuperseded || !m.confidence.superseded) &&
  (f.fact === undefined || (m.metadata.subject === f.fact.subject && (f.fact.predicate === undefined || m.metadata.predicate === f.fact.predicate))) &&
  (f.contentTypes === undefined || f.contentTypes.length === 0 || f.contentTypes.includes(m.contentType)) &&
  (f.sessionId === undefined || m.sessionId === f.sessionId) &&
  (f.workstreamId === undefined || m.workstreamId === f.workstreamId) &&
  (f.tags === undefined || f.tags.every((t) => m.metadata.tags.includes(t))) &&
  (f.since === undefined || m.createdAt.epochMillis >= f.since.epochMillis) &&
  (f.until === undefined || m.createdAt.epochMillis <= f.until.epochMillis) &&
  (f.where === undefined || Where.matches(f.where, m.metadata))

/** A caller's precomputed embedding as a Float32Array, or InvalidInput when its length or values are wrong. */
export const checkEmbedding = (
  method: string,
  embedding: Float32Array | ReadonlyArray<number>,
  dimensions: number
): Effect.Effect<Float32Array, InvalidInput> => {
  if (embedding.length !== dimensions) {
    return Effect.fail(
      new InvalidInput({
        method,
        message: `embedding has ${embedding.length} dimensions but the embedder produces ${dimensions}`
      })
    )
  }
  // A copy (the caller keeps its array); slice copies a Float32Array's memory, `from` iterates it value by value.
  const v = embedding instanceof Float32Array ? embedding.slice() : Float32Array.from(embedding)
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      return Effect.fail(new InvalidInput({ method, message: `embedding value at index ${i} is not a finite number` }))
    }
  }
  return Effect.succeed(v)
}

/** The subject/predicate pair that makes a memory a fact, when both are set. */
export const factKey = (m: { readonly metadata: MemoryMetadata }): readonly [string, string] | undefined =>
  m.metadata.subject !== undefined && m.metadata.predicate !== undefined
    ? [m.metadata.subject, m.metadata.predicate]
    : undefined

/** Newest first, then id descending: the order of `list`, and of its keyset pages. */
export const newestFirst = (a: Memory, b: Memory): number =>
  b.createdAt.epochMillis - a.createdAt.epochMillis || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)

/** Search's tie-break: createdAt desc, then id asc (the score contract's order for equal scores). */
export const searchTieBreak = (a: Memory, b: Memory): number =>
  b.createdAt.epochMillis - a.createdAt.epochMillis || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** What ranking needs of a memory (see `CandidateHead`). */
export const headOf = (m: Memory): CandidateHead => ({
  id: m.id,
  createdAtMillis: m.createdAt.epochMillis,
  source: m.confidence.source,
  reinforcementCount: m.confidence.reinforcementCount,
  superseded: m.confidence.superseded,
  lastAccessedMillis: m.confidence.lastAccessed.epochMillis
})

/**
 * The words of a query as the text rankings search them: letters, digits and combining marks, lowercased and
 * distinct, without English function words ("what", "is", "the", ...; `STOPWORDS`) unless the query has nothing
 * else. They carry no topic, yet in BM25 each one still earns a little score from every memory that uses it, which
 * pulls chatty memories above relevant ones. Stored text keeps every word.
 */
export const queryTerms = (text: string): ReadonlyArray<string> => {
  const all = Array.from(new Set(text.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []))
  const content = all.filter((w) => !STOPWORDS.has(w))
  return content.length > 0 ? content : all
}

/** Rejects a batch that names the same id twice, before anything is written. */
export const requireDistinctIds = (method: string, inputs: ReadonlyArray<NewMemoryInput>) => {
  const seen = new Set<string>()
  for (const input of inputs) {
    if (input.id === undefined) continue
    if (seen.has(input.id)) {
      return Effect.fail(new InvalidInput({ method, message: `memory id ${input.id} appears twice in the batch` }))
    }
    seen.add(input.id)
  }
  return Effect.void
}
