/**
 * The shared WorkstreamStore on PostgreSQL: metadata, tags and messages in tables, each message keyed by
 * `(workstream, seq)`. Several app instances on several machines may append to one workstream at once: each append
 * assigns its seqs under the workstream's row lock, so none is lost and seqs stay gap-free. Message contents
 * round-trip exactly, NUL and lone surrogates included.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Reactivity from "@effect/experimental/Reactivity"
import { Config, Effect, Layer } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { InvalidInput, StorageError } from "../Errors.js"
import { makeDriver } from "../internal/pgWorkstream/driver.js"
import { migrations, tableNames } from "../internal/pgWorkstream/schema.js"
import type { Store } from "../internal/pgWorkstream/schema.js"
import { isIdentifier, transaction } from "../internal/sql.js"
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
export interface ConnectionOptions extends Options, Omit<PgClient.PgClientConfig, "transformResultNames" | "transformQueryNames" | "transformJson"> {}

const OPEN = "WorkstreamStore.open"

/** Creates the schema and runs the migrations under one advisory lock: many instances may open one database at once. */
const open = (s: Store) =>
  transaction(s.sql, "BEGIN")(Effect.gen(function*() {
    const { sql } = s
    yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${s.t.migrations}:open`}, 0))`
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(s.t.schema)}`
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
  })).pipe(Effect.mapError((cause) => new StorageError({ method: OPEN, cause })))

/**
 * Builds the PostgreSQL WorkstreamStore on the `SqlClient` in context (a `PgClient`), creating its schema and
 * tables on first open.
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
  const store: Store = { sql: yield* SqlClient.SqlClient, t: tableNames(schema, prefix) }
  yield* open(store)
  return makeService(makeDriver(store))
})

/**
 * The PostgreSQL WorkstreamStore on a `PgClient` pool of its own (settings as `PgClient`'s: `url`, or host, port,
 * database, username, password), closed with the layer. Requires nothing.
 *
 * @category layers
 */
export const layer = (options: ConnectionOptions): Layer.Layer<WorkstreamStore, StorageError | InvalidInput> =>
  Layer.scoped(
    WorkstreamStore,
    Effect.gen(function*() {
      const client = yield* PgClient.make(options).pipe(
        Effect.provide(Reactivity.layer),
        Effect.mapError((cause) => new StorageError({ method: OPEN, cause }))
      )
      return yield* Effect.provideService(make(options), SqlClient.SqlClient, client)
    })
  )

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
