/**
 * JSON values: what every backend can store and give back unchanged (free-form metadata of memories and messages).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A JSON value. @category models */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue }

/** A JSON object. @category models */
export type JsonObject = { readonly [key: string]: JsonValue }

/**
 * Deepest nesting accepted (an object or array inside another counts one level). Deeper values are refused
 * rather than walked: a cyclic value, or one nested thousands deep, would otherwise overflow the stack.
 *
 * @category limits
 */
export const MAX_DEPTH = 64

/** Longest JSON text accepted for one free-form value, in UTF-16 code units (1 MiB). @category limits */
export const MAX_JSON_LENGTH = 1024 * 1024

/** A UTF-16 surrogate without its partner: text no Unicode encoding can store. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Whether every backend stores `s` exactly: no NUL character and no lone surrogate. SQLite would keep either, but
 * PostgreSQL refuses NUL in text and jsonb, and UTF-8 storage turns a lone surrogate into a replacement character.
 *
 * @category guards
 */
export const isStorableText = (s: string): boolean => !s.includes("\u0000") && !LONE_SURROGATE.test(s)

/** A string every backend stores exactly (see `isStorableText`). @category schemas */
export const Text = Schema.String.pipe(
  Schema.filter((s) => isStorableText(s) || "must be well-formed Unicode without NUL characters")
)

/** Whether content says something: not empty and not only white space. @category guards */
export const hasContent = (s: string): boolean => s.trim().length > 0

/**
 * The one rule for stored content (memories and messages): at most `max` UTF-16 code units, refused beyond rather
 * than truncated. Every read of such content costs its length, so each kind of content has its cap.
 *
 * @category schemas
 */
export const ContentWithin = (max: number) =>
  Schema.String.pipe(Schema.filter((s) => s.length <= max || `content must be at most ${max} characters (it has ${s.length})`))

const isPlainObject = (u: unknown): u is { readonly [key: string]: unknown } => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Why `u` is not a JSON value within the limits, or undefined when it is one. */
const problem = (u: unknown, depth: number): string | undefined => {
  if (u === null || typeof u === "boolean") return undefined
  if (typeof u === "string") return isStorableText(u) ? undefined : NOT_TEXT
  if (typeof u === "number") return Number.isFinite(u) ? undefined : NOT_JSON
  const keys = isPlainObject(u) ? Object.keys(u) : []
  const nested = Array.isArray(u) ? u : isPlainObject(u) ? Object.values(u) : undefined
  if (nested === undefined) return NOT_JSON
  if (depth >= MAX_DEPTH) return TOO_DEEP
  if (keys.some((k) => !isStorableText(k))) return NOT_TEXT
  for (const v of nested) {
    const p = problem(v, depth + 1)
    if (p !== undefined) return p
  }
  return undefined
}

const NOT_JSON = "must be JSON: null, a boolean, a finite number, a string, an array or a plain object of those " +
  "(no Date, BigInt, NaN, Infinity or undefined)"
const NOT_TEXT = "must hold only well-formed Unicode strings without NUL characters (keys included)"
const TOO_DEEP = `must be nested at most ${MAX_DEPTH} levels deep (a cyclic value never is)`
const TOO_LONG = `must be at most ${MAX_JSON_LENGTH} characters as JSON text`

/** The rule `u` breaks as a free-form JSON value (kind, depth, size), or undefined when it keeps them all. */
const violation = (u: unknown, object: boolean): string | undefined => {
  if (object && !isPlainObject(u)) return "must be a plain object of JSON values"
  const p = problem(u, 0)
  if (p !== undefined) return p
  return JSON.stringify(u).length > MAX_JSON_LENGTH ? TOO_LONG : undefined
}

/**
 * A JSON value: null, a boolean, a finite number, a string, an array or a plain object of JSON values, nested at
 * most `MAX_DEPTH` deep and at most `MAX_JSON_LENGTH` long as text. A Date, a class instance, BigInt, NaN or
 * undefined is not one (JSON would drop or change it silently).
 *
 * @category schemas
 */
export const JsonValue: Schema.Schema<JsonValue> = Schema.declare(
  (u: unknown): u is JsonValue => violation(u, false) === undefined,
  { identifier: "JsonValue", message: (issue) => violation(issue.actual, false) ?? NOT_JSON }
)

/** A JSON object within the same limits, for free-form metadata. @category schemas */
export const JsonObject: Schema.Schema<JsonObject> = Schema.declare(
  (u: unknown): u is JsonObject => violation(u, true) === undefined,
  { identifier: "JsonObject", message: (issue) => violation(issue.actual, true) ?? NOT_JSON }
)

/** `JSON.parse`, typed: whatever it returns is a JSON value. @category parsing */
export const parse = (text: string): JsonValue => JSON.parse(text)

/** Whether a JSON value is an object (not an array or null). @category guards */
export const isObject = (value: JsonValue | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)
