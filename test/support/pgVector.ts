/**
 * A PostgreSQL server with pgvector for the memory suites, beside PGlite: the one `ARAWN_PG_VECTOR_URL` names (which
 * must answer and offer the extension), else the machine's server (127.0.0.1:5432, database `test`) when it answers
 * and lists `vector` among its available extensions. Schemas made there are dropped by `dropSchemas`.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Effect, Redacted } from "effect"
import { PG_PORT, PG_URL } from "./pg.js"
import { answers } from "./redis.js"

/** A server the memory suites run on: its URL, and the name their titles give it ("PostgreSQL 16.4"). */
export interface VectorServer {
  readonly url: string
  readonly name: string
}

const withSql = <A, E>(url: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.provide(Effect.flatMap(SqlClient.SqlClient, f), PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })))

/** The server's version, and whether pgvector can be created there. */
const probe = (url: string) =>
  withSql(url, (sql) =>
    Effect.map(
      sql<{ readonly version: string; readonly vector: boolean }>`SELECT current_setting('server_version') AS version,
        EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS vector`,
      (rows) => ({ version: rows[0]!.version.split(" ")[0]!, vector: rows[0]!.vector })
    ))

/** The server to run on besides PGlite, or the reason there is none. */
export const vectorServer = async (): Promise<VectorServer | string> => {
  const given = process.env["ARAWN_PG_VECTOR_URL"]
  if (given !== undefined && given !== "") {
    // Asked for explicitly: a server that cannot be used fails the file instead of being left out.
    const found = await Effect.runPromise(probe(given))
    if (!found.vector) throw new Error(`ARAWN_PG_VECTOR_URL names PostgreSQL ${found.version}, which does not offer pgvector`)
    return { url: given, name: `PostgreSQL ${found.version}` }
  }
  if (!(await answers(PG_PORT))) return `nothing answers on 127.0.0.1:${PG_PORT}`
  const found = await Effect.runPromise(Effect.either(probe(PG_URL)))
  if (found._tag === "Left") return `127.0.0.1:${PG_PORT} refused the probe: ${String(found.left)}`
  return found.right.vector
    ? { url: PG_URL, name: `PostgreSQL ${found.right.version}` }
    : `PostgreSQL ${found.right.version} on 127.0.0.1:${PG_PORT} does not offer pgvector`
}

/** Drops the schemas the suites made on `url`. */
export const dropSchemas = (url: string, schemas: ReadonlyArray<string>) =>
  Effect.runPromise(withSql(url, (sql) => Effect.forEach(schemas, (s) => sql`DROP SCHEMA IF EXISTS ${sql(s)} CASCADE`, { discard: true })))
