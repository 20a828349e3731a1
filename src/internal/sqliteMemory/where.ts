/**
 * `where` filters on SQLite: the leaf builders of the shared compiler (`whereSql.ts`) over the metadata JSON text
 * column. `json_type` tells the JSON types apart (`integer` and `real` are both numbers) and is NULL where nothing
 * is at the path. Every key and value is a bound parameter; a list of values is one, a JSON array read by
 * `json_each`, so its length never changes the SQL.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Node } from "../../Where.js"
import { compileWhere as compile } from "../whereSql.js"
import type { WhereDialect } from "../whereSql.js"

/**
 * `$."a"."b"` for a path of validated keys (letters, digits, `_`, `-`: nothing to escape). Each key is quoted, so
 * `"0"` or `"null"` is an object key as in `Where.matches`, never an array index (that would be `[0]`).
 */
const jsonPath = (path: ReadonlyArray<string>) => `$.${path.map((p) => `"${p}"`).join(".")}`

const dialect = (sql: SqlClient.SqlClient): WhereDialect => {
  const type = (path: ReadonlyArray<string>) => sql`json_type(m.metadata, ${jsonPath(path)})`
  const extract = (path: ReadonlyArray<string>) => sql`json_extract(m.metadata, ${jsonPath(path)})`
  const isNumber = (path: ReadonlyArray<string>) => sql`${type(path)} IN ('integer', 'real')`
  // Operands are read from JSON text as the stored values are: past 2^53 SQLite reads "41716919346779670" as that
  // exact integer, which the double JavaScript would bind (...672) is not.
  const oneOf = (values: ReadonlyArray<number | string>): Fragment =>
    values.length === 1
      ? sql`= json_extract(${JSON.stringify(values)}, '$[0]')`
      : sql`IN (SELECT value FROM json_each(${JSON.stringify(values)}))`
  return {
    exists: (path) => sql`${type(path)} IS NOT NULL`,
    isConstant: (path, value) => sql`${type(path)} = ${value === null ? "null" : value ? "true" : "false"}`,
    numberIn: (path, numbers) => sql`(${isNumber(path)} AND ${extract(path)} ${oneOf(numbers)})`,
    stringIn: (path, strings) => sql`(${type(path)} = 'text' AND ${extract(path)} ${oneOf(strings)})`,
    // The operator is one of four fixed strings, never input.
    numberOrder: (path, op, n) =>
      sql`(${isNumber(path)} AND ${extract(path)} ${sql.literal(op)} json_extract(${JSON.stringify(n)}, '$'))`,
    // SQLite's BINARY collation compares UTF-8 bytes, which is code point order.
    stringOrder: (path, op, s) => sql`(${type(path)} = 'text' AND ${extract(path)} ${sql.literal(op)} ${s})`
  }
}

/** The filter as a condition over alias `m`. */
export const compileWhere = (sql: SqlClient.SqlClient, node: Node): Fragment => compile(sql, node, dialect(sql))
