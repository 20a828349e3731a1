/** The workstreams row both SQL stores decode (through their own column schemas) and the Workstream it holds. */
import { DateTime } from "effect"
import type { WorkstreamId } from "../Ids.js"
import { Workstream } from "../Workstream.js"
import type { WorkstreamState } from "../Workstream.js"
import { normaliseTags } from "./memoryRules.js"

/** A workstreams row with every column decoded, its tags read beside it. */
export interface DecodedWorkstreamRow {
  readonly id: WorkstreamId
  readonly title: string
  readonly summary: string | null
  readonly state: WorkstreamState
  readonly is_scratch: boolean
  readonly default_model: string | null
  readonly tags: ReadonlyArray<string>
  readonly created_at: number
  readonly updated_at: number
  readonly message_count: number
  readonly last_message_at: number | null
  readonly version: number
  readonly forked_from_id: WorkstreamId | null
  readonly forked_from_seq: number | null
  /** Whether the fork shares its source's messages (a branch) instead of holding copies. */
  readonly forked_shared: boolean
  /** How many leading messages `prune` removed (0: none). */
  readonly pruned_through: number
}

export const workstreamOfRow = (row: DecodedWorkstreamRow): Workstream =>
  // Decoded by the store's row schema already: the constructor's own validation would only repeat it.
  new Workstream(
    {
      id: row.id,
      title: row.title,
      state: row.state,
      isScratch: row.is_scratch,
      // An engine's order of the tags is its own (PostgreSQL's is its collation's); the contract's is the kernel's.
      tags: normaliseTags(row.tags),
      createdAt: DateTime.unsafeMake(row.created_at),
      updatedAt: DateTime.unsafeMake(row.updated_at),
      messageCount: row.message_count,
      version: row.version,
      ...(row.summary !== null ? { summary: row.summary } : {}),
      ...(row.default_model !== null ? { defaultModel: row.default_model } : {}),
      ...(row.pruned_through > 0 ? { prunedThrough: row.pruned_through } : {}),
      ...(row.last_message_at !== null ? { lastMessageAt: DateTime.unsafeMake(row.last_message_at) } : {}),
      ...(row.forked_from_id !== null
        ? {
          forkedFrom: row.forked_shared
            ? { workstreamId: row.forked_from_id, seq: row.forked_from_seq ?? 0, shared: true as const }
            : { workstreamId: row.forked_from_id, seq: row.forked_from_seq ?? 0 }
        }
        : {})
    },
    true
  )

/** The columns `update` writes: the fields a patch can change, its time and the version. */
export const metadataColumns = (ws: Workstream) => ({
  title: ws.title,
  summary: ws.summary ?? null,
  state: ws.state,
  default_model: ws.defaultModel ?? null,
  updated_at: ws.updatedAt.epochMillis,
  version: ws.version
})
