import { Effect, Either, ParseResult, Schema } from "effect"
import { InvalidInput } from "../Errors.js"
import { MAX_DEPTH } from "../Json.js"

/** One line a person can act on, naming the field when the issue is nested. */
export const formatIssues = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const at = (issue: { readonly path: ReadonlyArray<PropertyKey> }) => issue.path.map(String).join(".")
  // An optional field is a union with `undefined`; its "Expected undefined" alternative restates nothing useful
  // beside the real rule the value broke.
  const useful = issues.filter((issue) =>
    !(issue.message.startsWith("Expected undefined") &&
      issues.some((o) => o !== issue && (at(o) === at(issue) || at(o).startsWith(`${at(issue)}.`))))
  )
  return Array.from(new Set(useful.map((issue) => issue.path.length === 0 ? issue.message : `${at(issue)}: ${issue.message}`)))
    .join("; ")
}

/**
 * Inputs nest a few levels around their free-form JSON fields, which the schemas limit to `MAX_DEPTH`; anything
 * deeper than both together is refused before decoding, because a schema's error message prints the value it
 * rejected and printing a value nested thousands deep overflows the stack.
 */
const INPUT_DEPTH = MAX_DEPTH + 16

/** The path at which `u` nests deeper than `INPUT_DEPTH`, or undefined. Cycles count as endless nesting. */
const tooDeep = (u: object, depth: number, path: Array<string>): ReadonlyArray<string> | undefined => {
  if (depth >= INPUT_DEPTH) return path
  // Typed arrays (embeddings) and other binary views hold numbers only.
  if (ArrayBuffer.isView(u)) return undefined
  for (const key of Array.isArray(u) ? u.keys() : Object.keys(u)) {
    const v: unknown = Reflect.get(u, key)
    if (typeof v !== "object" || v === null) continue
    path.push(String(key))
    const found = tooDeep(v, depth + 1, path)
    if (found !== undefined) return found
    path.pop()
  }
  return undefined
}

/** `InvalidInput` for an input nested past any limit (or cyclic), before a schema sees it. */
export const depthProblem = (input: unknown): string | undefined => {
  const path = typeof input === "object" && input !== null ? tooDeep(input, 0, []) : undefined
  return path === undefined ? undefined : `${path.slice(0, 3).join(".")}: must be nested at most ${MAX_DEPTH} levels deep (a cyclic value never is)`
}

/** Decodes caller input, turning a schema failure into `InvalidInput` for `method`. */
export const decodeInput = <A, I>(schema: Schema.Schema<A, I, never>, method: string) => {
  const decode = decodeEither(schema)
  return (input: unknown): Effect.Effect<A, InvalidInput> => {
    const decoded = decode(input)
    return Either.isRight(decoded)
      ? Effect.succeed(decoded.right)
      : Effect.fail(new InvalidInput({ method, message: decoded.left }))
  }
}

/** Synchronous decoding with the same rules and messages as `decodeInput`, for per-item loops over batches. */
export const decodeEither = <A, I>(schema: Schema.Schema<A, I, never>) => {
  const decode = Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })
  return (input: unknown): Either.Either<A, string> => {
    const deep = depthProblem(input)
    if (deep !== undefined) return Either.left(deep)
    return Either.mapLeft(decode(input), formatIssues)
  }
}

/** Fails with `InvalidInput` for `method` when `ok` is false. */
export const require = (ok: boolean, method: string, message: () => string): Effect.Effect<void, InvalidInput> =>
  ok ? Effect.void : Effect.fail(new InvalidInput({ method, message: message() }))
