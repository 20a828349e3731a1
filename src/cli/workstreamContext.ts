/**
 * `arawn-store workstream summarize` and `workstream context`: compaction overlays from the command line. A summary
 * stands for a range of messages in the context an agent reads; the messages themselves stay.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import { ContextItem, Summary } from "../WorkstreamContext.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { fileOption, readContent } from "./input.js"
import { clip, encode, formatTime, printJson, table } from "./output.js"
import { jsonOutput, limitOption, withWorkstreams } from "./root.js"

const idArg = Args.text({ name: "id" }).pipe(Args.withDescription("Workstream id (or scratch)"))

/** The context table: seq (a range for a summary), time, role ("summary" for one), content. @category formatting */
export const contextTable = (items: ReadonlyArray<ContextItem>, width = 72): string =>
  table(["seq", "time", "role", "content"], items.map((i) =>
    i._tag === "Message"
      ? [i.message.seq, formatTime(i.message.timestamp), i.message.role, clip(i.message.content, width)]
      : [`${i.summary.fromSeq}-${i.summary.toSeq}`, formatTime(i.summary.createdAt), "summary", clip(i.summary.content, width)]))

const summarize = Command.make("summarize", {
  id: idArg,
  from: Options.integer("from").pipe(Options.withDescription("First seq the summary covers")),
  to: Options.integer("to").pipe(Options.withDescription("Last seq the summary covers")),
  content: Options.text("content").pipe(Options.withDescription("The summary's text; - reads it from stdin"), Options.optional),
  file: fileOption
}, (o) =>
  Effect.gen(function*() {
    const method = "workstream summarize"
    const id = yield* decodeInput(WorkstreamId, method)(o.id)
    const content = yield* readContent(method, o.content, o.file)
    const summary = yield* withWorkstreams("open")(
      Effect.flatMap(WorkstreamStore, (store) => store.summarize(id, { fromSeq: o.from, toSeq: o.to, content }))
    )
    yield* (yield* jsonOutput)
      ? Effect.flatMap(encode(Summary, summary), printJson)
      : Console.log(`summarized #${summary.fromSeq}..#${summary.toSeq} ${summary.id}`)
  })).pipe(Command.withDescription("Store a summary over a range of a workstream's messages (the messages stay)"))

const context = Command.make("context", {
  id: idArg,
  limit: limitOption("Only the last N items").pipe(Options.optional)
}, (o) =>
  withWorkstreams("read")(Effect.gen(function*() {
    const id = yield* decodeInput(WorkstreamId, "workstream context")(o.id)
    const items = yield* (yield* WorkstreamStore).loadContext(id, Option.match(o.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }))
    if (yield* jsonOutput) return yield* printJson(yield* Effect.forEach(items, (i) => encode(ContextItem, i)))
    yield* Console.log(items.length === 0 ? "no messages" : contextTable(items))
  }))).pipe(Command.withDescription("Show a workstream's context, oldest first: its messages with summarized ranges as their summaries"))

/** `workstream summarize` and `workstream context`. @category commands */
export const contextCommands = [summarize, context] as const
