/**
 * The one compiler of `where` trees to SQL. It owns every rule of `Where.matches` (which operator tests which JSON
 * types, how a missing path fails, how `$and`/`$or`/`$not` combine); a dialect brings only the leaf builders that
 * read one path of a memory's metadata. Both switches below are exhaustive, so a new node kind or operator in
 * `Where` fails to compile here, for every backend at once, instead of silently matching nothing in SQL.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Comparison, Node, Scalar } from "../Where.js"

/** An ordering comparison, as the SQL operator both dialects spell the same. */
export type Order = "<" | "<=" | ">" | ">="

/**
 * How one dialect reads the metadata (alias `m`). Each builder gets a path `Where` validated (a typed field, or
 * `extra` and 1-8 keys of letters, digits, `_` and `-`), whose keys name object members only: a key `0` or `-1` never
 * indexes an array and a key `null` is that string. A builder may yield NULL where nothing is at the path; the
 * compiler folds that to false before any NOT sees it.
 */
export interface WhereDialect {
  /** Whether any value, JSON null included, is at `path`. */
  readonly exists: (path: ReadonlyArray<string>) => Fragment
  /** Whether the value at `path` is the JSON constant `value`. */
  readonly isConstant: (path: ReadonlyArray<string>, value: null | boolean) => Fragment
  /** Whether the value at `path` is a JSON number equal to one of `numbers` (non-empty), bound as one parameter. */
  readonly numberIn: (path: ReadonlyArray<string>, numbers: ReadonlyArray<number>) => Fragment
  /** Whether the value at `path` is a JSON string equal to one of `strings` (non-empty), bound as one parameter. */
  readonly stringIn: (path: ReadonlyArray<string>, strings: ReadonlyArray<string>) => Fragment
  /** Whether the value at `path` is a JSON number that is `op` `n`, read exactly as a stored number is. */
  readonly numberOrder: (path: ReadonlyArray<string>, op: Order, n: number) => Fragment
  /** Whether the value at `path` is a JSON string that is `op` `s` in code point order. */
  readonly stringOrder: (path: ReadonlyArray<string>, op: Order, s: string) => Fragment
}

/** The type checker's proof that a switch left no case out: calling it is only possible with nothing left. */
export const exhaustive = (left: never): never => left

/**
 * `a OP b OP c ...` as parenthesized pairs of pairs, built round by round. A flat chain parses as a left-deep tree
 * as deep as it is long (SQLite refuses expressions over 1,000 deep); pairs nest only log2(count) deep. Built
 * with templates, never `sql.and`/`sql.or`, whose spread of every segment into one call overflows on long lists.
 */
const balanced = (sql: SqlClient.SqlClient, op: "AND" | "OR", parts: ReadonlyArray<Fragment>): Fragment => {
  const joiner = sql.literal(` ${op} `)
  if (parts.length === 0) return sql.literal(op === "AND" ? "1 = 1" : "1 = 0")
  let level = parts
  while (level.length > 1) {
    const next: Array<Fragment> = []
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? sql`(${level[i]!}${joiner}${level[i + 1]!})` : level[i]!)
    }
    level = next
  }
  return level[0]!
}

/**
 * Whether the value at `path` is one of `values` (`===`, so of the same JSON type): constants by type alone,
 * numbers and strings each as one list, however long.
 */
const anyOf = (sql: SqlClient.SqlClient, d: WhereDialect, path: ReadonlyArray<string>, values: ReadonlyArray<Scalar>) => {
  const tests: Array<Fragment> = []
  for (const constant of [null, true, false]) if (values.includes(constant)) tests.push(d.isConstant(path, constant))
  const numbers = values.filter((v) => typeof v === "number")
  const strings = values.filter((v) => typeof v === "string")
  if (numbers.length > 0) tests.push(d.numberIn(path, numbers))
  if (strings.length > 0) tests.push(d.stringIn(path, strings))
  return balanced(sql, "OR", tests)
}

const ORDER = { gt: ">", gte: ">=", lt: "<", lte: "<=" } as const

/** One comparison as a condition that is never NULL, so that NOT never meets SQL's three-valued logic. */
const leaf = (sql: SqlClient.SqlClient, d: WhereDialect, path: ReadonlyArray<string>, test: Comparison): Fragment => {
  const known = (condition: Fragment) => sql`coalesce(${condition}, false)`
  switch (test.op) {
    case "eq":
      return known(anyOf(sql, d, path, [test.value]))
    case "ne":
      return sql`NOT ${known(anyOf(sql, d, path, [test.value]))}`
    case "in":
      return known(anyOf(sql, d, path, test.values))
    case "nin":
      return sql`NOT ${known(anyOf(sql, d, path, test.values))}`
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return known(
        typeof test.value === "number"
          ? d.numberOrder(path, ORDER[test.op], test.value)
          : d.stringOrder(path, ORDER[test.op], test.value)
      )
    case "exists":
      return test.value ? known(d.exists(path)) : sql`NOT ${known(d.exists(path))}`
    default:
      return exhaustive(test)
  }
}

/**
 * The filter as one SQL condition over alias `m`. It recurses once per level of the tree, which `Where`'s decoding
 * caps (`MAX_DEPTH` levels of `$and`/`$or`/`$not`, each with at most one implicit `$and` of a field's operators).
 */
export const compileWhere = (sql: SqlClient.SqlClient, node: Node, dialect: WhereDialect): Fragment => {
  switch (node._tag) {
    case "Field":
      return leaf(sql, dialect, node.path, node.test)
    case "And":
      return balanced(sql, "AND", node.nodes.map((n) => compileWhere(sql, n, dialect)))
    case "Or":
      return balanced(sql, "OR", node.nodes.map((n) => compileWhere(sql, n, dialect)))
    case "Not":
      return sql`NOT (${compileWhere(sql, node.node, dialect)})`
    default:
      return exhaustive(node)
  }
}
