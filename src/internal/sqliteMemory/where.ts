/**
 * `where` filters compiled to SQLite over the metadata JSON column, with `Where.matches`'s rules: a value matches
 * only a condition of its own JSON type (`json_type` decides), a missing field is NULL and fails every test but the
 * negative ones. Each leaf is wrapped to 0/1 so that NOT never meets SQL's three-valued NULL.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Comparison, Node, Scalar } from "../../Where.js"

/** `$.a.b` for a path of validated keys (letters, digits, `_`, `-`: nothing that needs quoting in a JSON path). */
const jsonPath = (path: ReadonlyArray<string>) => `$.${path.map((p) => `"${p}"`).join(".")}`

const typeTest = (sql: SqlClient.SqlClient, type: Fragment, value: Scalar | number | string): Fragment =>
  value === null
    ? sql`${type} = 'null'`
    : typeof value === "boolean"
    ? sql`${type} = ${value ? "true" : "false"}`
    : typeof value === "number"
    ? sql`${type} IN ('integer', 'real')`
    : sql`${type} = 'text'`

const equals = (sql: SqlClient.SqlClient, type: Fragment, extract: Fragment, value: Scalar): Fragment =>
  value === null || typeof value === "boolean"
    ? typeTest(sql, type, value)
    : sql`(${typeTest(sql, type, value)} AND ${extract} = ${value})`

const ORDER = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

const leaf = (sql: SqlClient.SqlClient, path: ReadonlyArray<string>, test: Comparison): Fragment => {
  const p = jsonPath(path)
  const type = sql`json_type(m.metadata, ${p})`
  const extract = sql`json_extract(m.metadata, ${p})`
  const anyOf = (values: ReadonlyArray<Scalar>) => sql.or(values.map((v) => equals(sql, type, extract, v)))
  const body = (() => {
    switch (test.op) {
      case "eq":
        return equals(sql, type, extract, test.value)
      case "ne":
        return sql`NOT coalesce(${equals(sql, type, extract, test.value)}, 0)`
      case "in":
        return anyOf(test.values)
      case "nin":
        return sql`NOT coalesce(${anyOf(test.values)}, 0)`
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        // The operator is one of four fixed strings, never input.
        return sql`(${typeTest(sql, type, test.value)} AND ${extract} ${sql.literal(ORDER[test.op])} ${test.value})`
      case "exists":
        return test.value ? sql`${type} IS NOT NULL` : sql`${type} IS NULL`
    }
  })()
  return sql`coalesce(${body}, 0)`
}

/** The filter as a condition over alias `m`. */
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
