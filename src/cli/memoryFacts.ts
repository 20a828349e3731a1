/**
 * `arawn-store memory facts`: a subject's fact timeline over both time axes, and the instant options that
 * `memory add` takes for a fact's valid interval.
 *
 * @since 0.3.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, DateTime, Effect, Option } from "effect"
import { InvalidInput } from "../Errors.js"
import { Memory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { encode, formatTime, printJson, table, clip } from "./output.js"
import { jsonOutput, withMemories } from "./root.js"

/** An instant given on the command line: ISO 8601 (`2027-03-01`, `2027-03-01T09:00:00Z`). @category parsing */
export const parseInstant = (method: string, flag: string, text: string): Effect.Effect<DateTime.Utc, InvalidInput> =>
  Option.match(Option.filter(DateTime.make(text), () => /^\d{4}-\d{2}-\d{2}/.test(text.trim())), {
    onNone: () => Effect.fail(new InvalidInput({ method, message: `${flag} must be an ISO 8601 instant, e.g. 2027-03-01T09:00:00Z` })),
    onSome: (d) => Effect.succeed(DateTime.toUtc(d))
  })

/** The optional instant of `flag`, parsed. */
export const instantOption = (method: string, flag: string, value: Option.Option<string>) =>
  Effect.transposeOption(Option.map(value, (text) => parseInstant(method, flag, text)))

/** `--valid-from` and `--valid-to` of `memory add`. @category options */
export const validOptions = {
  validFrom: Options.text("valid-from").pipe(
    Options.withDescription("When the claim started to hold (ISO 8601; default: now)"),
    Options.optional
  ),
  validTo: Options.text("valid-to").pipe(
    Options.withDescription("When it stopped holding (ISO 8601, exclusive; default: open, or for a fact the next known change)"),
    Options.optional
  )
}

/** The valid interval `memory add` was given, as NewMemory fields. @category options */
export const validInput = (method: string, o: { readonly validFrom: Option.Option<string>; readonly validTo: Option.Option<string> }) =>
  Effect.map(
    Effect.all([instantOption(method, "--valid-from", o.validFrom), instantOption(method, "--valid-to", o.validTo)]),
    ([from, to]) => ({
      ...(Option.isSome(from) ? { validFrom: from.value } : {}),
      ...(Option.isSome(to) ? { validTo: to.value } : {})
    })
  )

/** `arawn-store memory facts`. @category commands */
export const facts = Command.make("facts", {
  subject: Args.text({ name: "subject" }).pipe(Args.withDescription("The facts' subject, e.g. user.plan")),
  predicate: Options.text("predicate").pipe(Options.withDescription("Only this predicate"), Options.optional),
  asOf: Options.text("as-of").pipe(
    Options.withDescription("Only the facts that held in the world at this instant (ISO 8601; default: the whole timeline)"),
    Options.optional
  ),
  knownAt: Options.text("known-at").pipe(
    Options.withDescription("As the store knew it at this instant (ISO 8601; default: now)"),
    Options.optional
  )
}, (o) =>
  withMemories("read")(Effect.gen(function*() {
    const method = "memory facts"
    const valid = yield* instantOption(method, "--as-of", o.asOf)
    const recorded = yield* instantOption(method, "--known-at", o.knownAt)
    const entries = yield* (yield* MemoryBackend).facts(o.subject, {
      ...(Option.isSome(o.predicate) ? { predicate: o.predicate.value } : {}),
      asOf: { ...(Option.isSome(valid) ? { valid: valid.value } : {}), ...(Option.isSome(recorded) ? { recorded: recorded.value } : {}) }
    })
    if (yield* jsonOutput) {
      return yield* printJson(yield* Effect.forEach(entries, (e) =>
        Effect.map(encode(Memory, e.memory), (memory) => ({
          validFrom: DateTime.formatIso(e.validFrom),
          validTo: e.validTo === undefined ? null : DateTime.formatIso(e.validTo),
          recordedAt: DateTime.formatIso(e.recordedAt),
          memory
        }))))
    }
    yield* Console.log(entries.length === 0 ? "no facts" : table(
      ["predicate", "valid from", "valid to", "recorded", "current", "content", "id"],
      entries.map((e) => [
        e.memory.metadata.predicate ?? "",
        formatTime(e.validFrom),
        e.validTo === undefined ? "-" : formatTime(e.validTo),
        formatTime(e.recordedAt),
        e.memory.confidence.superseded ? "" : "yes",
        clip(e.memory.content, 48),
        e.memory.id
      ])
    ))
  }))).pipe(Command.withDescription("A subject's facts over time: when each held (--as-of) and as known when (--known-at)"))
