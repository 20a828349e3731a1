/**
 * The memory commands' options that take structured text: `--expires` (a time to live or an instant) and
 * `--where` (a JSON filter), and how a history event reads in a table.
 *
 * @since 0.1.0
 */
import { Options } from "@effect/cli"
import { DateTime, Duration, Effect, HashMap, Option } from "effect"
import { InvalidInput } from "../Errors.js"
import type { JsonValue } from "../Json.js"
import type { MemoryEvent } from "../MemoryEvent.js"
import type { WhereInput } from "../Where.js"

/** `--expires`: `{ ttl }` for a duration ("30 days"), `{ expiresAt }` for an ISO instant. @category options */
export const parseExpiry = (
  method: string,
  text: string
): Effect.Effect<{ readonly ttl: Duration.Duration } | { readonly expiresAt: DateTime.Utc }, InvalidInput> => {
  const ttl = Duration.decodeUnknown(text)
  if (Option.isSome(ttl)) return Effect.succeed({ ttl: ttl.value })
  // Only ISO 8601 text: `Date` would read "30" as a year.
  const instant = /^\d{4}-\d{2}-\d{2}(T|$)/.test(text) ? DateTime.make(text) : Option.none()
  return Option.match(instant, {
    onSome: (at) => Effect.succeed({ expiresAt: DateTime.toUtc(at) }),
    onNone: () =>
      Effect.fail(new InvalidInput({ method, message: `--expires ${JSON.stringify(text)} is neither a duration ("30 days") nor an ISO time` }))
  })
}

/** `--where '<json>'`: conditions on metadata, e.g. '{"extra.project": "atlas", "extra.priority": {"$gte": 2}}'. @category options */
export const whereOption = Options.text("where").pipe(
  Options.withDescription(`Only memories whose metadata passes this JSON filter, e.g. '{"extra.project": "atlas"}'`),
  Options.optional
)

const isRecord = (u: unknown): u is WhereInput => typeof u === "object" && u !== null && !Array.isArray(u)

/** The `where` search/list option from `--where` (the store validates the filter itself). @category options */
export const parseWhere = (method: string, text: Option.Option<string>) =>
  Option.match(text, {
    onNone: () => Effect.succeed({}),
    onSome: (raw) =>
      Effect.flatMap(
        Effect.try({
          try: (): unknown => JSON.parse(raw),
          catch: () => new InvalidInput({ method, message: "--where must be JSON, e.g. '{\"extra.project\": \"atlas\"}'" })
        }),
        (where) =>
          isRecord(where)
            ? Effect.succeed({ where })
            : Effect.fail(new InvalidInput({ method, message: "--where must be a JSON object of conditions" }))
      )
  })

/** `--meta key=value` (repeatable) and `--extra '<json object>'`: the memory's `extra` metadata. @category options */
export const metaOption = Options.keyValueMap("meta").pipe(
  Options.withDescription(
    "A key=value pair for the memory's extra metadata (repeatable; the value is read as JSON when it is JSON, else as text), " +
      "matched by --where '{\"extra.<key>\": ...}'"
  ),
  Options.optional
)

/** `--extra '<json object>'`. @category options */
export const extraOption = Options.text("extra").pipe(
  Options.withDescription(`The memory's extra metadata as one JSON object, e.g. '{"env": "prod", "priority": 2}' (--meta adds to it)`),
  Options.optional
)

/** A `--meta` value: JSON when it parses as JSON (2, true, null, "x", [1]), else the text itself. */
const metaValue = (text: string): JsonValue => {
  try {
    const value: JsonValue = JSON.parse(text)
    return value
  } catch {
    return text
  }
}

/**
 * The `extra` object from `--extra` and `--meta` (a `--meta` key overrides the same key of `--extra`); the store
 * checks that it is plain JSON.
 *
 * @category options
 */
export const parseExtra = (
  method: string,
  extra: Option.Option<string>,
  meta: Option.Option<HashMap.HashMap<string, string>>
): Effect.Effect<Option.Option<{ readonly [key: string]: JsonValue }>, InvalidInput> =>
  Effect.gen(function*() {
    const base = Option.isSome(extra)
      ? yield* Effect.try({
        try: (): unknown => JSON.parse(extra.value),
        catch: () => new InvalidInput({ method, message: "--extra must be JSON, e.g. '{\"env\": \"prod\"}'" })
      })
      : {}
    if (!isPlainObject(base)) return yield* new InvalidInput({ method, message: "--extra must be a JSON object" })
    const pairs = Option.match(meta, { onNone: () => [], onSome: (m) => Array.from(HashMap.entries(m)) })
    if (Option.isNone(extra) && pairs.length === 0) return Option.none()
    return Option.some({ ...base, ...Object.fromEntries(pairs.map(([k, v]) => [k, metaValue(v)])) })
  })

const isPlainObject = (u: unknown): u is { readonly [key: string]: JsonValue } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** One line of what an event did. @category formatting */
export const eventDetail = (e: MemoryEvent): string => {
  switch (e._tag) {
    case "stored":
      return e.imported === true ? "imported" : ""
    case "updated":
      return e.changes.map((c) => c.field).join(", ")
    case "reinforced":
      return `reinforced ${e.reinforcementCount}x`
    case "superseded":
      return `by ${e.by}${e.retracted === true ? " (retracted)" : ""}${e.validTo !== undefined ? ` (valid to ${DateTime.formatIso(e.validTo)})` : ""}`
    case "retracted":
      return "retracted"
  }
}
