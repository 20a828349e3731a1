/**
 * `promoteScratch` as explicit steps, each leaving the store recoverable if the process dies right after it, and
 * each under the write lock, so no other process appends to the source meanwhile:
 * 1. written: the source log copied to a staging directory (`workstreams/.promote-<id>/`, a name no workstream
 *    can take) with every `workstream_id` rewritten, fsynced; a crash here leaves only that directory, which the
 *    next holder of the lock on open removes;
 * 2. committed: in the SAME transaction, durably, the target with its index, the source's index and counters
 *    emptied, and a `committed` promotion row (from here on, the promotion has happened);
 * 3. renamed: the staging directory moved into place as the target's;
 * 4. truncated: the source log emptied and the promotion row dropped, durably.
 * Steps 3 and 4 run in a second transaction; any reader or writer of either workstream that finds the row finishes
 * them first, under the lock, so an append to the source never lands in bytes about to be cut.
 */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { Context, DateTime, Effect, Either, Option, Stream } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Workstream } from "../../Workstream.js"
import { Summary } from "../../WorkstreamContext.js"
import type { PromoteRequest } from "../../WorkstreamStore.js"
import { parseLine, rewriteWorkstreamId } from "../jsonl.js"
import { fsyncDir, scanLines, sizeOf } from "../logfile.js"
import type { RawLine } from "../logfile.js"
import { finishPromotions } from "./cleanup.js"
import { copyLog, SKIP } from "./copy.js"
import type { Copied, LineCopy } from "./copy.js"
import { db, io, stagingOf } from "./files.js"
import { removeDir } from "./handles.js"
import { reconcile } from "./reconcile.js"
import { saveRecord } from "./record.js"
import type { LogState } from "./schema.js"
import { readSummaries, saveSummaries } from "./summaries.js"
import type { Local } from "./store.js"

/** The steps of `promoteScratch`, in order, for crash tests. */
export type PromoteStep = "written" | "committed" | "renamed" | "truncated"

/** Called after each step of `promoteScratch`; crash tests provide one that kills the process at a chosen step. */
export class PromoteHook extends Context.Reference<PromoteHook>()("arawn-store/WorkstreamStore/Local/PromoteHook", {
  defaultValue: (): { readonly reached: (step: PromoteStep) => Effect.Effect<void> } => ({ reached: () => Effect.void })
}) {}

/** The source's log state once its index is level with its log; `None` when it is absent or empty. */
const settledSource = (local: Local, method: string, id: WorkstreamId) =>
  Effect.gen(function*() {
    let state = yield* db(method)(local.q.logState(id))
    if (Option.isSome(state) && (yield* io(method, () => sizeOf(local.paths.logOf(id)))) !== state.value.log_bytes) {
      yield* Effect.catchTag(reconcile(local, method, id, false), "NotFound", () => Effect.void)
      state = yield* db(method)(local.q.logState(id))
    }
    return Option.filter(state, (s) => s.message_count > 0)
  })

const NEWLINE = Buffer.from("\n")

/** Copies the source's log to `temp` with the target's id in every message line, indexing as it goes. */
const copyRewritten = (local: Local, method: string, source: WorkstreamId, state: LogState, target: WorkstreamId, temp: string) =>
  Effect.map(
    copyLog(method, {
      from: local.paths.logOf(source),
      to: temp,
      read: (fh) => Stream.map(scanLines(method, fh, 0, state.log_bytes), (b) => b.lines),
      rewrite: (line: RawLine, messages): LineCopy => {
        if (!line.terminated) return SKIP
        const parsed = parseLine(line.bytes)
        // Malformed and blank lines travel verbatim: they are reported again, never silently dropped.
        if (Either.isLeft(parsed)) return { _tag: "Line", bytes: Buffer.concat([line.bytes, NEWLINE]) }
        const m = parsed.right
        return {
          _tag: "Line",
          bytes: Buffer.from(rewriteWorkstreamId(m, target), "utf8"),
          message: { seq: messages + 1, timestampMs: m.timestampMs, sessionId: m.sessionId ?? null, id: m.id, role: m.role, content: m.content }
        }
      }
    }),
    // Nothing abandons this copy: every line is copied.
    Option.getOrElse((): Copied => ({ entries: [], bytes: 0, lines: 0 }))
  )

/** Step 1: the rewritten copy in the staging directory, durable. */
const writeStaged = (local: Local, method: string, source: WorkstreamId, state: LogState, target: WorkstreamId) =>
  Effect.gen(function*() {
    const dir = stagingOf(local.paths, target)
    const file = path.join(dir, "messages.jsonl")
    yield* io(method, () => fs.mkdir(dir, { recursive: true }))
    const copied = yield* copyRewritten(local, method, source, state, target, file)
    if (copied.entries.length !== state.message_count) {
      return yield* new StorageError({
        method,
        cause: new Error(`${source} holds ${copied.entries.length} messages but its index ${state.message_count}`)
      })
    }
    yield* io(method, async () => {
      await fsyncDir(dir)
      await fsyncDir(local.paths.logsDir)
    })
    return copied
  })

/** Step 2, the commit point: the target, its index and the emptied source, all at once. */
const commit = (local: Local, method: string, source: { readonly key: number; readonly id: WorkstreamId }, ws: Workstream, copied: Copied, now: DateTime.Utc) =>
  db(method)(Effect.gen(function*() {
    const key = yield* local.q.insertWorkstream(ws)
    yield* local.q.setCounters(key, {
      message_count: copied.entries.length,
      log_bytes: copied.bytes,
      log_lines: copied.lines,
      last_message_at: copied.entries[copied.entries.length - 1]!.timestampMs
    })
    yield* local.q.insertIndex(key, copied.entries)
    yield* local.q.clearIndex(source.key)
    yield* local.q.setCounters(source.key, { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null }, now.epochMillis)
    yield* local.q.recordPromotion(ws.id, source.id)
  }))

/** Moves the whole log of `request.source` into a new workstream. */
export const promote = (local: Local, method: string, request: PromoteRequest) =>
  Effect.gen(function*() {
    const hook = yield* PromoteHook
    const promoted = yield* local.writer.exclusive(method, Effect.gen(function*() {
      const found = yield* settledSource(local, method, request.source)
      if (Option.isNone(found)) return { _tag: "Empty" } as const
      const branches = yield* db(method)(local.q.branches(request.source))
      if (branches.length > 0) return { _tag: "HasBranches", branches } as const
      const source = found.value
      const ws = request.target({ count: source.message_count, lastMessageAt: DateTime.unsafeMake(source.last_message_at ?? 0) })
      local.states.delete(request.source)
      yield* Effect.gen(function*() {
        const copied = yield* writeStaged(local, method, request.source, source, ws.id)
        // Staged with the log, so the target's directory arrives whole.
        yield* saveRecord(local, method, ws, stagingOf(local.paths, ws.id))
        const summaries = yield* readSummaries(method, local.paths.dirOf(request.source))
        if (summaries.length > 0) {
          yield* saveSummaries(method, stagingOf(local.paths, ws.id), summaries.map((s) => new Summary({ ...s, workstreamId: ws.id })))
        }
        yield* hook.reached("written")
        yield* commit(local, method, { key: source.key, id: request.source }, ws, copied, request.now)
      }).pipe(
        // Failed or interrupted before its commit, the promotion never happened: its staging goes now, not on the next open.
        Effect.onError(() => Effect.ignore(removeDir(local.handles, local.paths, method, stagingOf(local.paths, ws.id))))
      )
      return { _tag: "Promoted", workstream: ws } as const
    }), true)
    if (promoted._tag !== "Promoted") return promoted
    yield* hook.reached("committed")
    // From here the promotion has happened; if finishing it fails, the next reader or writer of either finishes it.
    yield* Effect.catchAll(
      local.writer.exclusive(method, finishPromotions(local, method, { id: promoted.workstream.id, quiet: true, reached: hook.reached }), true),
      (e) => Effect.logWarning("finishing a promotion failed; the next read or write of scratch retries", e.message)
    )
    yield* hook.reached("truncated")
    return promoted
  })
