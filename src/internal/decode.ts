import { Effect, ParseResult, Schema } from "effect"
import { InvalidInput } from "../Errors.js"

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

/** Decodes caller input, turning a schema failure into `InvalidInput` for `method`. */
export const decodeInput = <A, I>(schema: Schema.Schema<A, I, never>, method: string) => {
  const decode = Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "ignore" })
  return (input: unknown): Effect.Effect<A, InvalidInput> =>
    Effect.mapError(decode(input), (error) => new InvalidInput({ method, message: formatIssues(error) }))
}

/** Fails with `InvalidInput` for `method` when `ok` is false. */
export const require = (ok: boolean, method: string, message: () => string): Effect.Effect<void, InvalidInput> =>
  ok ? Effect.void : Effect.fail(new InvalidInput({ method, message: message() }))
