/**
 * Search/list filters and `where` conditions as PostgreSQL conditions over alias `m`, applied before any limit, with
 * `Where.matches`'s rules: values match only conditions of their own JSON type (jsonb equality and `jsonb_typeof`
 * decide), strings order by code point (`COLLATE "C"`), a missing path is NULL and fails every test but the
 * negative ones. Every key and value is a bound parameter; a `$in` list is one, a jsonb array.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Comparison, Node } from "../../Where.js"
import type { DriverFilter } from "../memory.js"
import { compileWhere as compile, exhaustive } from "../whereSql.js"
import type { TableNames } from "./schema.js"

/**
 * The value at `path`, one `->` per key with the key a text parameter: `->` with text reads object members only,
 * so a key `0` or `-1` never indexes an array, and a key `null` is the string, not SQL NULL (both of which a
 * `#>` text[] path would do).
 */
const valueAt = (sql: SqlClient.SqlClient, path: ReadonlyArray<string>): Fragment => {
  let value = sql`m.metadata`
  for (const key of path) value = sql`${value} -> ${key}::text`
  return sql`(${value})`
}

const ORDER = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

const leaf = (sql: SqlClient.SqlClient) => (path: ReadonlyArray<string>, test: Comparison): Fragment => {
  const value = valueAt(sql, path)
  // jsonb equality holds only between values of one JSON type, and compares numbers as numbers.
  const anyOf = (values: ReadonlyArray<unknown>) =>
    values.length === 1
      ? sql`${value} = ${JSON.stringify(values[0])}::jsonb`
      : sql`${value} IN (SELECT jsonb_array_elements(${JSON.stringify(values)}::jsonb))`
  const body = (() => {
    switch (test.op) {
      case "eq":
        return anyOf([test.value])
      case "ne":
        return sql`NOT coalesce(${anyOf([test.value])}, false)`
      case "in":
        return anyOf(test.values)
      case "nin":
        return sql`NOT coalesce(${anyOf(test.values)}, false)`
      case "gt":
      case "gte":
      case "lt":
      case "lte": {
        // The operator is one of four fixed strings, never input. CASE, unlike AND, guarantees the type test comes
        // first, so the comparison never meets a value of another type.
        const op = sql.literal(ORDER[test.op])
        return typeof test.value === "number"
          ? sql`CASE WHEN jsonb_typeof(${value}) = 'number' THEN ${value} ${op} ${JSON.stringify(test.value)}::jsonb END`
          : sql`CASE WHEN jsonb_typeof(${value}) = 'string' THEN (${value} #>> '{}') COLLATE "C" ${op} ${test.value} END`
      }
      case "exists":
        return test.value ? sql`${value} IS NOT NULL` : sql`${value} IS NULL`
      default:
        return exhaustive(test)
    }
  })()
  return sql`coalesce(${body}, false)`
}

/** The filter as a condition over alias `m`. */
export const compileWhere = (sql: SqlClient.SqlClient, node: Node): Fragment => compile(sql, node, leaf(sql))

export const whereOf = (sql: SqlClient.SqlClient, t: TableNames, f: DriverFilter): Fragment => {
  const clauses: Array<Fragment> = [
    f.includeSuperseded ? sql`true` : sql`NOT m.superseded`,
    sql`(m.expires_at IS NULL OR m.expires_at > ${f.nowMillis})`
  ]
  if (f.namespace !== undefined) clauses.push(sql`m.namespace = ${f.namespace}`)
  if (f.contentTypes !== undefined && f.contentTypes.length > 0) clauses.push(sql.in("m.content_type", f.contentTypes))
  if (f.sessionId !== undefined) clauses.push(sql`m.session_id = ${f.sessionId}`)
  if (f.workstreamId !== undefined) clauses.push(sql`m.workstream_id = ${f.workstreamId}`)
  if (f.tags !== undefined && f.tags.length > 0) {
    const tags = Array.from(new Set(f.tags))
    clauses.push(
      sql`m.id IN (SELECT memory_id FROM ${sql(t.tags)} WHERE ${sql.in("tag", tags)} GROUP BY memory_id HAVING count(*) = ${tags.length})`
    )
  }
  if (f.since !== undefined) clauses.push(sql`m.created_at >= ${f.since.epochMillis}`)
  if (f.until !== undefined) clauses.push(sql`m.created_at <= ${f.until.epochMillis}`)
  // Joined by a template, not in sql.and: a large filter's segments would overflow its spread into one call.
  return f.where === undefined ? sql.and(clauses) : sql`${sql.and(clauses)} AND (${compileWhere(sql, f.where)})`
}
