/**
 * `fork` in steps like `promoteScratch`'s (see `promote.ts`), each leaving the store recoverable if the process dies
 * right after it:
 * 1. written: under the write lock, the source's first `atSeq` messages copied with their new ids and the fork's id
 *    into a staging directory (a name no workstream can take), fsynced; a crash here leaves only that directory,
 *    which the next open removes: no fork;
 * 2. committed: in the SAME durable transaction, the fork's record with its lineage, its index and text index, and
 *    a `forked` row claiming the staging directory (from here on, the fork exists, whole);
 * 3. installed: in a second transaction, the staging directory renamed into place and the row dropped; any reader
 *    or writer of the fork that finds the row finishes this first (as for promotions), and so does the next open.
 * The source's log and index are only read. An empty fork (atSeq 0) is its record alone.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Array as Arr, Context, DateTime, Effect, Either, Option, Stream } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { ForkRequest, ForkResult } from "../../WorkstreamStore.js"
import { parseLine, rewriteAsCopy } from "../jsonl.js"
import { fsyncDir, readRanges, scanLines, sizeOf } from "../logfile.js"
import type { RawLine } from "../logfile.js"
import { finishPromotions } from "./cleanup.js"
import { ABANDON, copyLog, SKIP } from "./copy.js"
import type { Copied, LineCopy } from "./copy.js"
import { db, io, stagingOf } from "./files.js"
import { removeDir } from "./handles.js"
import { reconcile } from "./reconcile.js"
import { saveRecord } from "./record.js"
import type { LogState } from "./schema.js"
import type { Local } from "./store.js"

/** The steps of `fork`, in order, for crash tests. */
export type ForkStep = "written" | "committed" | "installed"

/** Called after each step of `fork`; crash tests provide one that kills the process at a chosen step. */
export class ForkHook extends Context.Reference<ForkHook>()("arawn-store/WorkstreamStore/Local/ForkHook", {
  defaultValue: (): { readonly reached: (step: ForkStep) => Effect.Effect<void> } => ({ reached: () => Effect.void })
}) {}

/** The source's log state once its index is level with its log (a crash may have left lines past it). */
const settled = (local: Local, method: string, id: WorkstreamId) =>
  Effect.gen(function*() {
    yield* finishPromotions(local, method, { id })
    const state = yield* db(method)(local.q.logState(id))
    if (Option.isNone(state) || (yield* io(method, () => sizeOf(local.paths.logOf(id)))) === state.value.log_bytes) return state
    yield* Effect.catchTag(reconcile(local, method, id, false), "NotFound", () => Effect.void)
    return yield* db(method)(local.q.logState(id))
  })

const CHUNK = 5000

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The copy of `copyPrefix` through the index: it names each message's line, already validated when it was indexed,
 * so a line costs one JSON.parse, not the codec's full check. `None` when a line is no longer the message indexed
 * there (the log was edited in place), for `copyPrefix` to redo from the log alone.
 */
const copyIndexed = (local: Local, method: string, state: LogState, request: ForkRequest, target: WorkstreamId, file: string) =>
  Effect.flatMap(db(method)(local.q.prefixRows({ key: state.key, atSeq: request.atSeq })), (rows) =>
    rows.length !== request.atSeq ? Effect.succeed(Option.none<Copied>()) : copyLog(method, {
      from: local.paths.logOf(request.source),
      to: file,
      read: (src) =>
        Stream.mapEffect(Stream.fromIterable(Arr.chunksOf(rows, CHUNK)), (chunk) =>
          Effect.map(
            io(method, () => readRanges(src, chunk.map((r) => ({ offset: r.byte_offset, length: r.byte_length })))),
            (lines) => chunk.map((row, k) => [row, lines[k]!] as const)
          )),
      rewrite: ([row, line], messages): LineCopy => {
        let raw: unknown
        try {
          raw = JSON.parse(line.toString("utf8"))
        } catch {
          return ABANDON
        }
        if (!isRecord(raw) || typeof raw["id"] !== "string" || typeof raw["content"] !== "string") return ABANDON
        if (raw["id"].toLowerCase() !== row.message_id || row.role === null) return ABANDON
        const id = request.ids[messages]!
        return {
          _tag: "Line",
          bytes: Buffer.from(rewriteAsCopy(raw, target, id), "utf8"),
          message: { id, seq: row.seq, timestampMs: row.timestamp_ms, sessionId: row.session_id, role: row.role, content: raw["content"] }
        }
      }
    }).pipe(Effect.map(Option.filter((copied) => copied.entries.length === request.atSeq))))

/** Copies the first `atSeq` messages of the source to `file` as messages of `target`, indexing as it goes. */
const copyPrefix = (local: Local, method: string, state: LogState, request: ForkRequest, target: WorkstreamId, file: string) =>
  Effect.map(
    copyLog(method, {
      from: local.paths.logOf(request.source),
      to: file,
      read: (src) => Stream.map(scanLines(method, src, 0, state.log_bytes), (b) => b.lines),
      limit: request.atSeq,
      rewrite: (line: RawLine, messages): LineCopy => {
        if (!line.terminated) return SKIP
        const parsed = parseLine(line.bytes)
        // Malformed and blank lines are no messages: a fork's log holds its messages only, at the same seqs.
        if (Either.isLeft(parsed)) return SKIP
        const m = parsed.right
        const id = request.ids[messages]!
        return {
          _tag: "Line",
          bytes: Buffer.from(rewriteAsCopy(m.raw, target, id), "utf8"),
          message: { id, seq: messages + 1, timestampMs: m.timestampMs, sessionId: m.sessionId ?? null, role: m.role, content: m.content }
        }
      }
    }),
    // Nothing abandons this copy: every line is read.
    Option.getOrElse((): Copied => ({ entries: [], bytes: 0, lines: 0 }))
  )

/** Step 1: the copy in the staging directory, durable. */
const writeStaged = (local: Local, method: string, state: LogState, request: ForkRequest, target: WorkstreamId) =>
  Effect.gen(function*() {
    const dir = stagingOf(local.paths, target)
    yield* io(method, () => fs.mkdir(dir, { recursive: true }))
    const file = path.join(dir, "messages.jsonl")
    const indexed = yield* copyIndexed(local, method, state, request, target, file)
    const copied = Option.isSome(indexed) ? indexed.value : yield* copyPrefix(local, method, state, request, target, file)
    if (copied.entries.length !== request.atSeq) {
      return yield* new StorageError({
        method,
        cause: new Error(`${request.source} holds ${copied.entries.length} messages up to seq ${request.atSeq} but its index ${state.message_count}`)
      })
    }
    yield* io(method, async () => {
      await fsyncDir(dir)
      await fsyncDir(local.paths.logsDir)
    })
    return copied
  })

/** Copies the first `request.atSeq` messages of `request.source` into a new workstream. */
export const fork = (local: Local, method: string, request: ForkRequest): Effect.Effect<ForkResult, StorageError> =>
  Effect.gen(function*() {
    const hook = yield* ForkHook
    const made = yield* local.writer.exclusive(method, Effect.gen(function*() {
      const found = yield* settled(local, method, request.source)
      if (Option.isNone(found)) return { _tag: "NotFound" } as const
      const state = found.value
      if (state.message_count < request.atSeq) return { _tag: "OutOfRange", count: state.message_count } as const
      // A prune may have run since the kernel looked: a copy needs every message up to atSeq.
      if (state.pruned_through > 0) return { _tag: "Pruned", through: state.pruned_through } as const
      const id = request.id
      if (request.atSeq === 0) {
        const ws = request.target(Option.none())
        yield* db(method)(local.q.insertWorkstream(ws))
        yield* saveRecord(local, method, ws)
        return { _tag: "Forked", workstream: ws, staged: false } as const
      }
      const ws = yield* Effect.gen(function*() {
        const copied = yield* writeStaged(local, method, state, request, id)
        yield* hook.reached("written")
        const last = copied.entries[copied.entries.length - 1]!
        const ws = request.target(Option.some(DateTime.unsafeMake(last.timestampMs)))
        // Staged with the log, so the fork's directory arrives whole.
        yield* saveRecord(local, method, ws, stagingOf(local.paths, id))
        yield* db(method)(Effect.gen(function*() {
          const key = yield* local.q.insertWorkstream(ws)
          yield* local.q.setCounters(key, {
            message_count: copied.entries.length,
            log_bytes: copied.bytes,
            log_lines: copied.entries.length,
            last_message_at: last.timestampMs
          })
          yield* local.q.insertIndex(key, copied.entries)
          yield* local.q.recordPromotion(ws.id, request.source, "forked")
        }))
        return ws
      }).pipe(
        // Failed or interrupted before its commit, the fork never happened: its staging goes now, not on the next open.
        Effect.onError(() => Effect.ignore(removeDir(local.handles, local.paths, method, stagingOf(local.paths, id))))
      )
      return { _tag: "Forked", workstream: ws, staged: true } as const
    }), true)
    if (made._tag !== "Forked") return made
    if (made.staged) {
      yield* hook.reached("committed")
      // The fork exists from the commit on; if installing its log fails here, its next reader or writer does it.
      yield* Effect.catchAll(
        local.writer.exclusive(method, finishPromotions(local, method, { id: made.workstream.id, quiet: true }), true),
        (e) => Effect.logWarning("installing a fork's log failed; its next read or write retries", e.message)
      )
      yield* hook.reached("installed")
    }
    return { _tag: "Forked", workstream: made.workstream }
  })
