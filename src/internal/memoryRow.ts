/** The memories row both SQL stores decode (through their own column schemas) and the Memory it holds. */
import { Schema } from "effect"
import type { DateTime, Types } from "effect"
import { MemoryId, SessionId, WorkstreamId } from "../Ids.js"
import { Citation, Confidence, ConfidenceSource, ContentType, Memory } from "../Memory.js"
import type { MemoryMetadata } from "../Memory.js"
import type { TimeColumns } from "./memoryTimeRow.js"
import { timeColumnFields, timeColumns } from "./memoryTimeRow.js"

/**
 * The column schemas of a memories row that mean the same on every SQL engine; each store adds its key and the
 * three whose encoding is the engine's (the superseded boolean, and the metadata and citation JSON).
 */
export const sharedMemoryFields = {
  id: MemoryId,
  namespace: Schema.String,
  content_type: ContentType,
  content: Schema.String,
  session_id: Schema.NullOr(SessionId),
  workstream_id: Schema.NullOr(WorkstreamId),
  source: ConfidenceSource,
  reinforcement_count: Schema.NonNegativeInt,
  superseded_by: Schema.NullOr(MemoryId),
  last_accessed: Schema.DateTimeUtcFromNumber,
  created_at: Schema.DateTimeUtcFromNumber,
  updated_at: Schema.DateTimeUtcFromNumber,
  accessed_at: Schema.DateTimeUtcFromNumber,
  access_count: Schema.NonNegativeInt,
  expires_at: Schema.NullOr(Schema.DateTimeUtcFromNumber),
  ttl_millis: Schema.NullOr(Schema.Number),
  item_key: Schema.NullOr(Schema.String),
  embed: Schema.Literal(0, 1),
  ...timeColumnFields
}

/** A memories row with every column decoded. */
export interface DecodedMemoryRow extends TimeColumns {
  readonly id: MemoryId
  readonly namespace: string
  readonly content_type: ContentType
  readonly content: string
  readonly session_id: SessionId | null
  readonly workstream_id: WorkstreamId | null
  readonly metadata: MemoryMetadata
  readonly source: ConfidenceSource
  readonly reinforcement_count: number
  /** The engine's boolean: PostgreSQL's, or SQLite's 0/1. */
  readonly superseded: boolean | 0 | 1
  readonly superseded_by: MemoryId | null
  readonly last_accessed: DateTime.Utc
  readonly citation: Citation | null
  readonly created_at: DateTime.Utc
  readonly updated_at: DateTime.Utc
  readonly accessed_at: DateTime.Utc
  readonly access_count: number
  readonly expires_at: DateTime.Utc | null
  readonly ttl_millis: number | null
  readonly item_key: string | null
  readonly embed: 0 | 1
}

/** The fields a Memory is constructed from, built up in place. */
type MemoryFields = Types.Mutable<ConstructorParameters<typeof Memory>[0]>

/**
 * The Memory a decoded row holds. Its optional fields are set one by one rather than spread from conditional
 * objects: a page decodes a hundred rows, and the dozen small objects per row were a third of the decoding.
 */
export const memoryOfRow = (r: DecodedMemoryRow): Memory => {
  const superseded = r.superseded === true || r.superseded === 1
  const fields: MemoryFields = {
    id: r.id,
    namespace: r.namespace,
    contentType: r.content_type,
    content: r.content,
    metadata: r.metadata,
    // Decoded by MemoryRow already: the constructors' own validation would only repeat it.
    confidence: new Confidence(
      r.superseded_by !== null
        ? {
          source: r.source,
          reinforcementCount: r.reinforcement_count,
          superseded,
          lastAccessed: r.last_accessed,
          supersededBy: r.superseded_by
        }
        : { source: r.source, reinforcementCount: r.reinforcement_count, superseded, lastAccessed: r.last_accessed },
      true
    ),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    accessedAt: r.accessed_at,
    accessCount: r.access_count
  }
  if (r.session_id !== null) fields.sessionId = r.session_id
  if (r.workstream_id !== null) fields.workstreamId = r.workstream_id
  if (r.citation !== null) fields.citation = r.citation
  if (r.expires_at !== null) fields.expiresAt = r.expires_at
  if (r.ttl_millis !== null) fields.ttlMillis = r.ttl_millis
  if (r.item_key !== null) fields.key = r.item_key
  if (r.embed === 0) fields.embed = false
  if (r.valid_from !== null) fields.validFrom = r.valid_from
  if (r.valid_to !== null) fields.validTo = r.valid_to
  if (r.recorded_at !== null) fields.recordedAt = r.recorded_at
  if (r.retracted_at !== null) fields.retractedAt = r.retracted_at
  if (r.valid_to_recorded_at !== null) fields.validToRecordedAt = r.valid_to_recorded_at
  if (r.prior_valid_to !== null) fields.priorValidTo = r.prior_valid_to
  return new Memory(fields, true)
}

const encodeCitation = Schema.encodeSync(Schema.parseJson(Citation))

/**
 * The written columns of a memory (every one but generated ones and the store's key), with the engine's boolean.
 * Metadata is plain JSON data already (its schema holds JSON values only), so it is stringified directly; citations
 * carry `DateTime`s and go through their schema. JSON columns travel as JSON text (PostgreSQL parses it into jsonb).
 */
export const memoryColumns = <B>(m: Memory, bool: (b: boolean) => B) => ({
  id: m.id,
  namespace: m.namespace,
  content_type: m.contentType,
  content: m.content,
  session_id: m.sessionId ?? null,
  workstream_id: m.workstreamId ?? null,
  metadata: JSON.stringify(m.metadata),
  source: m.confidence.source,
  reinforcement_count: m.confidence.reinforcementCount,
  superseded: bool(m.confidence.superseded),
  superseded_by: m.confidence.supersededBy ?? null,
  last_accessed: m.confidence.lastAccessed.epochMillis,
  citation: m.citation === undefined ? null : encodeCitation(m.citation),
  created_at: m.createdAt.epochMillis,
  updated_at: m.updatedAt.epochMillis,
  accessed_at: m.accessedAt.epochMillis,
  access_count: m.accessCount,
  expires_at: m.expiresAt?.epochMillis ?? null,
  ttl_millis: m.ttlMillis ?? null,
  item_key: m.key ?? null,
  embed: m.embed === false ? 0 : 1,
  ...timeColumns(m)
})
