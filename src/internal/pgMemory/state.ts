/**
 * The PostgreSQL store's connection, vectors and generation lock: pgvector tables keyed by memory id, and the
 * advisory lock that keeps vector writes and generation swaps apart.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import type { EmbeddingSpace } from "../../Errors.js"
import type { State } from "../sqlMemory/state.js"
import type { TableNames } from "./schema.js"

/** What the store's modules share: the pool, the table names and the embedder's space. */
export interface Store {
  readonly sql: SqlClient.SqlClient
  readonly t: TableNames
  readonly current: EmbeddingSpace
}

/**
 * Inside a transaction: a vector write shares the generation lock, a swap or a new reindex target takes it alone,
 * so no write lands in a generation that is being dropped.
 */
export const shareGenerations = (s: Store) => s.sql`SELECT ${shareGenerationsCall(s)}`
/** The call that takes the shared lock, for a statement that does more in the same round trip. */
export const shareGenerationsCall = (s: Store) => s.sql`pg_advisory_xact_lock_shared(hashtextextended(${s.t.generationLock}, 0))`
export const lockGenerations = (s: Store) => s.sql`SELECT pg_advisory_xact_lock(hashtextextended(${s.t.generationLock}, 0))`

/** A vector as pgvector's text input, `[x,y,...]`. */
export const vectorText = (v: Float32Array): string => `[${Array.from(v).join(",")}]`

/** Writes each item's vector into every generation given. */
export const writeVectors = (
  s: Store,
  generations: ReadonlyArray<number>,
  items: ReadonlyArray<readonly [id: string, vector: Float32Array]>
) =>
  items.length === 0 ? Effect.void : Effect.forEach(generations, (g) =>
    s.sql`INSERT INTO ${s.sql(s.t.vectors(g))} ${s.sql.insert(items.map(([memory_id, v]) => ({ memory_id, vector: vectorText(v) })))}
      ON CONFLICT (memory_id) DO UPDATE SET vector = excluded.vector`, { discard: true })

/** Removes the vectors of `ids` from the live generation and from a reindex target. */
export const deleteVectors = (s: Store, state: State, ids: ReadonlyArray<string>) =>
  ids.length === 0 ? Effect.void : Effect.forEach(
    [state.generation, ...Option.toArray(state.target).map((t) => t.generation)],
    (g) => s.sql`DELETE FROM ${s.sql(s.t.vectors(g))} WHERE ${s.sql.in("memory_id", ids)}`,
    { discard: true }
  )
