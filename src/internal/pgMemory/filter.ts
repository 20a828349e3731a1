/**
 * Search/list filters as PostgreSQL conditions over alias `m`, applied before any limit; `where` conditions are
 * compiled by the shared compiler (`whereSql.ts`) over these leaf builders on the jsonb metadata column. jsonb
 * equality holds only between values of one JSON type and compares numbers as numbers; strings order by code point
 * (`COLLATE "C"`). Every key and value is a bound parameter; a list of values is one, a jsonb array.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Node } from "../../Where.js"
import type { DriverFilter } from "../memoryRules.js"
import { filterSql } from "../sqlMemory/filter.js"
import { compileWhere as compile } from "../whereSql.js"
import type { WhereDialect } from "../whereSql.js"
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

const dialect = (sql: SqlClient.SqlClient): WhereDialect => {
  const equalsAny = (path: ReadonlyArray<string>, values: ReadonlyArray<number | string>) =>
    values.length === 1
      ? sql`${valueAt(sql, path)} = ${JSON.stringify(values[0])}::jsonb`
      : sql`${valueAt(sql, path)} IN (SELECT jsonb_array_elements(${JSON.stringify(values)}::jsonb))`
  return {
    exists: (path) => sql`${valueAt(sql, path)} IS NOT NULL`,
    isConstant: (path, value) =>
      sql`${valueAt(sql, path)} = ${sql.literal(value === null ? "'null'" : value ? "'true'" : "'false'")}::jsonb`,
    numberIn: equalsAny,
    stringIn: equalsAny,
    // The operator is one of four fixed strings, never input. CASE, unlike AND, guarantees the type test comes
    // first, so the comparison never meets a value of another type.
    numberOrder: (path, op, n) =>
      sql`CASE WHEN jsonb_typeof(${valueAt(sql, path)}) = 'number' THEN ${valueAt(sql, path)} ${sql.literal(op)} ${
        JSON.stringify(n)
      }::jsonb END`,
    stringOrder: (path, op, s) =>
      sql`CASE WHEN jsonb_typeof(${valueAt(sql, path)}) = 'string' THEN (${valueAt(sql, path)} #>> '{}') COLLATE "C" ${
        sql.literal(op)
      } ${s} END`
  }
}

/** The filter as a condition over alias `m`. */
export const compileWhere = (sql: SqlClient.SqlClient, node: Node): Fragment => compile(sql, node, dialect(sql))

export const whereOf = (sql: SqlClient.SqlClient, t: TableNames, f: DriverFilter): Fragment =>
  filterSql(sql, {
    live: sql`NOT m.superseded`,
    unexpired: (nowMillis) => sql`(m.expires_at IS NULL OR m.expires_at > ${nowMillis})`,
    tagged: (tags) =>
      sql`m.id IN (SELECT memory_id FROM ${sql(t.tags)} WHERE ${sql.in("tag", tags)} GROUP BY memory_id HAVING count(*) = ${tags.length})`,
    where: (node) => compileWhere(sql, node)
  }, f)
