/**
 * Metadata filters with operators: `where` conditions over a memory's typed metadata fields and its free-form
 * `extra` object, applied by `search`, `list` and `count` before any limit. Real backends compile them to SQL.
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Schema } from "effect"

/** A JSON scalar: what conditions compare. @category models */
export type Scalar = string | number | boolean | null

/** The typed metadata fields a condition may name; `extra.<key>[.<key>...]` names a value inside `extra`. @category models */
export const FIELDS = ["subject", "predicate", "sourcePath", "sourceUrl", "toolName"] as const

/** One comparison on one field. @category models */
export type Comparison =
  | { readonly op: "eq" | "ne"; readonly value: Scalar }
  | { readonly op: "in" | "nin"; readonly values: ReadonlyArray<Scalar> }
  | { readonly op: "gt" | "gte" | "lt" | "lte"; readonly value: number | string }
  | { readonly op: "exists"; readonly value: boolean }

/** A decoded filter: a tree of field conditions joined by and / or / not. @category models */
export type Node =
  | { readonly _tag: "Field"; readonly path: ReadonlyArray<string>; readonly test: Comparison }
  | { readonly _tag: "And"; readonly nodes: ReadonlyArray<Node> }
  | { readonly _tag: "Or"; readonly nodes: ReadonlyArray<Node> }
  | { readonly _tag: "Not"; readonly node: Node }

/** What a caller writes: `{ "extra.color": "red", "extra.size": { $gt: 3 }, $or: [...] }`. @category inputs */
export type WhereInput = { readonly [key: string]: unknown }

const KEY = /^[A-Za-z0-9_-]{1,64}$/
const COMPARISONS = new Set(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists"])

const isScalar = (u: unknown): u is Scalar =>
  u === null || typeof u === "string" || typeof u === "boolean" || (typeof u === "number" && Number.isFinite(u))

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** The JSON path of a field name: a typed field, or `extra.` followed by 1-8 keys of letters, digits, `_`, `-`. */
const fieldPath = (name: string): Either.Either<ReadonlyArray<string>, string> => {
  if ((FIELDS as ReadonlyArray<string>).includes(name)) return Either.right([name])
  const parts = name.split(".")
  if (parts[0] === "extra" && parts.length >= 2 && parts.length <= 9 && parts.slice(1).every((p) => KEY.test(p))) {
    return Either.right(parts)
  }
  if (parts[0] === "extra" && parts.length > 9 && parts.slice(1).every((p) => KEY.test(p))) {
    return Either.left(`field ${JSON.stringify(name)} is ${parts.length - 1} keys deep: extra.<key> takes at most 8 keys`)
  }
  return Either.left(
    `unknown field ${JSON.stringify(name)}: use ${FIELDS.join(", ")} or extra.<key> (keys of letters, digits, _ and -)`
  )
}

const ORDERED = { $gt: "gt", $gte: "gte", $lt: "lt", $lte: "lte" } as const

const comparison = (field: string, op: string, value: unknown): Either.Either<Comparison, string> => {
  const bad = (rule: string) => Either.left(`${field}: ${op} ${rule}`)
  switch (op) {
    case "$eq":
    case "$ne":
      return isScalar(value) ? Either.right({ op: op === "$eq" ? "eq" : "ne", value }) : bad("takes a string, number, boolean or null")
    case "$in":
    case "$nin":
      return Array.isArray(value) && value.length > 0 && value.every(isScalar)
        ? Either.right({ op: op === "$in" ? "in" : "nin", values: value })
        : bad("takes a non-empty array of strings, numbers, booleans or nulls")
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return (typeof value === "number" && Number.isFinite(value)) || typeof value === "string"
        ? Either.right({ op: ORDERED[op], value })
        : bad("takes a number or a string")
    case "$exists":
      return typeof value === "boolean" ? Either.right({ op: "exists", value }) : bad("takes true or false")
    default:
      return Either.left(`${field}: unknown operator ${JSON.stringify(op)} (use ${Array.from(COMPARISONS).join(", ")})`)
  }
}

const fieldNode = (name: string, condition: unknown): Either.Either<Node, string> =>
  Either.flatMap(fieldPath(name), (path): Either.Either<Node, string> => {
    if (!isRecord(condition)) {
      return isScalar(condition)
        ? Either.right({ _tag: "Field", path, test: { op: "eq", value: condition } })
        : Either.left(`${name}: a condition is a string, number, boolean, null or an object of operators`)
    }
    const entries = Object.entries(condition)
    if (entries.length === 0) return Either.left(`${name}: an operator object needs at least one operator`)
    const tests: Array<Node> = []
    for (const [op, value] of entries) {
      const test = comparison(name, op, value)
      if (Either.isLeft(test)) return Either.left(test.left)
      tests.push({ _tag: "Field", path, test: test.right })
    }
    return Either.right(tests.length === 1 ? tests[0]! : { _tag: "And", nodes: tests })
  })

const list = (op: string, u: unknown): Either.Either<ReadonlyArray<Node>, string> => {
  if (!Array.isArray(u) || u.length === 0) return Either.left(`${op} takes a non-empty array of filters`)
  const nodes: Array<Node> = []
  for (const item of u) {
    const node = parse(item)
    if (Either.isLeft(node)) return Either.left(node.left)
    nodes.push(node.right)
  }
  return Either.right(nodes)
}

/** Parses a `where` object into its tree, or says which field or operator is wrong. @category parsing */
export const parse = (u: unknown): Either.Either<Node, string> => {
  if (!isRecord(u)) return Either.left("where must be an object of field conditions")
  const nodes: Array<Node> = []
  for (const [key, value] of Object.entries(u)) {
    const node = key === "$and"
      ? Either.map(list("$and", value), (ns): Node => ({ _tag: "And", nodes: ns }))
      : key === "$or"
      ? Either.map(list("$or", value), (ns): Node => ({ _tag: "Or", nodes: ns }))
      : key === "$not"
      ? Either.map(parse(value), (n): Node => ({ _tag: "Not", node: n }))
      : key.startsWith("$")
      ? Either.left(`unknown operator ${JSON.stringify(key)} (use $and, $or or $not, or a field name)`)
      : fieldNode(key, value)
    if (Either.isLeft(node)) return node
    nodes.push(node.right)
  }
  if (nodes.length === 0) return Either.left("where must name at least one condition")
  return Either.right(nodes.length === 1 ? nodes[0]! : { _tag: "And", nodes })
}

const isNode = (u: unknown): u is Node => isRecord(u) && typeof u["_tag"] === "string"

/**
 * The `where` option: decodes caller input (any JSON object of conditions) into a `Node`; a bad field name,
 * operator or operand is a decode failure naming it.
 *
 * @category schemas
 */
export const Where: Schema.Schema<Node, WhereInput> = Schema.transformOrFail(
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  Schema.declare(isNode, { identifier: "WhereNode" }),
  {
    strict: true,
    decode: (input, _, ast) =>
      Either.match(parse(input), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, input, message)),
        onRight: ParseResult.succeed
      }),
    encode: (node, _, ast) => ParseResult.fail(new ParseResult.Forbidden(ast, node, "a where filter is decoded only"))
  }
)

/** The value at `path` inside a memory's metadata object (undefined when absent). @category evaluation */
const valueAt = (metadata: unknown, path: ReadonlyArray<string>): unknown => {
  let v: unknown = metadata
  for (const key of path) {
    if (!isRecord(v) || !Object.hasOwn(v, key)) return undefined
    v = v[key]
  }
  return v
}

/** Code point order, as SQLite's and PostgreSQL's C-collated comparisons of UTF-8 text. */
const compareText = (a: string, b: string): number => {
  const x = Array.from(a)
  const y = Array.from(b)
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!
    if (d !== 0) return d
  }
  return x.length - y.length
}

const sameScalar = (v: unknown, s: Scalar): boolean => v === s

const ordered = (v: unknown, operand: number | string, accept: (c: number) => boolean): boolean =>
  typeof operand === "number"
    ? typeof v === "number" && accept(v - operand)
    : typeof v === "string" && accept(compareText(v, operand))

/**
 * Whether `metadata` (a memory's metadata object) passes the filter. The rules every backend follows: values match
 * only a condition of their own JSON type (1 is not "1", true is not 1); `$gt`-style comparisons order numbers
 * numerically and strings by code point; a missing field fails every condition but `$ne`, `$nin`, `$exists: false`
 * and a `$not` around a failing one; arrays and objects only ever pass `$exists`, `$ne` and `$nin`.
 *
 * @category evaluation
 */
export const matches = (node: Node, metadata: unknown): boolean => {
  switch (node._tag) {
    case "And":
      return node.nodes.every((n) => matches(n, metadata))
    case "Or":
      return node.nodes.some((n) => matches(n, metadata))
    case "Not":
      return !matches(node.node, metadata)
    case "Field": {
      const v = valueAt(metadata, node.path)
      const t = node.test
      switch (t.op) {
        case "eq":
          return sameScalar(v, t.value)
        case "ne":
          return !sameScalar(v, t.value)
        case "in":
          return t.values.some((s) => sameScalar(v, s))
        case "nin":
          return !t.values.some((s) => sameScalar(v, s))
        case "gt":
          return ordered(v, t.value, (c) => c > 0)
        case "gte":
          return ordered(v, t.value, (c) => c >= 0)
        case "lt":
          return ordered(v, t.value, (c) => c < 0)
        case "lte":
          return ordered(v, t.value, (c) => c <= 0)
        case "exists":
          return (v !== undefined) === t.value
      }
    }
  }
}
