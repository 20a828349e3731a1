/**
 * The dialect-independent half of compiling a `where` tree to SQL: the walk over `Where.Node` and how `$and` /
 * `$or` lists join. Each dialect brings its leaf (one comparison on one path), whose switch over the operators is
 * exhaustive too, so a new node kind or operator fails to compile until every backend handles it.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { Comparison, Node } from "../Where.js"

/** One comparison on one path, as a condition that is never NULL (so NOT never meets three-valued logic). */
export type Leaf = (path: ReadonlyArray<string>, test: Comparison) => Fragment

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
 * The filter as one SQL condition. It recurses once per level of the tree, which `Where`'s decoding caps
 * (`MAX_DEPTH` levels of `$and`/`$or`/`$not`, each with at most one implicit `$and` of a field's operators).
 */
export const compileWhere = (sql: SqlClient.SqlClient, node: Node, leaf: Leaf): Fragment => {
  switch (node._tag) {
    case "Field":
      return leaf(node.path, node.test)
    case "And":
      return balanced(sql, "AND", node.nodes.map((n) => compileWhere(sql, n, leaf)))
    case "Or":
      return balanced(sql, "OR", node.nodes.map((n) => compileWhere(sql, n, leaf)))
    case "Not":
      return sql`NOT (${compileWhere(sql, node.node, leaf)})`
    default:
      return exhaustive(node)
  }
}
