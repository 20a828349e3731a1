import { MAX_DEPTH } from "../../Json.js"

/** Why a free-form field cannot be stored, with the path at which it broke the rule. */
export class NotJson {
  readonly path: Array<string> = []
  constructor(readonly rule: string) {}
  get message(): string {
    return `${this.path.slice(0, 4).join(".")}: ${this.rule}`
  }
}

const TOO_DEEP = `must be nested at most ${MAX_DEPTH} levels deep (a cyclic value never is)`
const BIGINT = "must be JSON-encodable (a BigInt is not)"

/** What `JSON.stringify` does with an object before looking at it: `toJSON`, then unboxing. */
const prepared = (value: object, key: string): unknown => {
  const toJSON: unknown = Reflect.get(value, "toJSON")
  const out: unknown = typeof toJSON === "function" ? toJSON.call(value, key) : value
  if (out instanceof Number) return Number(out)
  if (out instanceof String) return String(out)
  if (out instanceof Boolean) return out.valueOf()
  return out
}

/** `form` of one nested value; a failure below it learns the key it sits under on the way out. */
const nested = (value: unknown, key: string, depth: number): unknown => {
  try {
    return form(value, key, depth)
  } catch (e) {
    if (e instanceof NotJson) e.path.unshift(key)
    throw e
  }
}

/**
 * The value `JSON.parse(JSON.stringify(value))` would give (undefined where stringify omits a property), built in
 * one walk that stops at `MAX_DEPTH`: a cyclic or pathologically deep value is refused instead of overflowing the
 * stack, and nothing of the input is shared with the result.
 */
const form = (input: unknown, key: string, depth: number): unknown => {
  const value = typeof input === "object" && input !== null ? prepared(input, key) : input
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      // JSON has no -0, NaN or Infinity: stringify writes 0 and null.
      return Number.isFinite(value) ? value + 0 : null
    case "bigint":
      throw new NotJson(BIGINT)
    case "object":
      break
    default:
      return undefined
  }
  if (value === null) return null
  if (depth >= MAX_DEPTH) throw new NotJson(TOO_DEEP)
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length)
    for (let i = 0; i < value.length; i++) out[i] = nested(value[i], String(i), depth + 1) ?? null
    return out
  }
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    const v = nested(Reflect.get(value, k), k, depth + 1)
    if (v === undefined) continue
    // JSON.parse makes "__proto__" an ordinary key; assigning it would set the copy's prototype instead.
    if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true })
    else out[k] = v
  }
  return out
}

/**
 * The JSON form of a free-form field (what the JSON codec, and so Redis, keeps of it) as a fresh value, or the
 * rule it breaks: nesting past `MAX_DEPTH` (cycles included) or a BigInt. The field itself is depth 0, as for
 * `Json.JsonValue`; sessions set no size limit of their own.
 */
export const jsonForm = (value: unknown): unknown => form(value, "", 0)

/** A copy of a value already in JSON form (as `jsonForm` made it, or `JSON.parse` read it). */
export const copyJson = (value: unknown): unknown => {
  if (typeof value !== "object" || value === null) return value
  if (Array.isArray(value)) return value.map(copyJson)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) {
    const copied = copyJson(Reflect.get(value, key))
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true })
    } else {
      out[key] = copied
    }
  }
  return out
}

/** The path at which a value read back from storage nests past `MAX_DEPTH`, or undefined. */
export const tooDeep = (value: unknown, depth: number, path: Array<string>): ReadonlyArray<string> | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  if (depth >= MAX_DEPTH) return [...path]
  for (const key of Array.isArray(value) ? value.keys() : Object.keys(value)) {
    path.push(String(key))
    const found = tooDeep(Reflect.get(value, key), depth + 1, path)
    path.pop()
    if (found !== undefined) return found
  }
  return undefined
}
