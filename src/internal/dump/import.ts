/**
 * Reading a dump into the current stores. Lines are handled in order: memories gathered into `storeMany` batches,
 * each workstream created (or found) before its messages, which are appended in batches. What the target holds
 * already (a memory id, a workstream id, a message id) is skipped, so a second run adds nothing.
 */
import * as fs from "node:fs/promises"
import { Chunk, DateTime, Effect, Either, Option, ParseResult, Schema, Stream } from "effect"
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
import { WorkstreamStore } from "../../WorkstreamStore.js"
import { presentIds, Run, storageError, storeBatch } from "../import/run.js"
import { parseLine, toNewMessage } from "../jsonl.js"
import { isBlank, LineScanner } from "../logfile.js"
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
      ...(m.ttlMillis !== undefined ? { ttlMillis: m.ttlMillis } : {})
    },
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
  stopped: boolean
}

/** The state of one dump import: tallies, the batches being gathered, the workstream whose messages come next. */
class Importer {
  readonly run = new Run()
  phase: ImportPhase = "memories"
  private lineNumber = 0
  private header = false
  private memories: Array<NewMemory> = []
  private messages: Array<NewMessage> = []
  private target: Target | undefined

  constructor(
    private readonly memoryStore: MemoryBackend["Type"],
    private readonly workstreams: WorkstreamStore["Type"],
    private readonly batchSize: number,
    private readonly messageBatchSize: number
  ) {}

  /** One line of the dump (without its newline). */
  feed(text: string): Effect.Effect<void, WriteError> {
    const self = this
    return Effect.gen(function*() {
      self.lineNumber++
      if (text.trim() === "") return
      const json = yield* Effect.try({
        try: (): unknown => JSON.parse(text),
        catch: () => new InvalidInput({ method: METHOD, message: `line ${self.lineNumber} is not JSON` })
      })
      if (!self.header) return yield* self.readHeader(json)
      const record = decodeRecord(json)
      if (Either.isLeft(record)) return self.failLine(json, record.left)
      const r = record.right
      if (r.kind !== "memory") yield* self.flushMemories
      if (r.kind !== "message") yield* self.flushMessages
      if (r.kind === "memory") return yield* self.memory(r.memory, r.history)
      if (r.kind === "workstream") return yield* self.workstream(r.workstream)
      return yield* self.message(r.line)
    })
  }

  /** Writes what is still gathered. */
  get finish(): Effect.Effect<void, WriteError> {
    return Effect.zipRight(this.flushMemories, this.flushMessages)
  }

  private readHeader(json: unknown): Effect.Effect<void, InvalidInput> {
    if (Either.isLeft(decodeHeader(json))) {
      return new InvalidInput({ method: METHOD, message: `not an ${FORMAT} file: its first line is not a version 1 header` })
    }
    this.header = true
    return Effect.void
  }

  private failLine(json: unknown, error: ParseResult.ParseError) {
    const kind = typeof json === "object" && json !== null && "kind" in json ? json.kind : undefined
    const entity = kind === "workstream" ? "workstream" : kind === "message" ? "message" : "memory"
    const tally = entity === "memory" ? this.run.memories : entity === "workstream" ? this.run.workstreams : this.run.messages
    this.run.fail(tally, { entity, id: `line ${this.lineNumber}`, reason: ParseResult.TreeFormatter.formatErrorSync(error) })
    if (entity === "workstream") this.target = undefined
  }

  private memory(memory: Memory, history: ReadonlyArray<MemoryEvent>) {
    const self = this
    return Effect.gen(function*() {
      self.phase = "memories"
      const now = yield* DateTime.now
      const expired = memory.expiresAt !== undefined && memory.expiresAt.epochMillis <= now.epochMillis
      if (expired || Option.isSome(yield* self.memoryStore.get(memory.id))) {
        self.run.memories.skipped++
        return
      }
      const citation = memory.citation === undefined ? Either.right(undefined) : encodeCitation(memory.citation)
      if (Either.isLeft(citation)) return self.failLine({ kind: "memory" }, citation.left)
      self.memories.push(newMemoryOf(memory, history, citation.right))
      if (self.memories.length >= self.batchSize) yield* self.flushMemories
    })
  }

  private get flushMemories(): Effect.Effect<void, WriteError> {
    return Effect.suspend(() => {
      const batch = this.memories
      this.memories = []
      return storeBatch(this.memoryStore, this.run, batch)
    })
  }

  private workstream(ws: Workstream) {
    const self = this
    return Effect.gen(function*() {
      self.phase = "workstreams"
      const existing = yield* self.workstreams.get(ws.id)
      if (Option.isSome(existing)) self.run.workstreams.skipped++
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
          ? self.workstreams.ensureScratch(record)
          : self.workstreams.create({
            ...record,
            id: ws.id,
            state: ws.state,
            ...(ws.forkedFrom !== undefined ? { forkedFrom: ws.forkedFrom } : {})
          }))
        if (Either.isLeft(created)) {
          if (created.left._tag === "StorageError") return yield* created.left
          self.run.fail(self.run.workstreams, { entity: "workstream", id: ws.id, reason: created.left.message })
          self.target = undefined
          return
        }
        self.run.workstreams.imported++
      }
      self.target = { id: ws.id, present: yield* presentIds(self.workstreams, ws.id), stopped: false }
    })
  }

  private message(line: Readonly<Record<string, unknown>>) {
    const self = this
    return Effect.gen(function*() {
      self.phase = "messages"
      const target = self.target
      const id = `line ${self.lineNumber}`
      if (target === undefined || line["workstream_id"] !== target.id) {
        return self.run.fail(self.run.messages, { entity: "message", id, reason: "not after its workstream's line" })
      }
      const message = Either.map(parseLine(Buffer.from(JSON.stringify(line), "utf8")), toNewMessage)
      if (Either.isLeft(message)) return self.run.fail(self.run.messages, { entity: "message", id, reason: message.left })
      if (target.present.has(message.right.id!)) return void self.run.messages.skipped++
      if (target.stopped) return void self.run.messages.failed++
      target.present.add(message.right.id!)
      self.messages.push(message.right)
      if (self.messages.length >= self.messageBatchSize) yield* self.flushMessages
    })
  }

  private get flushMessages(): Effect.Effect<void, WriteError> {
    const self = this
    return Effect.gen(function*() {
      const batch = self.messages
      self.messages = []
      const target = self.target
      if (batch.length === 0 || target === undefined) return
      const stored = yield* Effect.either(self.workstreams.storeMessages(target.id, batch))
      if (Either.isRight(stored)) return void (self.run.messages.imported += stored.right.length)
      if (stored.left._tag === "StorageError") return yield* stored.left
      self.run.fail(self.run.messages, { entity: "message", id: target.id, reason: `messages up to line ${self.lineNumber} and after not appended: ${stored.left.message}` })
      self.run.messages.failed += batch.length - 1
      target.stopped = true
    })
  }
}

const importer = (options: DumpImportOptions) =>
  Effect.gen(function*() {
    return new Importer(
      yield* MemoryBackend,
      yield* WorkstreamStore,
      Math.max(1, options.batchSize ?? 128),
      Math.max(1, options.messageBatchSize ?? 500)
    )
  })

const done = (imp: Importer) =>
  Stream.fromEffect(Effect.zipRight(imp.finish, Effect.sync((): ImportEvent => ({ _tag: "Done", report: imp.run.report() }))))

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
        Effect.map(Effect.forEach(chunk, (l) => imp.feed(l.endsWith("\n") ? l.slice(0, -1) : l), { discard: true }), () => {
          read += chunk.length
          return Chunk.of<ImportEvent>({ _tag: "Progress", phase: imp.phase, done: read, total: Math.max(read, options.total ?? read) })
        }))
    )
    return Stream.concat(progress, done(imp))
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
    const scanner = new LineScanner(fh, 0, size, 1024 * 1024)
    const step = Effect.gen(function*() {
      const lines = yield* Effect.tryPromise({ try: () => scanner.next(), catch: storageError(METHOD) })
      if (lines === undefined) return [Chunk.empty<ImportEvent>(), Option.none<void>()] as const
      for (const l of lines) yield* imp.feed(isBlank(l.bytes) ? "" : l.bytes.toString("utf8"))
      const event: ImportEvent = { _tag: "Progress", phase: imp.phase, done: scanner.position, total: size }
      return [Chunk.of(event), Option.some<void>(undefined)] as const
    })
    return Stream.concat(Stream.paginateChunkEffect(undefined, () => step), done(imp))
  }))
