/**
 * The shared MemoryBackend on PostgreSQL with pgvector: memories, tags and history in tables, vectors in
 * `vector(dims)` with an HNSW index, text in a generated `tsvector` with a GIN index. Several app instances on
 * several machines may use one database at once.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Effect, Layer, Option } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { Embedder } from "../Embedder.js"
import { EmbeddingSpace, InvalidInput, StorageError } from "../Errors.js"
import { pgDialect } from "../internal/pgMemory/dialect.js"
import { createGeneration, migrations, tableNames } from "../internal/pgMemory/schema.js"
import type { Store } from "../internal/pgMemory/state.js"
import { makeDriver } from "../internal/sqlMemory/driver.js"
import { readGeneration, recordGeneration } from "../internal/sqlMemory/state.js"
import { names, open, withOwnClient } from "../internal/pgStore.js"
import type { PgConnection } from "../internal/pgStore.js"
import type { Options as KernelOptions } from "../MemoryBackend.js"
import { make as makeService, MemoryBackend } from "../MemoryBackend.js"

/**
 * Where the store lives in the database, and how it searches.
 *
 * @category options
 */
export interface Options extends KernelOptions {
  /** The schema of every table (created when missing); default `"public"`. */
  readonly schema?: string | undefined
  /** Prefix of every table; default `"arawn_store"`. */
  readonly prefix?: string | undefined
  /**
   * A vector search whose filter matches at most this many memories ranks all of them exactly instead of walking
   * the HNSW index; default 2048.
   */
  readonly exactScanLimit?: number | undefined
}

/** Options with a connection of the layer's own (`PgClient`'s settings: `url`, or host, port, user, password...). @category options */
export interface ConnectionOptions extends Options, PgConnection {}

const OPEN = "MemoryBackend.open"

/**
 * Builds the PostgreSQL MemoryBackend on the `SqlClient` in context (a `PgClient`). Requires an `Embedder`: the
 * store records its model and dimensions on first open and refuses vector writes and vector search from another
 * one until `reindex`.
 *
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const { prefix, schema } = yield* names(OPEN, options)
  const sql = yield* SqlClient.SqlClient
  const embedder = yield* Embedder
  const store: Store = {
    sql,
    t: tableNames(schema, prefix),
    current: new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  }
  yield* open(sql, {
    method: OPEN,
    schema: store.t.schema,
    migrationsTable: store.t.migrations,
    migrations: migrations(sql, store.t),
    before: sql`CREATE EXTENSION IF NOT EXISTS vector`,
    // The first open records the embedding space and creates the first generation of vectors.
    after: Effect.gen(function*() {
      if (Option.isSome(yield* readGeneration(sql, store.t.meta))) return
      yield* recordGeneration(sql, store.t.meta, "space", { space: store.current, generation: 1 })
      yield* createGeneration(sql, store.t, 1, store.current.dimensions)
    })
  })
  return yield* makeService(makeDriver(pgDialect(store, Math.max(0, Math.floor(options.exactScanLimit ?? 2048)))), options)
})

/**
 * The PostgreSQL MemoryBackend on a `PgClient` pool of its own (settings as `PgClient`'s: `url`, or host, port,
 * database, username, password), closed with the layer. The database needs pgvector 0.8 or later (`CREATE
 * EXTENSION vector` runs on first open). Requires an `Embedder`.
 *
 * @category layers
 */
export const layer = (options: ConnectionOptions): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder> =>
  Layer.scoped(MemoryBackend, withOwnClient(OPEN, options, make(options)))

/**
 * The PostgreSQL MemoryBackend on the `SqlClient` in context (a `PgClient` the application shares with its own
 * queries). Requires `SqlClient` and an `Embedder`.
 *
 * @category layers
 */
export const layerClient = (options: Options = {}): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder | SqlClient.SqlClient> =>
  Layer.effect(MemoryBackend, make(options))

/**
 * `layer` with its settings read from `Config`, e.g. `layerConfig({ url: Config.redacted("DATABASE_URL") })`.
 *
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<ConnectionOptions>
): Layer.Layer<MemoryBackend, StorageError | InvalidInput | ConfigError, Embedder> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
