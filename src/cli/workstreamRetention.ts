/**
 * `arawn-store workstream prune` and `arawn-store workstream retention set|show|clear`: retention policies per
 * workstream or tag, and the prune that applies them.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { InvalidInput } from "../Errors.js"
import type { RetentionTarget } from "../WorkstreamRetention.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { printJson } from "./output.js"
import { jsonOutput, withWorkstreams } from "./root.js"

const idOption = Options.text("id").pipe(Options.withDescription("A workstream id"), Options.optional)
const tagOption = Options.text("tag").pipe(Options.withDescription("A tag (e.g. namespace:<ns>): every workstream carrying it"), Options.optional)

/** The target named by exactly one of --id and --tag. */
const targetOf = (method: string, id: Option.Option<string>, tag: Option.Option<string>) =>
  Option.isSome(id) === Option.isSome(tag)
    ? Effect.fail(new InvalidInput({ method, message: "give exactly one of --id and --tag" }))
    : Effect.succeed<typeof RetentionTarget.Encoded>(Option.isSome(id) ? { workstreamId: id.value } : { tag: Option.getOrThrow(tag) })

const ACTIONS = ["set", "show", "clear"] as const

/**
 * `arawn-store workstream retention set|show|clear`: one command with the action as its argument (a third level of
 * subcommands would show in the root help under a doubled name).
 *
 * @category commands
 */
export const retention = Command.make("retention", {
  action: Args.choice(ACTIONS.map((a) => [a, a] as const)).pipe(Args.withDescription("set, show or clear")),
  id: idOption,
  tag: tagOption,
  maxAge: Options.text("max-age").pipe(Options.withDescription("set: keep messages younger than this (\"30 days\", \"12 hours\")"), Options.optional),
  maxMessages: Options.integer("max-messages").pipe(Options.withDescription("set: keep at least the last N messages"), Options.optional)
}, (o) =>
  withWorkstreams(o.action === "show" ? "read" : "open")(Effect.gen(function*() {
    const target = yield* targetOf(`workstream retention ${o.action}`, o.id, o.tag)
    const store = yield* WorkstreamStore
    const json = yield* jsonOutput
    if (o.action === "show") {
      const policy = Option.getOrNull(yield* store.getRetention(target))
      return yield* json ? printJson({ target, policy }) : Console.log(policy === null ? "no policy" : JSON.stringify(policy))
    }
    if (o.action === "clear") {
      yield* store.setRetention(target, null)
      return yield* json ? printJson({ target, policy: null }) : Console.log("policy removed")
    }
    yield* store.setRetention(target, {
      ...(Option.isSome(o.maxAge) ? { maxAge: o.maxAge.value } : {}),
      ...(Option.isSome(o.maxMessages) ? { maxMessages: o.maxMessages.value } : {})
    })
    const stored = Option.getOrNull(yield* store.getRetention(target))
    return yield* json ? printJson({ target, policy: stored }) : Console.log(`retention of ${JSON.stringify(target)}: ${JSON.stringify(stored)}`)
  }))).pipe(Command.withDescription(
    "Retention policy of a workstream (--id) or of every workstream with a tag (--tag): set (--max-age, --max-messages), show (maxAge in milliseconds) or clear"
  ))

/** `arawn-store workstream prune`. @category commands */
export const prune = Command.make("prune", {
  id: idOption,
  budget: Options.integer("budget").pipe(Options.withDescription("At most this many messages removed (default 100000)"), Options.optional)
}, (o) =>
  withWorkstreams("open")(Effect.gen(function*() {
    const report = yield* (yield* WorkstreamStore).prune({
      ...(Option.isSome(o.id) ? { workstreamId: o.id.value } : {}),
      ...(Option.isSome(o.budget) ? { budget: o.budget.value } : {})
    })
    if (yield* jsonOutput) return yield* printJson(report)
    const lines = [
      ...report.pruned.map((p) => `pruned ${p.workstreamId}: ${p.removed} message${p.removed === 1 ? "" : "s"}, now from seq ${p.through + 1}`),
      ...report.refused.map((r) => `kept ${r.workstreamId}: ${r.reason}`),
      report.done ? `${report.removed} removed; done` : `${report.removed} removed; more to prune: run again`
    ]
    yield* Console.log(lines.join("\n"))
  }))).pipe(Command.withDescription("Remove what retention policies no longer keep (only what summaries cover)"))
