/**
 * Writing a dump: the header, every memory (all namespaces, superseded ones included) with its history, then each
 * workstream followed by its messages in seq order, read a page at a time so a long log never sits in memory, and
 * then the summaries made on it. A branch comes after the workstream it shares messages with, with its own messages
 * and summaries only.
 */
import { Chunk, DateTime, Effect, Option, Schema, Stream } from "effect"
import type { InvalidInput, NotFound } from "../../Errors.js"
import { StorageError } from "../../Errors.js"
import { SCRATCH_ID } from "../../Ids.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Memory } from "../../Memory.js"
import { MemoryBackend } from "../../MemoryBackend.js"
import type { Workstream } from "../../Workstream.js"
import { WorkstreamStore } from "../../WorkstreamStore.js"
import { encodeMessage } from "../jsonl.js"
import { ownStart } from "../workstreamRetention.js"
import { DumpHeader, DumpMemory, DumpSummary, DumpWorkstream, FORMAT } from "./schema.js"

/** @category options */
export interface ExportOptions {
  /** Workstreams per list page and messages per read; default 1,000. */
  readonly pageSize?: number
}

const encodeHeader = Schema.encodeSync(DumpHeader)
const encodeMemory = Schema.encode(DumpMemory)
const encodeWorkstream = Schema.encode(DumpWorkstream)
const encodeSummary = Schema.encode(DumpSummary)

const line = (value: unknown) => JSON.stringify(value) + "\n"

/** Every value was decoded by the store it came from, so an encode failure means a broken store: a StorageError. */
const encoded = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.mapBoth(effect, { onFailure: (cause) => new StorageError({ method: "Dump.export", cause }), onSuccess: line })

const memoryLine = (memories: MemoryBackend["Type"], memory: Memory) =>
  Effect.gen(function*() {
    const history = Chunk.toReadonlyArray(yield* Stream.runCollect(memories.history(memory.id)))
    return yield* encoded(encodeMemory({ kind: "memory", memory, history }))
  })

const listPages = (store: WorkstreamStore["Type"], pageSize: number, forkedFrom?: WorkstreamId) =>
  Stream.paginateChunkEffect(Option.none<string>(), (cursor) =>
    Effect.map(
      store.list({
        limit: Math.min(pageSize, 1000),
        ...(forkedFrom !== undefined ? { forkedFrom } : {}),
        ...Option.match(cursor, { onNone: () => ({}), onSome: (c) => ({ cursor: c }) })
      }),
      (page) => [Chunk.fromIterable(page.items), Option.map(page.nextCursor, Option.some)] as const
    ))

const isBranch = (ws: Workstream) => ws.forkedFrom?.shared === true

/** `ws`, then each branch below it, each after the workstream whose messages it shares (an import needs it there). */
const withBranches = (store: WorkstreamStore["Type"], pageSize: number, ws: Workstream): Stream.Stream<Workstream, InvalidInput | StorageError> =>
  Stream.concat(
    Stream.make(ws),
    Stream.flatMap(Stream.filter(listPages(store, pageSize, ws.id), isBranch), (branch) => withBranches(store, pageSize, branch))
  )

/** Every workstream: the scratch one (if it exists) first, then each list page in turn, branches after their sources. */
const workstreams = (store: WorkstreamStore["Type"], pageSize: number) => {
  const scratch = Stream.flatMap(Stream.fromEffect(store.get(SCRATCH_ID)), (o) => Stream.fromIterable(Option.toArray(o)))
  const roots = Stream.filter(listPages(store, pageSize), (w) => w.id !== SCRATCH_ID && !isBranch(w))
  return Stream.flatMap(Stream.concat(scratch, roots), (ws) => withBranches(store, pageSize, ws))
}

/**
 * A workstream's own messages: a branch's start after its fork point (those before are its source's, exported
 * there), a pruned one's after what prune removed.
 */
const messageLines = (store: WorkstreamStore["Type"], ws: Workstream, pageSize: number) =>
  Stream.paginateChunkEffect(ownStart(ws), (afterSeq) =>
    // Seqs are gap-free, so (afterSeq, afterSeq + pageSize] is exactly the next page (`limit` alone keeps the last ones).
    Effect.map(store.loadMessages(ws.id, { afterSeq, beforeSeq: afterSeq + pageSize + 1 }), (messages) => {
      const lines = messages.map((m) => line({ kind: "message", seq: m.seq, line: JSON.parse(encodeMessage(m)) }))
      const last = messages[messages.length - 1]
      return [Chunk.fromIterable(lines), last !== undefined && messages.length === pageSize ? Option.some(last.seq) : Option.none()] as const
    }))

/** The summaries made on `ws` (not those it inherits: they are exported with the workstream that made them). */
const summaryLines = (store: WorkstreamStore["Type"], ws: Workstream) =>
  Stream.flatMap(Stream.fromEffect(store.listSummaries(ws.id)), (summaries) =>
    Stream.mapEffect(Stream.fromIterable(summaries.filter((x) => x.workstreamId === ws.id)), (summary) =>
      encoded(encodeSummary({ kind: "summary", summary }))))

/**
 * The store as dump lines (each ending in a newline). Memories that have expired are not exported. A workstream
 * whose messages are appended while the export runs may be exported with some of them.
 *
 * @category export
 */
export const exportDump = (
  options: ExportOptions = {}
): Stream.Stream<string, InvalidInput | NotFound | StorageError, MemoryBackend | WorkstreamStore> =>
  Stream.unwrap(Effect.gen(function*() {
    const pageSize = Math.max(1, options.pageSize ?? 1000)
    const memories = yield* MemoryBackend
    const store = yield* WorkstreamStore
    const header = line(encodeHeader({ kind: FORMAT, version: 1, exportedAt: yield* DateTime.now }))
    const memoryLines = Stream.mapEffect(memories.list({ includeSuperseded: true }), (m) => memoryLine(memories, m))
    const workstreamLines = Stream.flatMap(workstreams(store, pageSize), (ws) =>
      Stream.concat(
        Stream.fromEffect(encoded(encodeWorkstream({ kind: "workstream", workstream: ws }))),
        Stream.concat(messageLines(store, ws, pageSize), summaryLines(store, ws))
      ))
    return Stream.concat(Stream.make(header), Stream.concat(memoryLines, workstreamLines))
  }))
