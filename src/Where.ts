/**
 * Metadata filters with operators: `where` conditions over a memory's typed metadata fields and its free-form
 * `extra` object, applied by `search`, `list` and `count` before any limit. Real backends compile them to SQL;
 * `matches` is the reference every backend agrees with. Decoding enforces the caps below, so no filter's size
 * reaches a backend as a storage error.
 *
 * Paths: a field name is a typed field (`subject`) or `extra.` and 1 to `MAX_PATH_KEYS` keys joined by dots. A key
 * is 1 to `MAX_KEY_LENGTH` ASCII letters, digits, `_` or `-`, always the name of an object member, read as it is
 * written: `extra.null` and `extra.NULL` are the members `"null"` and `"NULL"` (never SQL NULL), `extra.list.0` and
 * `extra.list.-1` are members `"0"` and `"-1"` (never array elements, so inside an array they are missing), `01` is
 * not `1`. There is no escaping: a dot always separates keys, so a stored key holding a dot, other characters (é) or
 * nothing at all cannot be named by a path, and a path through such a member is missing.
 *
 * Values: a condition compares scalars by JSON type and value (`===`): 1 is not "1", true is not 1, JSON null is a
 * value (`$exists: true`, `$eq: null`) unlike a missing member. Arrays and objects equal no operand, and an array
 * is never searched for an element (`{ "extra.tags": "a" }` does not match `{ tags: ["a"] }`).
 *
 * @since 0.1.0
 */
import { absurd, Either, ParseResult, Schema } from "effect"
import { isStorableText } from "./Json.js"

/** A JSON scalar: what conditions compare. @category models */
export type Scalar = string | number | boolean | null

/** The typed metadata fields a condition may name; `extra.<key>[.<key>...]` names a value inside `extra`. @category models */
export const FIELDS = ["subject", "predicate", "sourcePath", "sourceUrl", "toolName"] as const

/**
 * One comparison on one field. Every switch over the operators (`matches`, and the one SQL compiler every SQL
 * backend shares) is exhaustive, so an operator added here fails to compile until each of them handles it.
 *
 * @category models
 */
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

/** Most comparisons in one filter: each operator on a field counts one (`$in` too, whatever its length). @category limits */
export const MAX_CONDITIONS = 1_000

/** Most operand values in one filter: every `$in`/`$nin` element and every other operand counts one. @category limits */
export const MAX_VALUES = 10_000

/** Deepest nesting of `$and`, `$or` and `$not` inside one another. @category limits */
export const MAX_DEPTH = 16

/** Longest string operand, in UTF-16 code units (4 KiB of ASCII). @category limits */
export const MAX_STRING_LENGTH = 4_096

/** Most string operand characters in one filter, all together (1 MiB, as much as one free-form metadata value). @category limits */
export const MAX_TEXT_LENGTH = 1_048_576

/** Most keys after `extra.` in a field path (`extra.a.b.c.d.e.f.g.h`). @category limits */
export const MAX_PATH_KEYS = 8

/** Longest key of a field path, in ASCII characters (letters, digits, `_`, `-`). @category limits */
export const MAX_KEY_LENGTH = 64

const KEY = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_KEY_LENGTH}}$`)
const COMPARISONS = new Set(["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists"])

const isScalar = (u: unknown): u is Scalar =>
  u === null || typeof u === "string" || typeof u === "boolean" || (typeof u === "number" && Number.isFinite(u))

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * What a filter has used of the caps so far. Parsing counts as it goes and stops at the first cap passed, so a
 * filter of any size or depth costs at most a cap's worth of work (and never a deep recursion) before it fails.
 */
interface Budget {
  conditions: number
  values: number
  text: number
}

/** The JSON path of a field name: a typed field, or `extra.` followed by 1-8 keys of letters, digits, `_`, `-`. */
const fieldPath = (name: string): Either.Either<ReadonlyArray<string>, string> => {
  if ((FIELDS as ReadonlyArray<string>).includes(name)) return Either.right([name])
  // Checked before splitting, so a megabyte of field name is refused without being cut into a million keys.
  const parts = name.length <= "extra".length + MAX_PATH_KEYS * (MAX_KEY_LENGTH + 1) ? name.split(".") : []
  if (
    parts[0] === "extra" && parts.length >= 2 && parts.length <= MAX_PATH_KEYS + 1 && parts.slice(1).every((p) => KEY.test(p))
  ) {
    return Either.right(parts)
  }
  if (parts[0] === "extra" && parts.length > MAX_PATH_KEYS + 1 && parts.slice(1).every((p) => KEY.test(p))) {
    return Either.left(
      `field ${JSON.stringify(name)} is ${parts.length - 1} keys deep: extra.<key> takes at most ${MAX_PATH_KEYS} keys`
    )
  }
  return Either.left(
    `unknown field ${JSON.stringify(name.slice(0, 100))}: use ${FIELDS.join(", ")} or extra.<key> (1 to ` +
      `${MAX_PATH_KEYS} keys of 1 to ${MAX_KEY_LENGTH} letters, digits, _ and -, joined by dots)`
  )
}

/** Why the operand `u` breaks a value rule, or undefined when it keeps them all (and is then counted). */
const overCap = (u: string | number | boolean | null, budget: Budget): string | undefined => {
  if (++budget.values > MAX_VALUES) return `a filter holds at most ${MAX_VALUES} values in all`
  if (typeof u !== "string") return undefined
  if (u.length > MAX_STRING_LENGTH) return `a string value is at most ${MAX_STRING_LENGTH} characters`
  if ((budget.text += u.length) > MAX_TEXT_LENGTH) return `a filter's strings are at most ${MAX_TEXT_LENGTH} characters in all`
  // Stored metadata never holds these (see Json.Text), so such a value could only ever mean a storage error.
  return isStorableText(u) ? undefined : "a string value must be well-formed Unicode without NUL characters"
}

const ORDERED = { $gt: "gt", $gte: "gte", $lt: "lt", $lte: "lte" } as const

const inList = (value: unknown, budget: Budget, bad: (rule: string) => string): Either.Either<ReadonlyArray<Scalar>, string> => {
  const rule = bad("takes a non-empty array of strings, numbers, booleans or nulls")
  if (!Array.isArray(value) || value.length === 0) return Either.left(rule)
  if (value.length > MAX_VALUES - budget.values) return Either.left(bad(`takes at most ${MAX_VALUES} values in one filter`))
  const values: Array<Scalar> = []
  for (const v of value) {
    if (!isScalar(v)) return Either.left(rule)
    const over = overCap(v, budget)
    if (over !== undefined) return Either.left(bad(over))
    values.push(v)
  }
  return Either.right(values)
}

/** The operand, counted against the caps. */
const counted = <A extends Scalar>(value: A, budget: Budget, bad: (rule: string) => string): Either.Either<A, string> => {
  const over = overCap(value, budget)
  return over === undefined ? Either.right(value) : Either.left(bad(over))
}

const comparison = (field: string, op: string, value: unknown, budget: Budget): Either.Either<Comparison, string> => {
  const bad = (rule: string) => `${field}: ${op} ${rule}`
  if (++budget.conditions > MAX_CONDITIONS) return Either.left(`a filter holds at most ${MAX_CONDITIONS} conditions`)
  switch (op) {
    case "$eq":
    case "$ne":
      return isScalar(value)
        ? Either.map(counted(value, budget, bad), (v): Comparison => ({ op: op === "$eq" ? "eq" : "ne", value: v }))
        : Either.left(bad("takes a string, number, boolean or null"))
    case "$in":
    case "$nin":
      return Either.map(inList(value, budget, bad), (values): Comparison => ({ op: op === "$in" ? "in" : "nin", values }))
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return (typeof value === "number" && Number.isFinite(value)) || typeof value === "string"
        ? Either.map(counted(value, budget, bad), (v): Comparison => ({ op: ORDERED[op], value: v }))
        : Either.left(bad("takes a number or a string"))
    case "$exists":
      return typeof value === "boolean" ? Either.right({ op: "exists", value }) : Either.left(bad("takes true or false"))
    default:
      return Either.left(
        `${field}: unknown operator ${JSON.stringify(op.slice(0, 100))} (use ${Array.from(COMPARISONS).join(", ")})`
      )
  }
}

const fieldNode = (name: string, condition: unknown, budget: Budget): Either.Either<Node, string> =>
  Either.flatMap(fieldPath(name), (path): Either.Either<Node, string> => {
    if (!isRecord(condition)) {
      return isScalar(condition)
        ? Either.map(comparison(name, "$eq", condition, budget), (test): Node => ({ _tag: "Field", path, test }))
        : Either.left(`${name}: a condition is a string, number, boolean, null or an object of operators`)
    }
    const tests: Array<Node> = []
    for (const op in condition) {
      if (!Object.hasOwn(condition, op)) continue
      const test = comparison(name, op, condition[op], budget)
      if (Either.isLeft(test)) return Either.left(test.left)
      tests.push({ _tag: "Field", path, test: test.right })
    }
    if (tests.length === 0) return Either.left(`${name}: an operator object needs at least one operator`)
    return Either.right(tests.length === 1 ? tests[0]! : { _tag: "And", nodes: tests })
  })

const list = (op: string, u: unknown, depth: number, budget: Budget): Either.Either<ReadonlyArray<Node>, string> => {
  if (!Array.isArray(u) || u.length === 0) return Either.left(`${op} takes a non-empty array of filters`)
  // Each filter of the list holds a condition at least: a longer list passes the cap whatever it holds.
  if (u.length > MAX_CONDITIONS - budget.conditions) return Either.left(`a filter holds at most ${MAX_CONDITIONS} conditions`)
  const nodes: Array<Node> = []
  for (const item of u) {
    const node = parseAt(item, depth, budget)
    if (Either.isLeft(node)) return Either.left(node.left)
    nodes.push(node.right)
  }
  return Either.right(nodes)
}

const TOO_DEEP = `$and, $or and $not nest at most ${MAX_DEPTH} levels deep`

/** One `where` object at `depth` levels of `$and`/`$or`/`$not` (0 at the top), its caps counted in `budget`. */
const parseAt = (u: unknown, depth: number, budget: Budget): Either.Either<Node, string> => {
  if (!isRecord(u)) return Either.left("where must be an object of field conditions")
  const nodes: Array<Node> = []
  for (const key in u) {
    if (!Object.hasOwn(u, key)) continue
    const value = u[key]
    const logical = key === "$and" || key === "$or" || key === "$not"
    if (logical && depth >= MAX_DEPTH) return Either.left(TOO_DEEP)
    const node = key === "$and"
      ? Either.map(list("$and", value, depth + 1, budget), (ns): Node => ({ _tag: "And", nodes: ns }))
      : key === "$or"
      ? Either.map(list("$or", value, depth + 1, budget), (ns): Node => ({ _tag: "Or", nodes: ns }))
      : key === "$not"
      ? Either.map(parseAt(value, depth + 1, budget), (n): Node => ({ _tag: "Not", node: n }))
      : key.startsWith("$")
      ? Either.left(`unknown operator ${JSON.stringify(key.slice(0, 100))} (use $and, $or or $not, or a field name)`)
      : fieldNode(key, value, budget)
    if (Either.isLeft(node)) return node
    nodes.push(node.right)
  }
  if (nodes.length === 0) return Either.left("where must name at least one condition")
  return Either.right(nodes.length === 1 ? nodes[0]! : { _tag: "And", nodes })
}

/**
 * Parses a `where` object into its tree, or says which field, operator or cap is broken: at most `MAX_CONDITIONS`
 * comparisons, `MAX_VALUES` operand values, `MAX_DEPTH` levels of `$and`/`$or`/`$not`, string operands of at most
 * `MAX_STRING_LENGTH` characters (`MAX_TEXT_LENGTH` together) without NUL, paths of at most `MAX_PATH_KEYS` keys.
 *
 * @category parsing
 */
export const parse = (u: unknown): Either.Either<Node, string> => parseAt(u, 0, { conditions: 0, values: 0, text: 0 })

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
 * and a `$not` around a failing one (a member holding JSON null is present, and passes `$eq: null`); arrays and
 * objects only ever pass `$exists`, `$ne` and `$nin`, whatever they hold; each path key names an object member,
 * never an array element (`extra.list.0` inside `[5]` is missing), and a path through a scalar is missing.
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
        default:
          return absurd(t)
      }
    }
    default:
      return absurd(node)
  }
}
