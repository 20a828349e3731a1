/**
 * `arawn-store workstream ...`: conversation threads and their message logs.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import { SCRATCH_ID, SessionId, WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import type { MessageHit, NewWorkstream, WorkstreamUpdate } from "../Workstream.js"
import { Message, MessageRole, Workstream, WorkstreamState } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { clip, encode, fields, formatTime, printJson, table } from "./output.js"
import { contentArg, fileOption, readContent } from "./input.js"
import { jsonOutput, limitOption, withWorkstreams } from "./root.js"
import { contextCommands } from "./workstreamContext.js"
import { tree } from "./workstreamTree.js"

const idArg = Args.text({ name: "id" }).pipe(Args.withDescription("Workstream id (or scratch)"))

const present = <K extends string, V>(key: K, value: Option.Option<V>): { [P in K]?: V } =>
  Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v } as { [P in K]?: V }) })

const decodeId = (method: string, raw: string) => decodeInput(WorkstreamId, method)(raw)

const requireWorkstream = (method: string, raw: string) =>
  Effect.gen(function*() {
    const id = yield* decodeId(method, raw)
    const found = yield* (yield* WorkstreamStore).get(id)
    return yield* Option.match(found, {
      onNone: () => Effect.fail(new NotFound({ entity: "workstream", id })),
      onSome: Effect.succeed
    })
  })

const showWorkstream = (w: Workstream) =>
  Console.log(fields([
    ["id", w.id],
    ["title", w.title],
    ["state", w.state],
    ["scratch", w.isScratch ? "yes" : undefined],
    ["summary", w.summary],
    ["model", w.defaultModel],
    ["tags", w.tags.length > 0 ? w.tags.join(", ") : undefined],
    ["forked from", w.forkedFrom !== undefined
      ? `${w.forkedFrom.workstreamId} at seq ${w.forkedFrom.seq}${w.forkedFrom.shared === true ? " (branch: shares its messages)" : " (copy)"}`
      : undefined],
    ["messages", w.messageCount],
    ["last message", w.lastMessageAt !== undefined ? formatTime(w.lastMessageAt) : undefined],
    ["created", formatTime(w.createdAt)],
    ["updated", formatTime(w.updatedAt)]
  ]))

const printWorkstream = (w: Workstream) =>
  Effect.gen(function*() {
    yield* (yield* jsonOutput) ? Effect.flatMap(encode(Workstream, w), printJson) : showWorkstream(w)
  })

/** The messages table: seq, time, role, content. @category formatting */
export const messageTable = (ms: ReadonlyArray<Message>, width = 72): string =>
  table(["seq", "time", "role", "content"], ms.map((m) => [m.seq, formatTime(m.timestamp), m.role, clip(m.content, width)]))

const tagsOption = Options.text("tag").pipe(Options.withDescription("A tag (repeatable)"), Options.repeated)
const modelOption = Options.text("model").pipe(Options.withDescription("Default model profile"), Options.optional)

const create = Command.make("create", {
  title: Args.text({ name: "title" }).pipe(Args.withDescription("Title")),
  id: Options.text("id").pipe(Options.withDescription("Id to use (default: a new UUID)"), Options.optional),
  summary: Options.text("summary").pipe(Options.withDescription("Summary"), Options.optional),
  model: modelOption,
  tags: tagsOption
}, (o) =>
  withWorkstreams("create")(Effect.gen(function*() {
    const id = yield* Effect.transposeOption(Option.map(o.id, (raw) => decodeId("workstream create", raw)))
    if (Option.contains(id, SCRATCH_ID)) {
      return yield* new InvalidInput({
        method: "workstream create",
        message: "scratch is the store's default workstream and needs no create: 'workstream append scratch ...' starts it"
      })
    }
    const input: NewWorkstream = {
      title: o.title,
      tags: o.tags,
      ...present("id", id),
      ...present("summary", o.summary),
      ...present("defaultModel", o.model)
    }
    yield* printWorkstream(yield* (yield* WorkstreamStore).create(input))
  }))).pipe(Command.withDescription("Create a workstream"))

const list = Command.make("list", {
  state: Options.choice("state", WorkstreamState.literals).pipe(Options.withDescription("Only this state"), Options.optional),
  tag: Options.text("tag").pipe(Options.withDescription("Only workstreams with this tag"), Options.optional),
  forkedFrom: Options.text("forked-from").pipe(Options.withDescription("Only the direct forks of this workstream"), Options.optional),
  limit: limitOption("Most workstreams").pipe(Options.withDefault(50))
}, (o) =>
  withWorkstreams("read")(Effect.gen(function*() {
    const page = yield* (yield* WorkstreamStore).list({
      limit: o.limit,
      ...present("state", o.state),
      ...present("tag", o.tag),
      ...present("forkedFrom", o.forkedFrom)
    })
    if (yield* jsonOutput) return yield* printJson(yield* Effect.forEach(page.items, (w) => encode(Workstream, w)))
    yield* Console.log(
      page.items.length === 0 ? "no workstreams" : table(
        ["id", "title", "state", "messages", "updated", "tags"],
        page.items.map((w) => [w.id, clip(w.title, 40), w.state, w.messageCount, formatTime(w.updatedAt), w.tags.join(",")])
      )
    )
  }))).pipe(Command.withDescription("List workstreams, most recently updated first"))

const show = Command.make("show", { id: idArg }, (o) =>
  withWorkstreams("read")(Effect.flatMap(requireWorkstream("workstream show", o.id), printWorkstream))).pipe(
    Command.withDescription("Show one workstream")
  )

const update = Command.make("update", {
  id: idArg,
  title: Options.text("title").pipe(Options.withDescription("New title"), Options.optional),
  summary: Options.text("summary").pipe(Options.withDescription("New summary"), Options.optional),
  clearSummary: Options.boolean("clear-summary").pipe(Options.withDescription("Remove the summary")),
  state: Options.choice("state", WorkstreamState.literals).pipe(Options.withDescription("New state"), Options.optional),
  model: modelOption,
  tags: Options.text("tag").pipe(Options.withDescription("Replace the tags with these (repeatable)"), Options.repeated)
}, (o) =>
  withWorkstreams("open")(Effect.gen(function*() {
    const method = "workstream update"
    const id = yield* decodeId(method, o.id)
    const patch: WorkstreamUpdate = {
      ...present("title", o.title),
      ...(o.clearSummary ? { summary: null } : present("summary", o.summary)),
      ...present("state", o.state),
      ...present("defaultModel", o.model),
      ...(o.tags.length > 0 ? { tags: o.tags } : {})
    }
    if (Object.keys(patch).length === 0) {
      return yield* new InvalidInput({
        method,
        message: "nothing to update: give --title, --summary, --clear-summary, --state, --model or --tag"
      })
    }
    yield* printWorkstream(yield* (yield* WorkstreamStore).update(id, patch))
  }))).pipe(Command.withDescription("Change a workstream's title, summary, state, model or tags"))

const delete_ = Command.make("delete", {
  id: idArg,
  subtree: Options.boolean("subtree").pipe(Options.withDescription("Also delete every branch that shares its messages"))
}, (o) =>
  withWorkstreams("open")(Effect.gen(function*() {
    const w = yield* requireWorkstream("workstream delete", o.id)
    yield* (yield* WorkstreamStore).delete(w.id, { subtree: o.subtree })
    yield* (yield* jsonOutput) ? printJson({ deleted: w.id }) : Console.log(`deleted ${w.id}`)
  }))).pipe(Command.withDescription("Delete a workstream with its tags and message log (with --subtree, its branches too)"))

const promote = Command.make("promote-scratch", {
  title: Options.text("title").pipe(Options.withDescription("Title of the new workstream")),
  model: modelOption,
  tags: tagsOption
}, (o) =>
  withWorkstreams("create")(Effect.gen(function*() {
    const w = yield* (yield* WorkstreamStore).promoteScratch({ title: o.title, tags: o.tags, ...present("defaultModel", o.model) })
    yield* printWorkstream(w)
  }))).pipe(Command.withDescription("Move the scratch workstream's messages into a new workstream"))

const append = Command.make("append", {
  id: idArg,
  content: contentArg("Message text"),
  file: fileOption,
  role: Options.choice("role", MessageRole.literals).pipe(Options.withDescription("Who said it")),
  session: Options.text("session").pipe(Options.withDescription("Session id (a UUID)"), Options.optional)
}, (o) =>
  Effect.gen(function*() {
    const method = "workstream append"
    const id = yield* decodeId(method, o.id)
    const sessionId = yield* Effect.transposeOption(Option.map(o.session, decodeInput(SessionId, method)))
    const content = yield* readContent(method, o.content, o.file)
    const m = yield* withWorkstreams("create")(Effect.gen(function*() {
      const store = yield* WorkstreamStore
      // Scratch is the default thread: the first message to it creates it.
      if (id === SCRATCH_ID) yield* store.ensureScratch()
      return yield* store.storeMessage(id, { role: o.role, content, ...present("sessionId", sessionId) })
    }))
    yield* (yield* jsonOutput) ? Effect.flatMap(encode(Message, m), printJson) : Console.log(`appended #${m.seq} ${m.id}`)
  })).pipe(Command.withDescription("Append a message to a workstream's log"))

const messages = Command.make("messages", {
  id: idArg,
  limit: limitOption("Only the last N").pipe(Options.optional),
  before: Options.integer("before").pipe(Options.withDescription("Only messages before this seq"), Options.optional)
}, (o) =>
  withWorkstreams("read")(Effect.gen(function*() {
    const id = yield* decodeId("workstream messages", o.id)
    const ms = yield* (yield* WorkstreamStore).loadMessages(id, { ...present("limit", o.limit), ...present("beforeSeq", o.before) })
    if (yield* jsonOutput) return yield* printJson(yield* Effect.forEach(ms, (m) => encode(Message, m)))
    yield* Console.log(ms.length === 0 ? "no messages" : messageTable(ms))
  }))).pipe(Command.withDescription("Show a workstream's messages, oldest to newest"))

const fork = Command.make("fork", {
  id: idArg,
  atSeq: Options.integer("at-seq").pipe(
    Options.withDescription("Share messages up to this seq (0: none; default: all)"),
    Options.optional
  ),
  copy: Options.boolean("copy").pipe(Options.withDescription("Copy the messages into the fork's own log instead of sharing them")),
  title: Options.text("title").pipe(Options.withDescription("Title of the new workstream")),
  model: Options.text("model").pipe(Options.withDescription("Default model profile (default: the source's)"), Options.optional),
  tags: tagsOption
}, (o) =>
  withWorkstreams("open")(Effect.gen(function*() {
    const id = yield* decodeId("workstream fork", o.id)
    const w = yield* (yield* WorkstreamStore).fork(id, {
      title: o.title,
      tags: o.tags,
      copy: o.copy,
      ...present("atSeq", o.atSeq),
      ...present("defaultModel", o.model)
    })
    yield* printWorkstream(w)
  }))).pipe(Command.withDescription("Branch a workstream: a new one sharing its messages up to a seq (or, with --copy, holding copies)"))

/** The search results table: rank, score, workstream, seq, role, snippet. @category formatting */
export const hitTable = (hits: ReadonlyArray<MessageHit>, width = 60): string =>
  table(
    ["#", "score", "workstream", "seq", "role", "snippet"],
    hits.map((h, i) => [String(i + 1), h.score.toFixed(3), h.workstreamId, h.seq, h.message.role, clip(h.snippet, width)])
  )

const search = Command.make("search", {
  query: Args.text({ name: "query" }).pipe(Args.withDescription("What to look for, in plain words")),
  workstreams: Options.text("workstream").pipe(Options.withDescription("Only this workstream (repeatable)"), Options.repeated),
  roles: Options.choice("role", MessageRole.literals).pipe(Options.withDescription("Only this role (repeatable)"), Options.repeated),
  session: Options.text("session").pipe(Options.withDescription("Only this session (a UUID)"), Options.optional),
  branch: Options.text("branch").pipe(Options.withDescription("Only the messages on this branch's path"), Options.optional),
  limit: limitOption("Most results").pipe(Options.withDefault(10))
}, (o) =>
  withWorkstreams("read")(Effect.gen(function*() {
    const method = "workstream search"
    const workstreamIds = yield* Effect.forEach(o.workstreams, (raw) => decodeId(method, raw))
    const sessionId = yield* Effect.transposeOption(Option.map(o.session, decodeInput(SessionId, method)))
    const branch = yield* Effect.transposeOption(Option.map(o.branch, (raw) => decodeId(method, raw)))
    const hits = yield* (yield* WorkstreamStore).searchMessages(o.query, {
      limit: o.limit,
      ...present("branch", branch),
      ...(workstreamIds.length > 0 ? { workstreamIds } : {}),
      ...(o.roles.length > 0 ? { roles: o.roles } : {}),
      ...present("sessionId", sessionId)
    })
    if (yield* jsonOutput) {
      return yield* printJson(yield* Effect.forEach(hits, (h) =>
        Effect.map(encode(Message, h.message), (message) => ({
          workstreamId: h.workstreamId,
          seq: h.seq,
          score: h.score,
          snippet: h.snippet,
          message
        }))))
    }
    yield* Console.log(hits.length === 0 ? "no messages match" : hitTable(hits))
  }))).pipe(Command.withDescription("Search message text across workstreams, best match first"))

/** `arawn-store workstream`. @category commands */
export const workstream = Command.make("workstream").pipe(
  Command.withDescription("Workstreams: create, list, show, update, delete, promote-scratch, fork, tree, append, messages, summarize, context, search"),
  Command.withSubcommands([create, list, show, update, delete_, promote, fork, tree, append, messages, ...contextCommands, search])
)
