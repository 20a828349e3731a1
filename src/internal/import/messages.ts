/**
 * The original runtime's logs, streamed into the target workstreams: each log is read in chunks through the one
 * log-line codec (`jsonl.ts`) and appended `messageBatchSize` messages at a time, so memory stays O(batch) whatever
 * the log's length. A re-run is decided by message id: a line whose id the target workstream already holds is
 * skipped (the target may hold messages of its own, as scratch often does, which must not hide the original's).
 */
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import { Chunk, Effect, Either, Option, Stream } from "effect"
import type { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { ImportEvent } from "./events.js"
import type { WriteError } from "../../MemoryBackend.js"
import type { NewMessage } from "../../Workstream.js"
import { WorkstreamStore } from "../../WorkstreamStore.js"
import { parseLine, toNewMessage } from "../jsonl.js"
import { isBlank, scanLines } from "../logfile.js"
import type { LineBatch, RawLine } from "../logfile.js"
import { findLog, storageError, tryFs } from "./source.js"
import { presentIds } from "./run.js"
import type { Run } from "./source.js"

const METHOD = "Import.messages"
const CHUNK = 1024 * 1024

/**
 * One log line as a `NewMessage` keeping its id, timestamp, session and metadata, by the rules of the log codec
 * (`src/internal/jsonl.ts`); or why it is not a message.
 *
 * @category conversions
 */
export const messageFromLine = (line: string): Either.Either<NewMessage, string> =>
  Either.map(parseLine(Buffer.from(line, "utf8")), toNewMessage)

interface LogState {
  /** The last chunk of lines read, converted up to `at`. */
  queue: ReadonlyArray<RawLine>
  at: number
  /** The byte offset the lines read so far end at. */
  position: number
  lineNumber: number
  /** Set once an append failed on a caller error: later messages would land past a gap, so none is appended. */
  stopped: boolean
  eof: boolean
}

/** Reads lines until `batch` messages are ready or the log ends; returns them (failures and skips are tallied). */
const nextBatch = (pull: Effect.Effect<Chunk.Chunk<LineBatch>, Option.Option<StorageError>>, s: LogState, id: WorkstreamId, present: Set<string>, batch: number, run: Run) =>
  Effect.gen(function*() {
    const out: Array<NewMessage> = []
    while (out.length < batch) {
      if (s.at >= s.queue.length) {
        if (s.eof) break
        // The pull fails with `None` once the log has no more lines.
        const batches = yield* Effect.catchAll(pull, Option.match({
          onNone: () => Effect.succeed(undefined),
          onSome: (e) => Effect.fail(e)
        }))
        if (batches === undefined) {
          s.eof = true
          continue
        }
        s.queue = Chunk.toReadonlyArray(batches).flatMap((b) => b.lines)
        s.position = Option.getOrElse(Option.map(Chunk.last(batches), (b) => b.position), () => s.position)
        s.at = 0
        continue
      }
      const line = s.queue[s.at++]!
      s.lineNumber++
      if (isBlank(line.bytes)) continue
      const parsed = parseLine(line.bytes)
      if (Either.isLeft(parsed)) {
        run.fail(run.messages, { entity: "message", id: `${id}:${s.lineNumber}`, reason: parsed.left })
      } else if (present.has(parsed.right.id)) {
        run.messages.skipped++
      } else if (s.stopped) {
        run.messages.failed++
      } else {
        present.add(parsed.right.id)
        out.push(toNewMessage(parsed.right))
      }
    }
    return out
  })

/** Appends one batch; a caller error stops the rest of the log (counted as failed), a storage error stops the import. */
const appendBatch = (store: WorkstreamStore["Type"], id: WorkstreamId, batch: ReadonlyArray<NewMessage>, s: LogState, run: Run) =>
  Effect.gen(function*() {
    if (batch.length === 0) return
    const stored = yield* Effect.either(store.storeMessages(id, batch))
    if (Either.isRight(stored)) return void (run.messages.imported += stored.right.length)
    if (stored.left._tag === "StorageError") return yield* stored.left
    run.fail(run.messages, { entity: "message", id: `${id}`, reason: `messages up to line ${s.lineNumber} and after not appended: ${stored.left.message}` })
    run.messages.failed += batch.length - 1
    s.stopped = true
  })

/** One log as a stream of progress events (cumulative bytes of every log, from `base`). */
const importLog = (
  id: WorkstreamId,
  file: string,
  base: number,
  total: number,
  batch: number,
  run: Run
): Stream.Stream<ImportEvent, WriteError, WorkstreamStore> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const store = yield* WorkstreamStore
    const fh: FileHandle = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => fs.open(file, "r"), catch: storageError(METHOD) }),
      (h) => Effect.promise(() => h.close())
    )
    const size = (yield* Effect.tryPromise({ try: () => fh.stat(), catch: storageError(METHOD) })).size
    const present = yield* presentIds(store, id)
    const pull = yield* Stream.toPull(scanLines(METHOD, fh, 0, size, CHUNK))
    const s: LogState = { queue: [], at: 0, position: 0, lineNumber: 0, stopped: false, eof: false }
    const step = Effect.gen(function*() {
      const messages = yield* nextBatch(pull, s, id, present, batch, run)
      yield* appendBatch(store, id, messages, s, run)
      const done = s.eof && s.at >= s.queue.length
      const event: ImportEvent = { _tag: "Progress", phase: "messages", done: base + (done ? size : s.position), total }
      return [event, done ? Option.none<void>() : Option.some<void>(undefined)] as const
    })
    return Stream.paginateEffect(undefined, () => step)
  }))

/** The logs of `targets`, one after the other; progress counts bytes of log read. */
export const messagePhase = (
  dataDir: string,
  targets: ReadonlyArray<WorkstreamId>,
  batch: number,
  run: Run
): Stream.Stream<ImportEvent, WriteError, WorkstreamStore> =>
  Stream.unwrap(Effect.gen(function*() {
    const logs = yield* tryFs(METHOD, () =>
      targets.flatMap((id) =>
        Option.match(findLog(dataDir, id), { onNone: () => [], onSome: (file) => [{ id, file }] })
      ))
    const sizes = yield* Effect.forEach(logs, (l) => Effect.tryPromise({ try: () => fs.stat(l.file), catch: storageError(METHOD) }))
    const total = sizes.reduce((n, st) => n + st.size, 0)
    let base = 0
    return Stream.fromIterable(logs.entries()).pipe(
      Stream.flatMap(([i, log]) => {
        const start = base
        base += sizes[i]!.size
        return importLog(log.id, log.file, start, total, batch, run)
      })
    )
  }))
