/**
 * Search/list filters and `where` conditions as PostgreSQL conditions over alias `m`, applied before any limit, with
 * `Where.matches`'s rules: values match only conditions of their own JSON type (`jsonb_typeof` decides), strings
 * compare by code point (`COLLATE "C"`), a missing path is NULL and fails every test but the negative ones.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Comparison, Node, Scalar } from "../../Where.js"
import type { DriverFilter } from "../memory.js"
import type { TableNames } from "./schema.js"

/** `{a,b}`: a text[] literal of validated keys (letters, digits, `_`, `-`: nothing to quote). */
const pathLiteral = (path: ReadonlyArray<string>) => `{${path.join(",")}}`

const ORDER = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

const equals = (sql: SqlClient.SqlClient, value: Fragment, type: Fragment, text: Fragment, s: Scalar): Fragment =>
  s === null
    ? sql`${type} = 'null'`
    : typeof s === "boolean"
    ? sql`${type} = 'boolean' AND ${value} = ${s ? sql`'true'::jsonb` : sql`'false'::jsonb`}`
    : typeof s === "number"
    ? sql`${type} = 'number' AND (${text})::numeric = ${s}`
    : sql`${type} = 'string' AND ${text} = ${s}`

const leaf = (sql: SqlClient.SqlClient, path: ReadonlyArray<string>, test: Comparison): Fragment => {
  const p = pathLiteral(path)
  const value = sql`(m.metadata #> ${p}::text[])`
  const type = sql`jsonb_typeof(m.metadata #> ${p}::text[])`
  const text = sql`(m.metadata #>> ${p}::text[])`
  const eq = (s: Scalar) => sql`(${equals(sql, value, type, text, s)})`
  const body = (() => {
    switch (test.op) {
      case "eq":
        return eq(test.value)
      case "ne":
        return sql`NOT coalesce(${eq(test.value)}, false)`
      case "in":
        return sql.or(test.values.map(eq))
      case "nin":
        return sql`NOT coalesce(${sql.or(test.values.map(eq))}, false)`
      case "gt":
      case "gte":
      case "lt":
      case "lte": {
        // The operator is one of four fixed strings, never input.
        const op = sql.literal(ORDER[test.op])
        return typeof test.value === "number"
          ? sql`(${type} = 'number' AND (${text})::numeric ${op} ${test.value})`
          : sql`(${type} = 'string' AND ${text} COLLATE "C" ${op} ${test.value})`
      }
      case "exists":
        return test.value ? sql`${value} IS NOT NULL` : sql`${value} IS NULL`
    }
  })()
  return sql`coalesce(${body}, false)`
}

export const compileWhere = (sql: SqlClient.SqlClient, node: Node): Fragment => {
  switch (node._tag) {
    case "Field":
      return leaf(sql, node.path, node.test)
    case "And":
      return sql.and(node.nodes.map((n) => compileWhere(sql, n)))
    case "Or":
      return sql.or(node.nodes.map((n) => compileWhere(sql, n)))
    case "Not":
      return sql`NOT (${compileWhere(sql, node.node)})`
  }
}

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
  if (f.where !== undefined) clauses.push(compileWhere(sql, f.where))
  return sql.and(clauses)
}
