/**
 * The shared WorkstreamStore on PostgreSQL: metadata, tags and messages in tables, each message keyed by
 * `(workstream, seq)`. Several app instances on several machines may append to one workstream at once: each append
 * assigns its seqs under the workstream's row lock, so none is lost and seqs stay gap-free. Message contents
 * round-trip exactly, NUL and lone surrogates included.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { InvalidInput, StorageError } from "../Errors.js"
import { makeDriver } from "../internal/pgWorkstream/driver.js"
import { migrations, tableNames } from "../internal/pgWorkstream/schema.js"
import type { Store } from "../internal/pgWorkstream/schema.js"
import { names, open, withOwnClient } from "../internal/pgStore.js"
import type { PgConnection } from "../internal/pgStore.js"
import { make as makeService, WorkstreamStore } from "../WorkstreamStore.js"

/**
 * Where the store lives in the database.
 *
 * @category options
 */
export interface Options {
  /** The schema of every table (created when missing); default `"public"`. */
  readonly schema?: string | undefined
  /** Prefix of every table, the migrations table `<prefix>_workstream_migrations` included; default `"arawn_store"`. */
  readonly prefix?: string | undefined
}

/** Options with a connection of the layer's own (`PgClient`'s settings: `url`, or host, port, user, password...). @category options */
export interface ConnectionOptions extends Options, PgConnection {}

const OPEN = "WorkstreamStore.open"

/**
 * Builds the PostgreSQL WorkstreamStore on the `SqlClient` in context (a `PgClient`), creating its schema and
 * tables on first open.
 *
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const { prefix, schema } = yield* names(OPEN, options)
  const store: Store = { sql: yield* SqlClient.SqlClient, t: tableNames(schema, prefix) }
  yield* open(store.sql, { method: OPEN, schema: store.t.schema, migrationsTable: store.t.migrations, migrations: migrations(store.sql, store.t) })
  return makeService(makeDriver(store))
})

/**
 * The PostgreSQL WorkstreamStore on a `PgClient` pool of its own (settings as `PgClient`'s: `url`, or host, port,
 * database, username, password), closed with the layer. Requires nothing.
 *
 * @category layers
 */
export const layer = (options: ConnectionOptions): Layer.Layer<WorkstreamStore, StorageError | InvalidInput> =>
  Layer.scoped(WorkstreamStore, withOwnClient(OPEN, options, make(options)))

/**
 * The PostgreSQL WorkstreamStore on the `SqlClient` in context (a `PgClient` the application shares with its own
 * queries, or with the PostgreSQL MemoryBackend). Requires `SqlClient`.
 *
 * @category layers
 */
export const layerClient = (options: Options = {}): Layer.Layer<WorkstreamStore, StorageError | InvalidInput, SqlClient.SqlClient> =>
  Layer.effect(WorkstreamStore, make(options))

/**
 * `layer` with its settings read from `Config`, e.g. `layerConfig({ url: Config.redacted("DATABASE_URL") })`.
 *
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<ConnectionOptions>
): Layer.Layer<WorkstreamStore, StorageError | InvalidInput | ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
