/** The embedding state of an SQL memory store (see `memoryGenerations`), kept in its meta table. */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import type { Generation } from "../memoryGenerations.js"
import { generationEntries, generationOf, stateOf } from "../memoryGenerations.js"
import { all, decodeRows } from "../sql.js"

export type { Generation, State } from "../memoryGenerations.js"
export { sameSpace, writableGenerations } from "../memoryGenerations.js"

const MetaRow = Schema.Struct({ key: Schema.String, value: Schema.String })
const decodeMetaRows = decodeRows(MetaRow)

const readMeta = (sql: SqlClient.SqlClient, meta: string) =>
  Effect.map(all(decodeMetaRows, sql`SELECT key, value FROM ${sql(meta)}`), (rows) => new Map(rows.map((r) => [r.key, r.value])))

/** The live generation, when the store has one (a new store records it on open). */
export const readGeneration = (sql: SqlClient.SqlClient, meta: string) =>
  Effect.map(readMeta(sql, meta), (m) => generationOf(m, "space"))

export const readState = (sql: SqlClient.SqlClient, meta: string, method: string) =>
  Effect.flatMap(readMeta(sql, meta), (m) => stateOf(m, method))

export const recordGeneration = (sql: SqlClient.SqlClient, meta: string, key: "space" | "target", g: Generation) =>
  sql`INSERT INTO ${sql(meta)} ${sql.insert(generationEntries(key, g).map(([k, value]) => ({ key: k, value })))}
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`

export const forgetTarget = (sql: SqlClient.SqlClient, meta: string) => sql`DELETE FROM ${sql(meta)} WHERE key LIKE 'target.%'`
