import { Effect, ParseResult, Schema } from "effect"
import { InvalidInput } from "../Errors.js"

/** One line a person can act on, naming the field when the issue is nested. */
export const formatIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)
    .join("; ")

/** Decodes caller input, turning a schema failure into `InvalidInput` for `method`. */
export const decodeInput = <A, I>(schema: Schema.Schema<A, I, never>, method: string) => {
  const decode = Schema.decodeUnknown(schema, { errors: "all", onExcessProperty: "ignore" })
  return (input: unknown): Effect.Effect<A, InvalidInput> =>
    Effect.mapError(decode(input), (error) => new InvalidInput({ method, message: formatIssues(error) }))
}

/** Fails with `InvalidInput` for `method` when `ok` is false. */
export const require = (ok: boolean, method: string, message: () => string): Effect.Effect<void, InvalidInput> =>
  ok ? Effect.void : Effect.fail(new InvalidInput({ method, message: message() }))
