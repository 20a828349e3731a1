/**
 * Reading a dump into the current stores. Lines are handled in order: memories gathered into `storeMany` batches,
 * each workstream created (or found) before its messages, which are appended in batches. What the target holds
 * already (a memory id, a workstream id, a message id) is skipped, so a second run adds nothing.
 */
import * as fs from "node:fs/promises"
import { Chunk, DateTime, Effect, Either, Option, ParseResult, Ref, Schema, Stream } from "effect"
import { InvalidInput } from "../../Errors.js"
import { SCRATCH_ID } from "../../Ids.js"
import type { WorkstreamId } from "../../Ids.js"
import type { ImportEvent, ImportPhase } from "../../Import.js"
import { Citation } from "../../Memory.js"
import type { Memory, NewMemory } from "../../Memory.js"
import type { MemoryEvent } from "../../MemoryEvent.js"
import { MemoryBackend } from "../../MemoryBackend.js"
import type { WriteError } from "../../MemoryBackend.js"
import type { NewMessage, Workstream } from "../../Workstream.js"
import type { Summary } from "../../WorkstreamContext.js"
import { WorkstreamStore } from "../../WorkstreamStore.js"
import { presentIds, Run, storageError, storeBatch } from "../import/run.js"
import { parseLine, toNewMessage } from "../jsonl.js"
import { isBlank, scanLines } from "../logfile.js"
import { DumpHeader, DumpRecord, FORMAT } from "./schema.js"

const METHOD = "Dump.import"

/** @category options */
export interface DumpImportOptions {
  /** Memories per `storeMany` call; default 128. */
  readonly batchSize?: number
  /** Messages per `storeMessages` call; default 500. */
  readonly messageBatchSize?: number
}

const decodeHeader = Schema.decodeUnknownEither(DumpHeader)
const decodeRecord = Schema.decodeUnknownEither(DumpRecord)
const encodeCitation = Schema.encodeEither(Citation)

/** The memory as `store` input that keeps every field and its history. */
const newMemoryOf = (m: Memory, events: ReadonlyArray<MemoryEvent>, citation: typeof Citation.Encoded | undefined): NewMemory => {
  const c = m.confidence
  const { tags, extra, ...named } = m.metadata
  return {
    id: m.id,
    namespace: m.namespace,
    contentType: m.contentType,
    content: m.content,
    metadata: { ...named, tags: [...tags], extra },
    source: c.source,
    createdAt: m.createdAt,
    history: {
      reinforcementCount: c.reinforcementCount,
      superseded: c.superseded,
      lastAccessed: c.lastAccessed,
      accessedAt: m.accessedAt,
      accessCount: m.accessCount,
      updatedAt: m.updatedAt,
      events,
      ...(c.supersededBy !== undefined ? { supersededBy: c.supersededBy } : {}),
      ...(m.ttlMillis !== undefined ? { ttlMillis: m.ttlMillis } : {}),
      ...(m.recordedAt !== undefined ? { recordedAt: m.recordedAt } : {}),
      // A dump written before memories had time axes has no recordedAt: its superseded facts were replaced when
      // they last changed.
      ...(m.retractedAt !== undefined
        ? { retractedAt: m.retractedAt }
        : m.recordedAt === undefined && c.superseded
        ? { retractedAt: m.updatedAt }
        : {}),
      ...(m.validToRecordedAt !== undefined ? { validToRecordedAt: m.validToRecordedAt } : {}),
      ...(m.priorValidTo !== undefined ? { priorValidTo: m.priorValidTo } : {}),
      ...(m.key !== undefined ? { key: m.key } : {})
    },
    ...(m.embed === false ? { embed: false } : {}),
    ...(m.validFrom !== undefined ? { validFrom: m.validFrom } : {}),
    ...(m.validTo !== undefined ? { validTo: m.validTo } : {}),
    ...(m.expiresAt !== undefined ? { expiresAt: m.expiresAt } : {}),
    ...(m.sessionId !== undefined ? { sessionId: m.sessionId } : {}),
    ...(m.workstreamId !== undefined ? { workstreamId: m.workstreamId } : {}),
    ...(citation !== undefined ? { citation } : {})
  }
}

interface Target {
  readonly id: WorkstreamId
  readonly present: Set<string>
  /** Set once an append failed on a caller error: later messages would land past a gap, so none is appended. */
  readonly stopped: boolean
}

/** Where a dump import stands between two lines: the batches being gathered, the workstream whose messages come next. */
interface State {
  readonly phase: ImportPhase
  readonly lineNumber: number
  readonly header: boolean
  readonly memories: Chunk.Chunk<NewMemory>
  readonly messages: Chunk.Chunk<NewMessage>
  readonly target: Target | undefined
}

const START: State = { phase: "memories", lineNumber: 0, header: false, memories: Chunk.empty(), messages: Chunk.empty(), target: undefined }

/** What every step of one import reads: the stores, the batch sizes and the run's tallies. */
interface Ctx {
  readonly memoryStore: MemoryBackend["Type"]
  readonly workstreams: WorkstreamStore["Type"]
  readonly batchSize: number
  readonly messageBatchSize: number
  readonly run: Run
}

type Step = Effect.Effect<State, WriteError>

const failLine = (c: Ctx, s: State, json: unknown, error: ParseResult.ParseError): State => {
  const kind = typeof json === "object" && json !== null && "kind" in json ? json.kind : undefined
  const entity = kind === "workstream" ? "workstream" : kind === "message" ? "message" : kind === "summary" ? "summary" : "memory"
  const tally = entity === "memory" ? c.run.memories : entity === "workstream" ? c.run.workstreams : entity === "summary" ? c.run.summaries : c.run.messages
  c.run.fail(tally, { entity, id: `line ${s.lineNumber}`, reason: ParseResult.TreeFormatter.formatErrorSync(error) })
  return entity === "workstream" ? { ...s, target: undefined } : s
}

const flushMemories = (c: Ctx, s: State): Step => Effect.as(storeBatch(c.memoryStore, c.run, Chunk.toReadonlyArray(s.memories)), { ...s, memories: Chunk.empty() })

const flushMessages = (c: Ctx, s: State): Step =>
  Effect.gen(function*() {
    const batch = Chunk.toReadonlyArray(s.messages)
    const target = s.target
    const emptied: State = { ...s, messages: Chunk.empty() }
    if (batch.length === 0 || target === undefined) return emptied
    const stored = yield* Effect.either(c.workstreams.storeMessages(target.id, batch))
    if (Either.isRight(stored)) {
      c.run.messages.imported += stored.right.length
      return emptied
    }
    if (stored.left._tag === "StorageError") return yield* stored.left
    c.run.fail(c.run.messages, {
      entity: "message",
      id: target.id,
      reason: `messages up to line ${s.lineNumber} and after not appended: ${stored.left.message}`
    })
    c.run.messages.failed += batch.length - 1
    return { ...emptied, target: { ...target, stopped: true } }
  })

/** Writes what is still gathered. */
const finish = (c: Ctx, s: State): Step => Effect.flatMap(flushMemories(c, s), (next) => flushMessages(c, next))

const memory = (c: Ctx, s0: State, memory: Memory, history: ReadonlyArray<MemoryEvent>): Step =>
  Effect.gen(function*() {
    const s: State = { ...s0, phase: "memories" }
    const now = yield* DateTime.now
    const expired = memory.expiresAt !== undefined && memory.expiresAt.epochMillis <= now.epochMillis
    if (expired || Option.isSome(yield* c.memoryStore.get(memory.id))) {
      c.run.memories.skipped++
      return s
    }
    const citation = memory.citation === undefined ? Either.right(undefined) : encodeCitation(memory.citation)
    if (Either.isLeft(citation)) return failLine(c, s, { kind: "memory" }, citation.left)
    const next: State = { ...s, memories: Chunk.append(s.memories, newMemoryOf(memory, history, citation.right)) }
    return Chunk.size(next.memories) >= c.batchSize ? yield* flushMemories(c, next) : next
  })

const workstream = (c: Ctx, s0: State, ws: Workstream): Step =>
  Effect.gen(function*() {
    const s: State = { ...s0, phase: "workstreams" }
    const existing = yield* c.workstreams.get(ws.id)
    if (Option.isSome(existing)) c.run.workstreams.skipped++
    else {
      // Scratch cannot be created by `create`; `ensureScratch` gives it the copy's record all the same.
      const record = {
        title: ws.title,
        tags: ws.tags,
        ...(ws.summary !== undefined ? { summary: ws.summary } : {}),
        ...(ws.defaultModel !== undefined ? { defaultModel: ws.defaultModel } : {}),
        createdAt: ws.createdAt,
        updatedAt: ws.updatedAt,
        version: ws.version
      }
      const created = yield* Effect.either(ws.id === SCRATCH_ID
        ? c.workstreams.ensureScratch(record)
        : c.workstreams.create({
          ...record,
          id: ws.id,
          state: ws.state,
          ...(ws.forkedFrom !== undefined ? { forkedFrom: ws.forkedFrom } : {}),
          ...(ws.prunedThrough !== undefined ? { prunedThrough: ws.prunedThrough } : {})
        }))
      if (Either.isLeft(created)) {
        if (created.left._tag === "StorageError") return yield* created.left
        c.run.fail(c.run.workstreams, { entity: "workstream", id: ws.id, reason: created.left.message })
        return { ...s, target: undefined }
      }
      c.run.workstreams.imported++
    }
    return { ...s, target: { id: ws.id, present: yield* presentIds(c.workstreams, ws.id), stopped: false } }
  })

const message = (c: Ctx, s0: State, line: Readonly<Record<string, unknown>>): Step =>
  Effect.suspend(() => {
    const s: State = { ...s0, phase: "messages" }
    const target = s.target
    const id = `line ${s.lineNumber}`
    if (target === undefined || line["workstream_id"] !== target.id) {
      c.run.fail(c.run.messages, { entity: "message", id, reason: "not after its workstream's line" })
      return Effect.succeed(s)
    }
    const parsed = Either.map(parseLine(Buffer.from(JSON.stringify(line), "utf8")), toNewMessage)
    if (Either.isLeft(parsed)) {
      c.run.fail(c.run.messages, { entity: "message", id, reason: parsed.left })
      return Effect.succeed(s)
    }
    const m = parsed.right
    if (target.present.has(m.id!)) c.run.messages.skipped++
    else if (target.stopped) c.run.messages.failed++
    else {
      target.present.add(m.id!)
      const next: State = { ...s, messages: Chunk.append(s.messages, m) }
      return Chunk.size(next.messages) >= c.messageBatchSize ? flushMessages(c, next) : Effect.succeed(next)
    }
    return Effect.succeed(s)
  })

/** A summary, stored once the messages before it are (a retry of one the target holds is skipped). */
const summary = (c: Ctx, s: State, x: Summary): Step =>
  Effect.gen(function*() {
    const held = yield* Effect.either(c.workstreams.listSummaries(x.workstreamId))
    if (Either.isRight(held) && held.right.some((h) => h.id === x.id && h.workstreamId === x.workstreamId)) {
      c.run.summaries.skipped++
      return s
    }
    const stored = yield* Effect.either(c.workstreams.summarize(x.workstreamId, {
      id: x.id,
      fromSeq: x.fromSeq,
      toSeq: x.toSeq,
      content: x.content,
      createdAt: x.createdAt,
      ...(x.metadata !== undefined ? { metadata: x.metadata } : {})
    }))
    if (Either.isRight(stored)) c.run.summaries.imported++
    else if (stored.left._tag === "StorageError") return yield* stored.left
    else c.run.fail(c.run.summaries, { entity: "summary", id: x.id, reason: stored.left.message })
    return s
  })

/** One line of the dump (without its newline). */
const feed = (c: Ctx, s0: State, text: string): Step =>
  Effect.gen(function*() {
    const s: State = { ...s0, lineNumber: s0.lineNumber + 1 }
    if (text.trim() === "") return s
    const json = yield* Effect.try({
      try: (): unknown => JSON.parse(text),
      catch: () => new InvalidInput({ method: METHOD, message: `line ${s.lineNumber} is not JSON` })
    })
    if (!s.header) {
      if (Either.isLeft(decodeHeader(json))) {
        return yield* new InvalidInput({ method: METHOD, message: `not an ${FORMAT} file: its first line is not a version 1 header` })
      }
      return { ...s, header: true }
    }
    const record = decodeRecord(json)
    if (Either.isLeft(record)) return failLine(c, s, json, record.left)
    const r = record.right
    const flushed = yield* Effect.flatMap(
      r.kind !== "memory" ? flushMemories(c, s) : Effect.succeed(s),
      (next) => r.kind !== "message" ? flushMessages(c, next) : Effect.succeed(next)
    )
    if (r.kind === "memory") return yield* memory(c, flushed, r.memory, r.history)
    if (r.kind === "workstream") return yield* workstream(c, flushed, r.workstream)
    if (r.kind === "summary") return yield* summary(c, flushed, r.summary)
    return yield* message(c, flushed, r.line)
  })

/** One import: its state in a `Ref`, changed line by line. */
interface Importer {
  readonly run: Run
  /** Feeds lines in order; the phase of the last one. */
  readonly feed: (lines: Iterable<string>) => Effect.Effect<ImportPhase, WriteError>
  /** Writes what is still gathered; the report. */
  readonly done: Stream.Stream<ImportEvent, WriteError>
}

const importer = (options: DumpImportOptions) =>
  Effect.gen(function*() {
    const c: Ctx = {
      memoryStore: yield* MemoryBackend,
      workstreams: yield* WorkstreamStore,
      batchSize: Math.max(1, options.batchSize ?? 128),
      messageBatchSize: Math.max(1, options.messageBatchSize ?? 500),
      run: new Run()
    }
    const state = yield* Ref.make(START)
    const imp: Importer = {
      run: c.run,
      feed: (lines) =>
        Effect.flatMap(Ref.get(state), (s0) =>
          Effect.flatMap(Effect.reduce(lines, s0, (s, line) => feed(c, s, line)), (s) => Effect.as(Ref.set(state, s), s.phase))),
      done: Stream.fromEffect(
        Effect.flatMap(Ref.get(state), (s) =>
          Effect.flatMap(finish(c, s), (end) =>
            Effect.as(Ref.set(state, end), { _tag: "Done", report: c.run.report() } satisfies ImportEvent)))
      )
    }
    return imp
  })

/**
 * Imports dump lines (each without or with its newline), emitting progress after each chunk (`done` counts lines
 * read of `total`, when given, else of the lines read so far) and the report last. A first line that is not a
 * dump header is InvalidInput; records that cannot be read are counted as failed and the import goes on.
 *
 * @category import
 */
export const importDump = <E, R>(
  lines: Stream.Stream<string, E, R>,
  options: DumpImportOptions & { readonly total?: number } = {}
): Stream.Stream<ImportEvent, WriteError | E, MemoryBackend | WorkstreamStore | R> =>
  Stream.unwrap(Effect.map(importer(options), (imp) => {
    let read = 0
    const progress = lines.pipe(
      Stream.mapChunksEffect((chunk) =>
        Effect.map(imp.feed(Chunk.map(chunk, (l) => l.endsWith("\n") ? l.slice(0, -1) : l)), (phase) => {
          read += chunk.length
          return Chunk.of<ImportEvent>({ _tag: "Progress", phase, done: read, total: Math.max(read, options.total ?? read) })
        }))
    )
    return Stream.concat(progress, imp.done)
  }))

/**
 * Imports the dump file `file`; progress counts bytes read of the file's size.
 *
 * @category import
 */
export const importDumpFile = (
  file: string,
  options: DumpImportOptions = {}
): Stream.Stream<ImportEvent, WriteError, MemoryBackend | WorkstreamStore> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const imp = yield* importer(options)
    const fh = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => fs.open(file, "r"), catch: storageError(METHOD) }),
      (h) => Effect.promise(() => h.close())
    )
    const size = (yield* Effect.tryPromise({ try: () => fh.stat(), catch: storageError(METHOD) })).size
    const progress = Stream.mapEffect(scanLines(METHOD, fh, 0, size, 1024 * 1024), (batch) =>
      Effect.map(
        imp.feed(batch.lines.map((l) => isBlank(l.bytes) ? "" : l.bytes.toString("utf8"))),
        (phase): ImportEvent => ({ _tag: "Progress", phase, done: batch.position, total: size })
      ))
    return Stream.concat(progress, imp.done)
  }))
