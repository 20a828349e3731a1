/**
 * A search/list filter as an SQL condition over the memories table (alias `m`), applied in SQL before any limit.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { DriverFilter } from "../memoryRules.js"
import { compileWhere } from "./where.js"
import type { TableNames } from "./schema.js"

export const whereOf = (sql: SqlClient.SqlClient, t: TableNames, f: DriverFilter): Fragment => {
  // Unary plus keeps SQLite from driving the query by the barely selective superseded and expiry indexes.
  const clauses: Array<Fragment> = [
    f.includeSuperseded ? sql`1 = 1` : sql`+m.superseded = 0`,
    sql`(m.expires_at IS NULL OR +m.expires_at > ${f.nowMillis})`
  ]
  if (f.namespace !== undefined) clauses.push(sql`m.namespace = ${f.namespace}`)
  if (f.contentTypes !== undefined && f.contentTypes.length > 0) clauses.push(sql.in("m.content_type", f.contentTypes))
  if (f.sessionId !== undefined) clauses.push(sql`m.session_id = ${f.sessionId}`)
  if (f.workstreamId !== undefined) clauses.push(sql`m.workstream_id = ${f.workstreamId}`)
  if (f.tags !== undefined && f.tags.length > 0) {
    const tags = Array.from(new Set(f.tags))
    clauses.push(
      sql`m.pk IN (SELECT memory_pk FROM ${sql(t.tags)} WHERE ${sql.in("tag", tags)} GROUP BY memory_pk HAVING count(*) = ${tags.length})`
    )
  }
  if (f.since !== undefined) clauses.push(sql`m.created_at >= ${f.since.epochMillis}`)
  if (f.until !== undefined) clauses.push(sql`m.created_at <= ${f.until.epochMillis}`)
  // Joined by a template, not in sql.and: a large filter's segments would overflow its spread into one call.
  return f.where === undefined ? sql.and(clauses) : sql`${sql.and(clauses)} AND (${compileWhere(sql, f.where)})`
}
