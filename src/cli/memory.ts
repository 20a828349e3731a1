/**
 * `arawn-store memory ...`: store, search, read and maintain long-term memories.
 *
 * @since 0.1.0
 */
import { Args, Command, Options } from "@effect/cli"
import { Chunk, Console, DateTime, Effect, Option, Stream } from "effect"
import { InvalidInput, NotFound } from "../Errors.js"
import { MemoryId, SessionId, WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import type { MemoryMatch, NewMemory, StoreFactResult } from "../Memory.js"
import { confidenceScore, ConfidenceSource, ContentType, Memory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { MemoryEvent } from "../MemoryEvent.js"
import { eventDetail, extraOption, metaOption, parseExpiry, parseExtra, parseWhere, whereOption } from "./memoryOptions.js"
import { clip, encode, fields, formatTime, makeProgress, printJson, table } from "./output.js"
import { contentArg, fileOption, readContent } from "./input.js"
import { facts, validInput, validOptions } from "./memoryFacts.js"
import { jsonOutput, limitOption, withMemories } from "./root.js"

const memoryIdArg = Args.text({ name: "id" }).pipe(Args.withDescription("Memory id (a UUID)"))

/** `{ key: value }` when the option is present, `{}` otherwise (for exact optional properties). */
const present = <K extends string, V>(key: K, value: Option.Option<V>): { [P in K]?: V } =>
  Option.match(value, { onNone: () => ({}), onSome: (v) => ({ [key]: v } as { [P in K]?: V }) })

const requireMemory = (method: string, raw: string) =>
  Effect.gen(function*() {
    const id = yield* decodeInput(MemoryId, method)(raw)
    const found = yield* (yield* MemoryBackend).get(id)
    return yield* Option.match(found, {
      onNone: () => Effect.fail(new NotFound({ entity: "memory", id })),
      onSome: Effect.succeed
    })
  })

const showMemory = (m: Memory) =>
  Effect.gen(function*() {
    const now = yield* DateTime.now
    const c = m.confidence
    const extra = Object.keys(m.metadata.extra).length > 0 ? JSON.stringify(m.metadata.extra) : undefined
    yield* Console.log(fields([
      ["id", m.id],
      ["type", m.contentType],
      ["source", c.source],
      ["confidence", confidenceScore(c, now)],
      ["reinforced", c.reinforcementCount],
      ["superseded", c.superseded ? `yes${c.supersededBy !== undefined ? ` (by ${c.supersededBy})` : ""}` : undefined],
      ["tags", m.metadata.tags.length > 0 ? m.metadata.tags.join(", ") : undefined],
      ["subject", m.metadata.subject],
      ["predicate", m.metadata.predicate],
      ["session", m.sessionId],
      ["workstream", m.workstreamId],
      ["source path", m.metadata.sourcePath],
      ["source url", m.metadata.sourceUrl],
      ["citation", m.citation !== undefined ? m.citation._tag : undefined],
      ["extra", extra],
      ["created", formatTime(m.createdAt)],
      ["updated", formatTime(m.updatedAt)],
      ["content", m.content]
    ]))
  })

const memoryRows = (ms: ReadonlyArray<Memory>) =>
  table(
    ["id", "created", "type", "source", "content"],
    ms.map((m) => [m.id, formatTime(m.createdAt), m.contentType, m.confidence.source, clip(m.content, 60)])
  )

/** The search results table; with `explain`, the signals behind each score. @category formatting */
export const matchTable = (matches: ReadonlyArray<MemoryMatch>, explain: boolean, ids = true): string => {
  const dash = (n: number | undefined, f: (x: number) => string = String) => (n === undefined ? "-" : f(n))
  const base = ["#", "score", "type", "source", "content"]
  const why = ["relevance", "confidence", "vec#", "vec dist", "text#"]
  return table(
    [...base, ...(explain ? why : []), ...(ids ? ["id"] : [])],
    matches.map((m, i) => {
      const e = m.explain
      const row = [String(i + 1), m.score.toFixed(3), m.memory.contentType, m.memory.confidence.source,
        clip(m.memory.content, explain && ids ? 48 : 64)]
      const signals = [e.relevance.toFixed(3), e.confidence.toFixed(3), dash(e.vectorRank),
        dash(e.vectorDistance, (d) => d.toFixed(3)), dash(e.textRank)]
      return [...row, ...(explain ? signals : []), ...(ids ? [m.memory.id] : [])]
    })
  )
}

/** Plain JSON for a search hit. @category json */
export const matchJson = (m: MemoryMatch) =>
  Effect.map(encode(Memory, m.memory), (memory) => ({ score: m.score, explain: m.explain, memory }))

/** The line `memory add` prints for what happened to the memory. @category formatting */
export const outcomeLine = (r: StoreFactResult): string =>
  r.outcome === "superseded"
    ? `inserted ${r.id}; superseded ${r.supersededIds.join(", ")}`
    : `${r.outcome} ${r.id}`

const add = Command.make("add", {
  content: contentArg("What to remember"),
  file: fileOption,
  type: Options.choice("type", ContentType.literals).pipe(
    Options.withDescription("Content type (default: fact with --subject/--predicate, else note)"),
    Options.optional
  ),
  tags: Options.text("tag").pipe(Options.withDescription("A tag (repeatable)"), Options.repeated),
  subject: Options.text("subject").pipe(
    Options.withDescription("Fact subject, e.g. user.preferred_model (with --predicate: dedup and supersede)"),
    Options.optional
  ),
  predicate: Options.text("predicate").pipe(Options.withDescription("Fact predicate, e.g. is"), Options.optional),
  session: Options.text("session").pipe(Options.withDescription("Session id (a UUID)"), Options.optional),
  workstream: Options.text("workstream").pipe(Options.withDescription("Workstream id"), Options.optional),
  source: Options.choice("source", ConfidenceSource.literals).pipe(
    Options.withDescription(
      "Where the claim came from; sets its base confidence (default: inferred, as in the library: a claim earns " +
        "more only when someone says where it came from)"
    ),
    Options.optional
  ),
  expires: Options.text("expires").pipe(
    Options.withDescription("Forget it after a time to live (\"30 days\", \"2 hours\") or at an instant (2027-01-01T00:00:00Z)"),
    Options.optional
  ),
  meta: metaOption,
  extra: extraOption,
  ...validOptions
}, (o) =>
  Effect.gen(function*() {
    const method = "memory add"
    if (Option.isSome(o.subject) !== Option.isSome(o.predicate)) {
      return yield* new InvalidInput({ method, message: "--subject and --predicate go together: give both or neither" })
    }
    const sessionId = yield* Effect.transposeOption(Option.map(o.session, decodeInput(SessionId, method)))
    const workstreamId = yield* Effect.transposeOption(Option.map(o.workstream, decodeInput(WorkstreamId, method)))
    const content = yield* readContent(method, o.content, o.file)
    const expiry = yield* Effect.transposeOption(Option.map(o.expires, (text) => parseExpiry(method, text)))
    const extra = yield* parseExtra(method, o.extra, o.meta)
    const isFact = Option.isSome(o.subject)
    const valid = yield* validInput(method, o)
    const input: NewMemory = {
      ...valid,
      content,
      contentType: Option.getOrElse(o.type, () => (isFact ? "fact" as const : "note" as const)),
      // No CLI default of its own: an omitted --source gets the library's (inferred).
      ...present("source", o.source),
      metadata: {
        tags: o.tags,
        ...present("subject", o.subject),
        ...present("predicate", o.predicate),
        ...present("extra", extra)
      },
      ...present("sessionId", sessionId),
      ...present("workstreamId", workstreamId),
      ...Option.getOrElse(expiry, () => ({}))
    }
    const result = yield* withMemories("create")(Effect.gen(function*() {
      const memories = yield* MemoryBackend
      if (isFact) return yield* memories.storeFact(input)
      const id = yield* memories.store(input)
      return { id, outcome: "inserted", supersededIds: [] } satisfies StoreFactResult
    }))
    yield* (yield* jsonOutput) ? printJson(result) : Console.log(outcomeLine(result))
  })).pipe(Command.withDescription("Store a memory (a fact when --subject and --predicate are given)"))

const search = Command.make("search", {
  query: Args.text({ name: "query" }).pipe(Args.withDescription("What to look for, in plain words")),
  limit: limitOption("Most results").pipe(Options.withDefault(10)),
  mode: Options.choice("mode", ["hybrid", "vector", "text"] as const).pipe(
    Options.withDefault("hybrid" as const),
    Options.withDescription("hybrid fuses vector and word rankings; vector or text uses one")
  ),
  types: Options.choice("type", ContentType.literals).pipe(
    Options.withDescription("Only this content type (repeatable)"),
    Options.repeated
  ),
  tags: Options.text("tag").pipe(Options.withDescription("Only memories with this tag (repeatable, all-of)"), Options.repeated),
  superseded: Options.boolean("include-superseded").pipe(Options.withDescription("Include superseded facts")),
  explain: Options.boolean("explain").pipe(Options.withDescription("Show why each result ranked where it did")),
  where: whereOption
}, (o) =>
  withMemories("read")(Effect.gen(function*() {
    const where = yield* parseWhere("memory search", o.where)
    const matches = yield* (yield* MemoryBackend).search(o.query, {
      limit: o.limit,
      mode: o.mode,
      includeSuperseded: o.superseded,
      ...where,
      ...(o.types.length > 0 ? { contentTypes: o.types } : {}),
      ...(o.tags.length > 0 ? { tags: o.tags } : {})
    })
    if (yield* jsonOutput) return yield* printJson(yield* Effect.forEach(matches, matchJson))
    yield* Console.log(matches.length === 0 ? "no memories match" : matchTable(matches, o.explain))
  }))).pipe(Command.withDescription("Search memories by meaning and by words"))

const get = Command.make("get", { id: memoryIdArg }, (o) =>
  withMemories("read")(Effect.gen(function*() {
    const m = yield* requireMemory("memory get", o.id)
    yield* (yield* jsonOutput) ? Effect.flatMap(encode(Memory, m), printJson) : showMemory(m)
  }))).pipe(Command.withDescription("Show one memory"))

const delete_ = Command.make("delete", { id: memoryIdArg }, (o) =>
  withMemories("open")(Effect.gen(function*() {
    const m = yield* requireMemory("memory delete", o.id)
    yield* (yield* MemoryBackend).delete(m.id)
    yield* (yield* jsonOutput) ? printJson({ deleted: m.id }) : Console.log(`deleted ${m.id}`)
  }))).pipe(Command.withDescription("Delete a memory with its vector and text entry"))

const list = Command.make("list", {
  limit: limitOption("Most memories").pipe(Options.withDefault(20)),
  types: Options.choice("type", ContentType.literals).pipe(Options.withDescription("Only this content type (repeatable)"), Options.repeated),
  superseded: Options.boolean("include-superseded").pipe(Options.withDescription("Include superseded facts")),
  where: whereOption
}, (o) =>
  withMemories("read")(Effect.gen(function*() {
    const where = yield* parseWhere("memory list", o.where)
    const ms = Chunk.toReadonlyArray(
      yield* (yield* MemoryBackend).list({
        includeSuperseded: o.superseded,
        ...where,
        ...(o.types.length > 0 ? { contentTypes: o.types } : {})
      }).pipe(Stream.take(o.limit), Stream.runCollect)
    )
    if (yield* jsonOutput) return yield* printJson(yield* Effect.forEach(ms, (m) => encode(Memory, m)))
    yield* Console.log(ms.length === 0 ? "no memories" : memoryRows(ms))
  }))).pipe(Command.withDescription("List memories, newest first"))

const stats = Command.make("stats", {}, () =>
  withMemories("read")(Effect.gen(function*() {
    const memories = yield* MemoryBackend
    // count() sees what reads see: neither superseded nor expired memories; stats() counts every row.
    const [s, live, unexpired] = yield* Effect.all([memories.stats(), memories.count(), memories.count({ includeSuperseded: true })])
    const counts = { memories: live, superseded: unexpired - live, expired: Math.max(0, s.memories - unexpired), rows: s.memories }
    if (yield* jsonOutput) return yield* printJson({ ...s, ...counts })
    yield* Console.log(fields([
      ["memories", counts.memories],
      ["superseded", counts.superseded],
      ["expired", counts.expired > 0 ? `${counts.expired} (deleted by 'arawn-store memory sweep')` : 0],
      ["vectors", s.vectors],
      ["embedder", `${s.embedder.model} (${s.embedder.dimensions} dims)`],
      ["stale", s.stale ? "yes: run 'arawn-store memory reindex'" : "no"]
    ]))
  }))).pipe(Command.withDescription("Counts (live, superseded, expired), embedder and vector freshness"))

const reindex = Command.make("reindex", {}, () =>
  withMemories("open")(Effect.gen(function*() {
    const progress = makeProgress("re-embedding")
    const last = yield* (yield* MemoryBackend).reindex().pipe(
      Stream.tap((p) => progress.update(p.done, p.total)),
      Stream.runLast,
      Effect.ensuring(progress.finish)
    )
    const done = Option.match(last, { onNone: () => 0, onSome: (p) => p.done })
    yield* (yield* jsonOutput) ? printJson({ reindexed: done }) : Console.log(`re-embedded ${done} memories`)
  }))).pipe(Command.withDescription("Re-embed every memory with the current embedder (clears a stale store)"))

const history = Command.make("history", { id: memoryIdArg }, (o) =>
  withMemories("read")(Effect.gen(function*() {
    const m = yield* requireMemory("memory history", o.id)
    const events = Chunk.toReadonlyArray(yield* Stream.runCollect((yield* MemoryBackend).history(m.id)))
    if (yield* jsonOutput) return yield* printJson(yield* Effect.forEach(events, (e) => encode(MemoryEvent, e)))
    yield* Console.log(table(["at", "event", "detail"], events.map((e) => [formatTime(e.at), e._tag, eventDetail(e)])))
  }))).pipe(Command.withDescription("Show what happened to a memory, oldest first"))

const sweep = Command.make("sweep", {}, () =>
  withMemories("open")(Effect.gen(function*() {
    const n = yield* (yield* MemoryBackend).sweep()
    yield* (yield* jsonOutput) ? printJson({ deleted: n }) : Console.log(`deleted ${n} expired memories`)
  }))).pipe(Command.withDescription("Delete the memories whose time to live has run out"))

const purge = Command.make("purge", {
  namespace: Args.text({ name: "namespace" }).pipe(Args.withDescription("The namespace to delete, with every namespace below it")),
  yes: Options.boolean("yes").pipe(Options.withDescription("Delete them (without it, only say how many there are)"))
}, (o) =>
  withMemories("open")(Effect.gen(function*() {
    const memories = yield* MemoryBackend
    // Scoping first checks the namespace (and that it is inside this command's own) before anything is counted.
    const held = (yield* (yield* memories.scoped(o.namespace)).stats()).memories
    if (!o.yes) {
      return yield* new InvalidInput({
        method: "memory purge",
        message: `this would delete ${held} memories of ${JSON.stringify(o.namespace)} and the namespaces below it; run again with --yes`
      })
    }
    const n = yield* memories.purge(o.namespace)
    yield* (yield* jsonOutput) ? printJson({ namespace: o.namespace, purged: n }) : Console.log(`deleted ${n} memories of ${o.namespace} and below`)
  }))).pipe(Command.withDescription("Delete a namespace and those below it: memories, vectors, text index and history"))

/** `arawn-store memory`. @category commands */
export const memory = Command.make("memory").pipe(
  Command.withDescription("Long-term memories: add, search, get, delete, list, history, facts, stats, sweep, purge, reindex"),
  Command.withSubcommands([add, search, get, delete_, list, history, facts, stats, sweep, purge, reindex])
)
