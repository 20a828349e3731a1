/**
 * `arawn-store workstream prune` and `arawn-store workstream retention set|show|clear`: retention policies per
 * workstream or tag, and the prune that applies them.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
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

const set = Command.make("set", {
  id: idOption,
  tag: tagOption,
  maxAge: Options.text("max-age").pipe(Options.withDescription("Keep messages younger than this (\"30 days\", \"12 hours\")"), Options.optional),
  maxMessages: Options.integer("max-messages").pipe(Options.withDescription("Keep at least the last N messages"), Options.optional)
}, (o) =>
  withWorkstreams("open")(Effect.gen(function*() {
    const target = yield* targetOf("workstream retention set", o.id, o.tag)
    const policy = {
      ...(Option.isSome(o.maxAge) ? { maxAge: o.maxAge.value } : {}),
      ...(Option.isSome(o.maxMessages) ? { maxMessages: o.maxMessages.value } : {})
    }
    const store = yield* WorkstreamStore
    yield* store.setRetention(target, policy)
    const stored = Option.getOrNull(yield* store.getRetention(target))
    yield* (yield* jsonOutput) ? printJson({ target, policy: stored }) : Console.log(`retention of ${JSON.stringify(target)}: ${JSON.stringify(stored)}`)
  }))).pipe(Command.withDescription("Set the retention policy of a workstream (--id) or of every workstream with a tag (--tag)"))

const show = Command.make("show", { id: idOption, tag: tagOption }, (o) =>
  withWorkstreams("read")(Effect.gen(function*() {
    const target = yield* targetOf("workstream retention show", o.id, o.tag)
    const policy = Option.getOrNull(yield* (yield* WorkstreamStore).getRetention(target))
    yield* (yield* jsonOutput) ? printJson({ target, policy }) : Console.log(policy === null ? "no policy" : JSON.stringify(policy))
  }))).pipe(Command.withDescription("Show the retention policy set on a workstream (--id) or a tag (--tag); maxAge in milliseconds"))

const clear = Command.make("clear", { id: idOption, tag: tagOption }, (o) =>
  withWorkstreams("open")(Effect.gen(function*() {
    const target = yield* targetOf("workstream retention clear", o.id, o.tag)
    yield* (yield* WorkstreamStore).setRetention(target, null)
    yield* (yield* jsonOutput) ? printJson({ target, policy: null }) : Console.log("policy removed")
  }))).pipe(Command.withDescription("Remove the retention policy of a workstream (--id) or a tag (--tag)"))

/** `arawn-store workstream retention`. @category commands */
export const retention = Command.make("retention").pipe(
  Command.withDescription("Retention policies: set, show, clear"),
  Command.withSubcommands([set, show, clear])
)

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
