/**
 * The shared MemoryBackend on PostgreSQL with pgvector: memories, tags and history in tables, vectors in
 * `vector(dims)` with an HNSW index, text in a generated `tsvector` with a GIN index. Several app instances on
 * several machines may use one database at once.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Reactivity from "@effect/experimental/Reactivity"
import { Config, Effect, Layer, Option } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { Embedder } from "../Embedder.js"
import { EmbeddingSpace, InvalidInput, StorageError } from "../Errors.js"
import { makeDriver } from "../internal/pgMemory/driver.js"
import { createGeneration, isIdentifier, migrations, tableNames } from "../internal/pgMemory/schema.js"
import type { Store } from "../internal/pgMemory/state.js"
import { readGeneration, recordGeneration } from "../internal/pgMemory/state.js"
import { transaction } from "../internal/sql.js"
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
export interface ConnectionOptions extends Options, Omit<PgClient.PgClientConfig, "transformResultNames" | "transformQueryNames" | "transformJson"> {}

const OPEN = "MemoryBackend.open"

/** Creates the schema and pgvector, runs the migrations and records the embedding space, under one advisory lock. */
const open = (s: Store) =>
  transaction(s.sql, "BEGIN")(Effect.gen(function*() {
    const { sql } = s
    yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${s.t.migrations}:open`}, 0))`
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(s.t.schema)}`
    yield* sql`CREATE EXTENSION IF NOT EXISTS vector`
    // The Migrator probes for its table with a query that fails when it is missing, which would abort this
    // transaction: the table (the Migrator's own shape) is created here first.
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(s.t.migrations)} (
      migration_id integer primary key,
      created_at timestamp with time zone not null default now(),
      name text not null
    )`
    yield* Effect.provideService(
      Migrator.make({})({ loader: Migrator.fromRecord(migrations(sql, s.t)), table: s.t.migrations }),
      SqlClient.SqlClient,
      sql
    )
    if (Option.isNone(yield* readGeneration(s))) {
      yield* recordGeneration(s, "space", { space: s.current, generation: 1 })
      yield* createGeneration(sql, s.t, 1, s.current.dimensions)
    }
  })).pipe(Effect.mapError((cause) => new StorageError({ method: OPEN, cause })))

/**
 * Builds the PostgreSQL MemoryBackend on the `SqlClient` in context (a `PgClient`). Requires an `Embedder`: the
 * store records its model and dimensions on first open and refuses vector writes and vector search from another
 * one until `reindex`.
 *
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const schema = options.schema ?? "public"
  const prefix = options.prefix ?? "arawn_store"
  for (const [what, name] of [["schema", schema], ["table prefix", prefix]] as const) {
    if (!isIdentifier(name)) {
      return yield* new InvalidInput({ method: OPEN, message: `${what} ${JSON.stringify(name)} must be an SQL identifier` })
    }
  }
  const sql = yield* SqlClient.SqlClient
  const embedder = yield* Embedder
  const store: Store = {
    sql,
    t: tableNames(schema, prefix),
    current: new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  }
  yield* open(store)
  return yield* makeService(makeDriver(store, Math.max(0, Math.floor(options.exactScanLimit ?? 2048))), options)
})

/**
 * The PostgreSQL MemoryBackend on a `PgClient` pool of its own (settings as `PgClient`'s: `url`, or host, port,
 * database, username, password), closed with the layer. The database needs pgvector 0.8 or later (`CREATE
 * EXTENSION vector` runs on first open). Requires an `Embedder`.
 *
 * @category layers
 */
export const layer = (options: ConnectionOptions): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder> =>
  Layer.scoped(
    MemoryBackend,
    Effect.gen(function*() {
      const client = yield* PgClient.make(options).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((cause) => new StorageError({ method: OPEN, cause }))
      )
      return yield* Effect.provideService(make(options), SqlClient.SqlClient, client)
    })
  )

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
