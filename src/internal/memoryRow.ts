/** The memories row both SQL stores decode (through their own column schemas) and the Memory it holds. */
import type { DateTime } from "effect"
import type { MemoryId, SessionId, WorkstreamId } from "../Ids.js"
import { Confidence, Memory } from "../Memory.js"
import type { Citation, ConfidenceSource, ContentType, MemoryMetadata } from "../Memory.js"

/** A memories row with every column decoded. */
export interface DecodedMemoryRow {
  readonly id: MemoryId
  readonly namespace: string
  readonly content_type: ContentType
  readonly content: string
  readonly session_id: SessionId | null
  readonly workstream_id: WorkstreamId | null
  readonly metadata: MemoryMetadata
  readonly source: ConfidenceSource
  readonly reinforcement_count: number
  readonly superseded: boolean
  readonly superseded_by: MemoryId | null
  readonly last_accessed: DateTime.Utc
  readonly citation: Citation | null
  readonly created_at: DateTime.Utc
  readonly updated_at: DateTime.Utc
  readonly accessed_at: DateTime.Utc
  readonly access_count: number
  readonly expires_at: DateTime.Utc | null
  readonly ttl_millis: number | null
}

export const memoryOfRow = (r: DecodedMemoryRow): Memory =>
  // Decoded by MemoryRow already: the constructors' own validation would only repeat it.
  new Memory(
    {
      id: r.id,
      namespace: r.namespace,
      contentType: r.content_type,
      content: r.content,
      metadata: r.metadata,
      confidence: new Confidence(
        {
          source: r.source,
          reinforcementCount: r.reinforcement_count,
          superseded: r.superseded,
          lastAccessed: r.last_accessed,
          ...(r.superseded_by !== null ? { supersededBy: r.superseded_by } : {})
        },
        true
      ),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      accessedAt: r.accessed_at,
      accessCount: r.access_count,
      ...(r.session_id !== null ? { sessionId: r.session_id } : {}),
      ...(r.workstream_id !== null ? { workstreamId: r.workstream_id } : {}),
      ...(r.citation !== null ? { citation: r.citation } : {}),
      ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}),
      ...(r.ttl_millis !== null ? { ttlMillis: r.ttl_millis } : {})
    },
    true
  )
