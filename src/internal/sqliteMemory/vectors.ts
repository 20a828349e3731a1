/**
 * The store's embedding state and vector tables. Vectors live in numbered generations (exact float32 blobs plus a
 * vec0 bit index of SimHash codes); the meta table records which generation is live and from which embedding
 * space, and which one a running reindex is filling.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Array as Arr, Effect, Option } from "effect"
import { EmbeddingSpace, EmbeddingSpaceMismatch, StorageError } from "../../Errors.js"
import { all, decodeRows } from "../sql.js"
import type { ReadPool } from "./readPool.js"
import { generationDdl, MetaRow, PARTITIONS } from "./schema.js"
import type { TableNames } from "./schema.js"

const decodeMetaRows = decodeRows(MetaRow)

/** Rows per multi-row INSERT: amortises statement overhead, far below SQLite's 32766 bound parameters. */
export const INSERT_CHUNK = 256

export interface Generation {
  readonly space: EmbeddingSpace
  readonly generation: number
}

export interface State extends Generation {
  /** A reindex in progress: the generation being filled, with the space it is filled from. */
  readonly target: Option.Option<Generation>
}

/** What the store's modules share: the connection, the table names and the embedder's space. */
export interface Store {
  readonly sql: SqlClient.SqlClient
  readonly t: TableNames
  readonly current: EmbeddingSpace
  /** SimHash code of a vector, for the bit index. */
  readonly code: (v: Float32Array) => Uint8Array
  /** Reader threads for search queries, when the store is a file (`:memory:` has no second connection). */
  readonly readers: Option.Option<ReadPool>
}

/** A vector to write: the memory's pk, its float vector and its code. */
export type VectorItem = readonly [pk: bigint, vector: Float32Array, code: Uint8Array]

export const bytes = (v: Float32Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

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
  Effect.map(all(decodeMetaRows, s.sql`SELECT key, value FROM ${s.sql(s.t.meta)}`), (rows) => new Map(rows.map((r) => [r.key, r.value])))

/** The live generation, when the store has one (a new store records it on open). */
export const readGeneration = (s: Store) => Effect.map(readMeta(s), (meta) => generationFrom(meta, "space"))

/** The embedding state, read from the meta table so that another process's reindex is seen. */
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

// The tables of a generation are named by its number, so their DDL is generated.
export const createGeneration = (s: Store, g: number) =>
  Effect.forEach(generationDdl(s.t, g), (ddl) => s.sql.unsafe(ddl), { discard: true })

export const dropGeneration = (s: Store, g: number) =>
  Effect.zipRight(
    s.sql`DROP TABLE IF EXISTS ${s.sql(s.t.vectors(g))}`,
    s.sql`DROP TABLE IF EXISTS ${s.sql(s.t.codes(g))}`
  )

/** The generations a vector write must fill: the live one, plus a reindex target filled from the same space. */
export const writableGenerations = (s: Store, state: State) =>
  sameSpace(state.space, s.current)
    ? Effect.succeed([
      state.generation,
      ...Option.toArray(state.target).filter((t) => sameSpace(t.space, s.current)).map((t) => t.generation)
    ])
    : Effect.fail(new EmbeddingSpaceMismatch({ stored: state.space, current: s.current }))

/** Writes each item's vector and code into every generation given. */
export const writeVectors = (s: Store, generations: ReadonlyArray<number>, items: ReadonlyArray<VectorItem>) =>
  Effect.forEach(generations, (g) =>
    Effect.forEach(Arr.chunksOf(items, INSERT_CHUNK), (chunk) =>
      Effect.zipRight(
        s.sql`INSERT INTO ${s.sql(s.t.vectors(g))} ${s.sql.insert(chunk.map(([pk, v]) => ({ pk, vector: bytes(v) })))}`,
        // vec0 takes codes through vec_bit() and integer rowids only (hence BigInt pks).
        s.sql`INSERT INTO ${s.sql(s.t.codes(g))} (rowid, part, code) VALUES ${
          s.sql.csv(chunk.map(([pk, , c]) => s.sql`(${pk}, ${pk % BigInt(PARTITIONS)}, vec_bit(${c}))`))
        }`
      ), { discard: true }), { discard: true })

/** Removes the vectors of `pks` from the live generation and from a reindex target. */
export const deleteVectors = (s: Store, state: State, pks: ReadonlyArray<bigint>) =>
  Effect.forEach(
    [state.generation, ...Option.toArray(state.target).map((t) => t.generation)],
    (g) =>
      // One statement per pk: vec0 finds a row by `rowid = ?`, but would scan the whole index for `rowid IN (...)`.
      Effect.forEach(pks, (pk) =>
        Effect.zipRight(
          s.sql`DELETE FROM ${s.sql(s.t.vectors(g))} WHERE pk = ${pk}`,
          s.sql`DELETE FROM ${s.sql(s.t.codes(g))} WHERE rowid = ${pk}`
        ), { discard: true }),
    { discard: true }
  )
