/**
 * A search/list filter as a SQLite condition over the memories table (alias `m`); the clauses are `sqlMemory`'s.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { DriverFilter } from "../memoryRules.js"
import { filterSql } from "../sqlMemory/filter.js"
import type { TableNames } from "./schema.js"
import { compileWhere } from "./where.js"

export const whereOf = (sql: SqlClient.SqlClient, t: TableNames, f: DriverFilter): Fragment =>
  filterSql(sql, {
    // Unary plus keeps SQLite from driving the query by the barely selective superseded and expiry indexes.
    live: sql`+m.superseded = 0`,
    unexpired: (nowMillis) => sql`(m.expires_at IS NULL OR +m.expires_at > ${nowMillis})`,
    tagged: (tags) =>
      sql`m.pk IN (SELECT memory_pk FROM ${sql(t.tags)} WHERE ${sql.in("tag", tags)} GROUP BY memory_pk HAVING count(*) = ${tags.length})`,
    where: (node) => compileWhere(sql, node)
  }, f)
