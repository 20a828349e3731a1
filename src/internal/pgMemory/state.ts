/**
 * The PostgreSQL store's embedding state: which vector generation is live and from which embedding space, which
 * one a running reindex fills, and the advisory lock that keeps vector writes and generation swaps apart.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Option } from "effect"
import { EmbeddingSpace, EmbeddingSpaceMismatch, StorageError } from "../../Errors.js"
import { all } from "../sql.js"
import { MetaRow } from "./schema.js"
import type { TableNames } from "./schema.js"

/** What the store's modules share: the pool, the table names and the embedder's space. */
export interface Store {
  readonly sql: SqlClient.SqlClient
  readonly t: TableNames
  readonly current: EmbeddingSpace
}

export interface Generation {
  readonly space: EmbeddingSpace
  readonly generation: number
}

export interface State extends Generation {
  readonly target: Option.Option<Generation>
}

export const sameSpace = (a: EmbeddingSpace, b: EmbeddingSpace): boolean =>
  a.model === b.model && a.dimensions === b.dimensions

const generationFrom = (meta: ReadonlyMap<string, string>, key: string): Option.Option<Generation> => {
  const model = meta.get(`${key}.model`)
  const dimensions = Number(meta.get(`${key}.dimensions`))
  const generation = Number(meta.get(`${key}.generation`))
  return model === undefined || !Number.isInteger(dimensions) || !Number.isInteger(generation)
    ? Option.none()
    : Option.some({ space: new EmbeddingSpace({ model, dimensions }), generation })
}

const readMeta = (s: Store) =>
  Effect.map(all(MetaRow, s.sql`SELECT key, value FROM ${s.sql(s.t.meta)}`), (rows) => new Map(rows.map((r) => [r.key, r.value])))

export const readGeneration = (s: Store) => Effect.map(readMeta(s), (meta) => generationFrom(meta, "space"))

export const readState = (s: Store, method: string) =>
  Effect.flatMap(readMeta(s), (meta) =>
    Option.match(generationFrom(meta, "space"), {
      onNone: () => Effect.fail(new StorageError({ method, cause: new Error("the store has no recorded embedding space") })),
      onSome: (g): Effect.Effect<State> => Effect.succeed({ ...g, target: generationFrom(meta, "target") })
    }))

export const recordGeneration = (s: Store, key: "space" | "target", g: Generation) =>
  s.sql`INSERT INTO ${s.sql(s.t.meta)} ${
    s.sql.insert([
      { key: `${key}.model`, value: g.space.model },
      { key: `${key}.dimensions`, value: String(g.space.dimensions) },
      { key: `${key}.generation`, value: String(g.generation) }
    ])
  } ON CONFLICT (key) DO UPDATE SET value = excluded.value`

export const forgetTarget = (s: Store) => s.sql`DELETE FROM ${s.sql(s.t.meta)} WHERE key LIKE 'target.%'`

/**
 * Inside a transaction: a vector write shares the generation lock, a swap or a new reindex target takes it alone,
 * so no write lands in a generation that is being dropped.
 */
export const shareGenerations = (s: Store) =>
  s.sql`SELECT pg_advisory_xact_lock_shared(hashtextextended(${s.t.generationLock}, 0))`
export const lockGenerations = (s: Store) => s.sql`SELECT pg_advisory_xact_lock(hashtextextended(${s.t.generationLock}, 0))`

/** The generations a vector write must fill: the live one, plus a reindex target filled from the same space. */
export const writableGenerations = (s: Store, state: State) =>
  sameSpace(state.space, s.current)
    ? Effect.succeed([
      state.generation,
      ...Option.toArray(state.target).filter((t) => sameSpace(t.space, s.current)).map((t) => t.generation)
    ])
    : Effect.fail(new EmbeddingSpaceMismatch({ stored: state.space, current: s.current }))

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
