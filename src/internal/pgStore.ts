/**
 * What the PostgreSQL stores share: their own connection pool, the checked schema and prefix, and opening (schema,
 * migrations and any first-open work in one transaction under an advisory lock, so that many instances may open
 * one database at once).
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Reactivity from "@effect/experimental/Reactivity"
import { Effect } from "effect"
import { InvalidInput, StorageError } from "../Errors.js"
import { isIdentifier, transaction } from "./sql.js"

/** `PgClient`'s settings (`url`, or host, port, user, password...) but the name and JSON transforms the stores fix. */
export type PgConnection = Omit<PgClient.PgClientConfig, "transformResultNames" | "transformQueryNames" | "transformJson">

/** The schema and table prefix (defaults `public`, `arawn_store`), each checked to be an SQL identifier. */
export const names = (method: string, options: { readonly schema?: string | undefined; readonly prefix?: string | undefined }) =>
  Effect.gen(function*() {
    const schema = options.schema ?? "public"
    const prefix = options.prefix ?? "arawn_store"
    for (const [what, name] of [["schema", schema], ["table prefix", prefix]] as const) {
      if (!isIdentifier(name)) {
        return yield* new InvalidInput({ method, message: `${what} ${JSON.stringify(name)} must be an SQL identifier` })
      }
    }
    return { schema, prefix }
  })

/** Opening a store: where its tables live, its migrations, and what else runs in the same transaction. */
export interface OpenSpec<E> {
  readonly method: string
  readonly schema: string
  readonly migrationsTable: string
  readonly migrations: Record<string, Effect.Effect<unknown, unknown, never>>
  /** Statements before the migrations (e.g. `CREATE EXTENSION`). */
  readonly before?: Effect.Effect<unknown, unknown, never> | undefined
  /** Work after them, in the same transaction (e.g. recording the embedding space on first open). */
  readonly after?: Effect.Effect<unknown, E, never> | undefined
}

/** Creates the schema and runs the migrations under one advisory lock; any failure is a StorageError. */
export const open = <E>(sql: SqlClient.SqlClient, spec: OpenSpec<E>) =>
  transaction(sql, "BEGIN")(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${spec.migrationsTable}:open`}, 0))`
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(spec.schema)}`
    if (spec.before !== undefined) yield* spec.before
    // The Migrator probes for its table with a query that fails when it is missing, which would abort this
    // transaction: the table (the Migrator's own shape) is created here first.
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(spec.migrationsTable)} (
      migration_id integer primary key,
      created_at timestamp with time zone not null default now(),
      name text not null
    )`
    yield* Effect.provideService(
      Migrator.make({})({ loader: Migrator.fromRecord(spec.migrations), table: spec.migrationsTable }),
      SqlClient.SqlClient,
      sql
    )
    if (spec.after !== undefined) yield* spec.after
  })).pipe(Effect.mapError((cause) => new StorageError({ method: spec.method, cause })))

/** Runs `make` on a `PgClient` pool of its own, closed with the scope; a pool that cannot start is a StorageError. */
export const withOwnClient = <A, E, R>(method: string, options: PgConnection, make: Effect.Effect<A, E, R>) =>
  Effect.flatMap(
    PgClient.make(options).pipe(
      Effect.provide(Reactivity.layer),
      Effect.mapError((cause) => new StorageError({ method, cause }))
    ),
    (client) => Effect.provideService(make, SqlClient.SqlClient, client)
  )
