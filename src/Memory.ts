/**
 * Long-term memory: the entity, its confidence model, and the shapes callers hand to `MemoryBackend`.
 *
 * @since 0.1.0
 */
import { DateTime, Duration, Option, ParseResult, Schema } from "effect"
import { Citation } from "./Citation.js"
import { FusionWeights, SearchMode } from "./MemoryResults.js"
import type { Explain } from "./MemoryResults.js"
import { MemoryId, SessionId, WorkstreamId } from "./Ids.js"
import { ContentWithin, hasContent, isStorableText, JsonObject, Text } from "./Json.js"
import { MemoryEvent } from "./MemoryEvent.js"
import { AsOf, memoryTimeFields, recordInputFields, validInputFields } from "./MemoryTime.js"
import { namespaceProblem } from "./Namespace.js"
import { Tag } from "./Tag.js"
import { Where } from "./Where.js"


/** @category models */
export const ContentType = Schema.Literal(
  "user_message",
  "assistant_message",
  "tool_use",
  "file_content",
  "note",
  "fact",
  "web_content",
  "thought",
  "summary"
)
/** @category models */
export type ContentType = typeof ContentType.Type

/** Where a memory's claim came from; it sets the base of its confidence. @category models */
export const ConfidenceSource = Schema.Literal("stated", "observed", "inferred", "system")
/** @category models */
export type ConfidenceSource = typeof ConfidenceSource.Type

/**
 * Largest memory content accepted, in UTF-16 code units (1 MiB). A memory is read whole by `get`, by each search
 * hit and by `list`, so one of many megabytes makes every read that touches it slow; longer text belongs in a
 * workstream's log or a file, with a memory that summarises it or cites it.
 *
 * @category inputs
 */
export const MAX_MEMORY_CONTENT = 1024 * 1024

/**
 * Memory content: a non-blank string of at most `MAX_MEMORY_CONTENT` characters, without NUL characters, and
 * well-formed Unicode: a lone surrogate would be stored by SQLite (UTF-8) and PostgreSQL as a replacement
 * character, so it is refused instead of changed.
 *
 * @category models
 */
export const MemoryContent = ContentWithin(MAX_MEMORY_CONTENT).pipe(
  Schema.filter((s) => hasContent(s) || "content must not be empty or blank"),
  Schema.filter((s) => !s.includes("\u0000") || "content must not contain a NUL character"),
  Schema.filter((s) => isStorableText(s) || "content must be well-formed Unicode (it holds a lone surrogate)")
)

/** @category models */
export const Extra = JsonObject

/** The namespace a memory belongs to when none is given. @category models */
export const DEFAULT_NAMESPACE = "default"

/**
 * A namespace (tenant, user, agent): a path of labels joined by `/` (see `arawn-store/Namespace`). A service scoped
 * to one (`MemoryBackend.scoped`) sees its subtree and can neither read nor change anything outside it.
 *
 * @category models
 */
export const Namespace = Schema.String.pipe(Schema.filter((s) => namespaceProblem(s) ?? true))

/**
 * A time to live: a positive, finite `Duration` or anything `Duration.decode` reads (milliseconds, "1 hour").
 *
 * @category inputs
 */
export const Ttl = Schema.transformOrFail(Schema.Unknown, Schema.DurationFromSelf, {
  strict: true,
  decode: (u, _, ast) =>
    Option.match(Option.filter(Duration.decodeUnknown(u), (d) => Duration.isFinite(d) && Duration.toMillis(d) > 0), {
      onNone: () => ParseResult.fail(new ParseResult.Type(ast, u, "ttl must be a positive, finite duration (e.g. \"30 days\" or milliseconds)")),
      onSome: ParseResult.succeed
    }),
  encode: ParseResult.succeed
})

/** @category models */
export class MemoryMetadata extends Schema.Class<MemoryMetadata>("MemoryMetadata")({
  tags: Schema.Array(Schema.String),
  subject: Schema.optional(Schema.String),
  predicate: Schema.optional(Schema.String),
  sourcePath: Schema.optional(Schema.String),
  sourceUrl: Schema.optional(Schema.String),
  toolName: Schema.optional(Schema.String),
  lineRange: Schema.optional(Schema.Tuple(Schema.Int, Schema.Int)),
  extra: Extra
}) {}

/** @category models */
export class Confidence extends Schema.Class<Confidence>("Confidence")({
  source: ConfidenceSource,
  reinforcementCount: Schema.NonNegativeInt,
  superseded: Schema.Boolean,
  supersededBy: Schema.optional(MemoryId),
  lastAccessed: Schema.DateTimeUtc
}) {}

export { Citation, FileCitation, SessionCitation, SystemCitation, UserCitation, WebCitation } from "./Citation.js"

/** @category models */
export class Memory extends Schema.Class<Memory>("Memory")({
  id: MemoryId,
  namespace: Schema.String,
  contentType: ContentType,
  content: Schema.String,
  sessionId: Schema.optional(SessionId),
  workstreamId: Schema.optional(WorkstreamId),
  metadata: MemoryMetadata,
  confidence: Confidence,
  citation: Schema.optional(Citation),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  accessedAt: Schema.DateTimeUtc,
  accessCount: Schema.NonNegativeInt,
  /** From then on the memory is gone for every read (and `sweep` deletes it). */
  expiresAt: Schema.optional(Schema.DateTimeUtc),
  /** The time to live the expiry came from; with `extendOnAccess` a read moves `expiresAt` to now + this. */
  ttlMillis: Schema.optional(Schema.Number),
  /** The caller's key, unique in its namespace, when the memory was written by `put`. */
  key: Schema.optional(Schema.String),
  /** `false`: stored without a vector (found by words and filters, never by vector search). */
  embed: Schema.optional(Schema.Literal(false)),
  ...memoryTimeFields
}) {}

/** The metadata a caller may set; absent fields stay absent. @category inputs */
export const MetadataInput = Schema.Struct({
  tags: Schema.optional(Schema.Array(Tag)),
  subject: Schema.optional(Text),
  predicate: Schema.optional(Text),
  sourcePath: Schema.optional(Text),
  sourceUrl: Schema.optional(Text),
  toolName: Schema.optional(Text),
  lineRange: Schema.optional(Schema.Tuple(Schema.NonNegativeInt, Schema.NonNegativeInt)),
  extra: Schema.optional(Extra)
})
/** @category inputs */
export type MetadataInput = typeof MetadataInput.Encoded

/** A precomputed embedding; it must match the store's embedder dimensions and be finite. @category inputs */
export const EmbeddingInput = Schema.Union(
  Schema.instanceOf(Float32Array),
  Schema.Array(Schema.Number)
)

/** What `store` takes. @category inputs */
export const NewMemory = Schema.Struct({
  id: Schema.optional(MemoryId),
  /** Default `"default"`; a scoped service takes its own (and refuses another). */
  namespace: Schema.optional(Namespace),
  /** When the memory expires; or `ttl` from now (at most one of the two; else the layer's default, if any). */
  expiresAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  ttl: Schema.optional(Ttl),
  contentType: Schema.optionalWith(ContentType, { default: () => "note" as const }),
  content: MemoryContent,
  sessionId: Schema.optional(SessionId),
  workstreamId: Schema.optional(WorkstreamId),
  metadata: Schema.optional(MetadataInput),
  source: Schema.optionalWith(ConfidenceSource, { default: () => "inferred" as const }),
  citation: Schema.optional(Citation),
  embedding: Schema.optional(EmbeddingInput),
  ...validInputFields,
  /** `false`: store it without a vector (text search and filters find it; vector search skips it). */
  embed: Schema.optional(Schema.Literal(false)),
  /** Given when importing existing memories; `Clock` time otherwise. */
  createdAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  /**
   * Given when importing existing memories, to keep their history; a fresh memory starts unreinforced. A memory
   * that arrives with its history keeps its own expiry (none if it had none): the layer's default ttl is for new
   * memories.
   */
  history: Schema.optional(Schema.Struct({
    reinforcementCount: Schema.optional(Schema.NonNegativeInt),
    superseded: Schema.optional(Schema.Boolean),
    supersededBy: Schema.optional(MemoryId),
    lastAccessed: Schema.optional(Schema.DateTimeUtcFromSelf),
    accessedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
    accessCount: Schema.optional(Schema.NonNegativeInt),
    /** Its last change (default: now). */
    updatedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
    /** The time to live its `expiresAt` came from, which `extendOnAccess` slides by. */
    ttlMillis: Schema.optional(Schema.Number.pipe(Schema.finite(), Schema.positive())),
    /** Its key, for a copy of a memory `put` wrote (its id is then `keyId(namespace, key)`). */
    key: Schema.optional(Schema.String),
    /** Its history as `MemoryBackend.history` streamed it from the source (default: made from the fields above). */
    events: Schema.optional(Schema.Array(Schema.typeSchema(MemoryEvent))),
    ...recordInputFields
  }))
})
/** @category inputs */
export type NewMemory = typeof NewMemory.Encoded

/** What `update` takes: present fields replace, `null` clears an optional field. @category inputs */
export const MemoryPatch = Schema.Struct({
  contentType: Schema.optional(ContentType),
  /** A new expiry (`null`: never expires); or `ttl` from now. */
  expiresAt: Schema.optional(Schema.NullOr(Schema.DateTimeUtcFromSelf)),
  ttl: Schema.optional(Ttl),
  content: Schema.optional(MemoryContent),
  sessionId: Schema.optional(Schema.NullOr(SessionId)),
  workstreamId: Schema.optional(Schema.NullOr(WorkstreamId)),
  metadata: Schema.optional(MetadataInput),
  source: Schema.optional(ConfidenceSource),
  citation: Schema.optional(Schema.NullOr(Citation))
})
/** @category inputs */
export type MemoryPatch = typeof MemoryPatch.Encoded


const Unit = Schema.Number.pipe(Schema.between(0, 1))

const filterFields = {
  /** Only this namespace and the ones below it (a scoped service always adds its own). */
  namespace: Schema.optional(Namespace),
  /** Conditions on metadata fields with operators (see `Where`). */
  where: Schema.optional(Where),
  contentTypes: Schema.optional(Schema.Array(ContentType)),
  sessionId: Schema.optional(SessionId),
  workstreamId: Schema.optional(WorkstreamId),
  tags: Schema.optional(Schema.Array(Tag)),
  since: Schema.optional(Schema.DateTimeUtcFromSelf),
  until: Schema.optional(Schema.DateTimeUtcFromSelf),
  includeSuperseded: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Exactly what the store held at `recorded` about `valid` (see `MemoryTime`); `includeSuperseded` then has no say. */
  asOf: Schema.optional(AsOf)
}

/** Which memories `list`, `count` and `search` consider. `tags` is all-of; `since`/`until` bound `createdAt`. @category inputs */
export const MemoryFilter = Schema.Struct(filterFields)
/** @category inputs */
export type MemoryFilter = typeof MemoryFilter.Encoded

/** @category inputs */
export const SearchOptions = Schema.Struct({
  ...filterFields,
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 10 }),
  /** Best matches skipped before the page (0 to 10,000): page 2 is `{ limit, offset: limit }`. */
  offset: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 10_000)), { default: () => 0 }),
  mode: Schema.optionalWith(SearchMode, { default: () => "hybrid" as const }),
  minScore: Schema.optional(Unit),
  weights: Schema.optional(FusionWeights)
})
/** @category inputs */
export type SearchOptions = typeof SearchOptions.Encoded

/** A search query: user text, searched as words and embedded for vector search. @category inputs */
export const Query = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0 || "query must not be empty or blank"),
  Schema.filter((s) => !s.includes("\u0000") || "query must not contain a NUL character")
)

export { FusionWeights, SearchMode } from "./MemoryResults.js"
export type { Explain, FactOutcome, MemoryStats, ReindexProgress, StoreFactResult } from "./MemoryResults.js"

/** One search hit: `score = relevance x (0.9 + 0.1 x confidence)`, in [0,1] (see `combineScore`). @category models */
export interface MemoryMatch {
  readonly memory: Memory
  readonly score: number
  readonly explain: Explain
}

/** The spec's confidence parameters. @category confidence */
export const ConfidenceParams = {
  freshDays: 30,
  stalenessDays: 365,
  stalenessFloor: 0.3,
  reinforcementCap: 1.5
} as const

const BASE: Record<ConfidenceSource, number> = { stated: 1.0, system: 0.9, observed: 0.7, inferred: 0.5 }
const DAY_MS = 86_400_000

/** What confidence is computed from: a memory's `Confidence`, or a search candidate's copy of it. @category confidence */
export interface ConfidenceInputs {
  readonly source: ConfidenceSource
  readonly reinforcementCount: number
  readonly superseded: boolean
  /** Epoch milliseconds of the last access (or reinforcement). */
  readonly lastAccessedMillis: number
}

/**
 * Confidence in [0,1] at `nowMillis`: 0 when superseded, else source base x min(1 + 0.1 x reinforcements, 1.5) x
 * staleness, where staleness is 1 for 30 days after the last access then falls linearly to 0.3 at 365 days.
 *
 * @category confidence
 */
export const confidenceAt = (c: ConfidenceInputs, nowMillis: number): number => {
  if (c.superseded) return 0
  const p = ConfidenceParams
  const reinforcement = Math.min(1 + 0.1 * c.reinforcementCount, p.reinforcementCap)
  const days = Math.max(0, Math.floor((nowMillis - c.lastAccessedMillis) / DAY_MS))
  const range = p.stalenessDays - p.freshDays
  const staleness = days <= p.freshDays
    ? 1
    : range <= 0
    ? p.stalenessFloor
    : 1 - Math.min((days - p.freshDays) / range, 1) * (1 - p.stalenessFloor)
  return Math.min(1, Math.max(0, BASE[c.source] * reinforcement * staleness))
}

/** `confidenceAt` for a memory's `Confidence` at `now`. @category confidence */
export const confidenceScore = (confidence: Confidence, now: DateTime.Utc): number =>
  confidenceAt({ ...confidence, lastAccessedMillis: confidence.lastAccessed.epochMillis }, now.epochMillis)

/**
 * How far confidence can lower a score: a memory with confidence 0 (superseded) keeps 90% of its relevance, one
 * with confidence 1 all of it. Confidence says nothing about the query, so it only breaks near-ties: with sources
 * stated or inferred at random (independent of relevance), a weight of 0.2 cost long technical queries up to 2% of
 * their text nDCG@10 and 20% of their vector nDCG@10; at 0.1 text and hybrid keep >= 0.98x and vector >= 0.94x, and a
 * stated memory still outranks an inferred one of the same text (a factor of 1 against 0.95).
 *
 * @category confidence
 */
export const CONFIDENCE_WEIGHT = 0.1

/**
 * The score contract: `relevance x (1 - CONFIDENCE_WEIGHT + CONFIDENCE_WEIGHT x confidence)`, i.e.
 * `relevance x (0.9 + 0.1 x confidence)`, in [0,1]. Confidence scales relevance instead of being added to it: it
 * breaks near-ties (a stated fact outranks an inferred copy of the same text) but never lifts a memory over one that
 * is more than 11% more relevant (for text relevance, 5.4% more BM25; stated over inferred, 2.6%), and a memory that
 * matches nothing scores 0 however confident it is. The score is monotone in relevance and in confidence, which the
 * exact top k (`rankingTopK`) bounds rely on.
 *
 * @category confidence
 */
export const combineScore = (relevance: number, confidence: number): number =>
  Math.min(1, Math.max(0, relevance * (1 - CONFIDENCE_WEIGHT + CONFIDENCE_WEIGHT * confidence)))
