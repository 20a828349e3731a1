/**
 * `where` filters compiled to SQLite over the metadata JSON column, with `Where.matches`'s rules: a value matches
 * only a condition of its own JSON type (`json_type` decides), a missing field is NULL and fails every test but the
 * negative ones. Each leaf is wrapped to 0/1 so that NOT never meets SQL's three-valued NULL. Every value is a
 * bound parameter; a `$in` list is one, a JSON array read by `json_each`, so its length never changes the SQL.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Comparison, Node, Scalar } from "../../Where.js"
import { compileWhere as compile, exhaustive } from "../whereSql.js"

/**
 * `$."a"."b"` for a path of validated keys (letters, digits, `_`, `-`). Each key is quoted, so `"0"` or `"null"`
 * is an object key as in `Where.matches`, never an array index (that would be `[0]`).
 */
const jsonPath = (path: ReadonlyArray<string>) => `$.${path.map((p) => `"${p}"`).join(".")}`

const typeTest = (sql: SqlClient.SqlClient, type: Fragment, value: Scalar): Fragment =>
  value === null
    ? sql`${type} = 'null'`
    : typeof value === "boolean"
    ? sql`${type} = ${value ? "true" : "false"}`
    : typeof value === "number"
    ? sql`${type} IN ('integer', 'real')`
    : sql`${type} = 'text'`

/**
 * Whether the value is one of `values`: nulls and booleans by their JSON type alone, numbers and strings by
 * type and value against one JSON array each, so both sides' numbers are read from JSON text the same way.
 */
const anyOf = (sql: SqlClient.SqlClient, type: Fragment, extract: Fragment, values: ReadonlyArray<Scalar>): Fragment => {
  const numbers = values.filter((v) => typeof v === "number")
  const strings = values.filter((v) => typeof v === "string")
  const types = [
    ...(values.includes(null) ? ["null"] : []),
    ...(values.includes(true) ? ["true"] : []),
    ...(values.includes(false) ? ["false"] : [])
  ]
  // One value (an $eq) is compared directly; a list is one parameter however long.
  const oneOf = (vs: ReadonlyArray<number | string>) =>
    vs.length === 1 ? sql`= json_extract(${JSON.stringify(vs)}, '$[0]')` : sql`IN (SELECT value FROM json_each(${JSON.stringify(vs)}))`
  const tests: Array<Fragment> = []
  if (types.length > 0) tests.push(sql`${type} IN ${sql.in(types)}`)
  if (numbers.length > 0) tests.push(sql`(${type} IN ('integer', 'real') AND ${extract} ${oneOf(numbers)})`)
  if (strings.length > 0) tests.push(sql`(${type} = 'text' AND ${extract} ${oneOf(strings)})`)
  return sql.or(tests)
}

const ORDER = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

const leaf = (sql: SqlClient.SqlClient) => (path: ReadonlyArray<string>, test: Comparison): Fragment => {
  const p = jsonPath(path)
  const type = sql`json_type(m.metadata, ${p})`
  const extract = sql`json_extract(m.metadata, ${p})`
  const body = (() => {
    switch (test.op) {
      case "eq":
        return anyOf(sql, type, extract, [test.value])
      case "ne":
        return sql`NOT coalesce(${anyOf(sql, type, extract, [test.value])}, 0)`
      case "in":
        return anyOf(sql, type, extract, test.values)
      case "nin":
        return sql`NOT coalesce(${anyOf(sql, type, extract, test.values)}, 0)`
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        // The operator is one of four fixed strings, never input. A number operand is read from its JSON text
        // as the stored ones are: past 2^53 SQLite reads "41716919346779670" as that exact integer, which the
        // double JavaScript binds (...672) is not.
        return sql`(${typeTest(sql, type, test.value)} AND ${extract} ${sql.literal(ORDER[test.op])} ${
          typeof test.value === "number" ? sql`json_extract(${JSON.stringify(test.value)}, '$')` : sql`${test.value}`
        })`
      case "exists":
        return test.value ? sql`${type} IS NOT NULL` : sql`${type} IS NULL`
      default:
        return exhaustive(test)
    }
  })()
  return sql`coalesce(${body}, 0)`
}

/** The filter as a condition over alias `m`. */
export const compileWhere = (sql: SqlClient.SqlClient, node: Node): Fragment => compile(sql, node, leaf(sql))
