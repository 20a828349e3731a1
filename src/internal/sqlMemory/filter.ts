/**
 * A search/list filter as an SQL condition over the memories table (alias `m`), applied in SQL before any limit.
 * The clauses are the same on every SQL engine; a dialect says how a live row, an unexpired row, a row with all of
 * a set of tags and a `where` tree are written there.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import { Option } from "effect"
import { SEPARATOR } from "../../Namespace.js"
import type { Node } from "../../Where.js"
import type { DriverFilter } from "../memoryRules.js"
import { factSql, timeSql } from "../memoryTime.js"

/** The engine-specific clauses of a filter. */
export interface FilterDialect {
  /** Not superseded. */
  readonly live: Fragment
  /** No expiry, or one after `nowMillis`. */
  readonly unexpired: (nowMillis: number) => Fragment
  /** Holds every one of `tags` (distinct, at least one). */
  readonly tagged: (tags: ReadonlyArray<string>) => Fragment
  /** A `where` tree over the metadata column. */
  readonly where: (node: Node) => Fragment
}

export const filterSql = (sql: SqlClient.SqlClient, d: FilterDialect, f: DriverFilter): Fragment => {
  const held = f.time !== undefined ? timeSql(sql, f.time) : f.includeSuperseded ? sql`1 = 1` : d.live
  const clauses: Array<Fragment> = [held, d.unexpired(f.nowMillis)]
  if (f.fact !== undefined) clauses.push(factSql(sql, f.fact))
  if (f.namespace !== undefined) clauses.push(subtreeSql(sql, f.namespace))
  if (f.contentTypes !== undefined && f.contentTypes.length > 0) clauses.push(sql.in("m.content_type", f.contentTypes))
  if (f.sessionId !== undefined) clauses.push(sql`m.session_id = ${f.sessionId}`)
  if (f.workstreamId !== undefined) clauses.push(sql`m.workstream_id = ${f.workstreamId}`)
  if (f.tags !== undefined && f.tags.length > 0) clauses.push(d.tagged(Array.from(new Set(f.tags))))
  if (f.since !== undefined) clauses.push(sql`m.created_at >= ${f.since.epochMillis}`)
  if (f.until !== undefined) clauses.push(sql`m.created_at <= ${f.until.epochMillis}`)
  // Joined by a template, not in sql.and: a large filter's segments would overflow its spread into one call.
  return f.where === undefined ? sql.and(clauses) : sql`${sql.and(clauses)} AND (${d.where(f.where)})`
}

/**
 * `m.namespace` is `root` or below it: equal, or in the byte range [`root/`, `root0`) (`0` follows `/`), which holds
 * exactly the strings that start with `root/` and which an index on the namespace answers. PostgreSQL compares in
 * the "C" collation (bytes) whatever the database's, with an index of its own for it; `LIKE` would fold case on
 * SQLite and need the root's `%` and `_` escaped.
 */
export const subtreeSql = (sql: SqlClient.SqlClient, root: string): Fragment => {
  const [from, to] = [root + SEPARATOR, root + NEXT_AFTER_SEPARATOR]
  return sql.onDialectOrElse({
    pg: () => sql`(m.namespace = ${root} OR (m.namespace COLLATE "C" >= ${from} AND m.namespace COLLATE "C" < ${to}))`,
    orElse: () => sql`(m.namespace = ${root} OR (m.namespace >= ${from} AND m.namespace < ${to}))`
  })
}

const NEXT_AFTER_SEPARATOR = String.fromCharCode(SEPARATOR.charCodeAt(0) + 1)

/** `subtreeSql` for an optional root (`None`: every namespace). */
export const inNamespaceSql = (sql: SqlClient.SqlClient, root: Option.Option<string>): Fragment =>
  Option.match(root, { onNone: () => sql`1 = 1`, onSome: (ns) => subtreeSql(sql, ns) })
