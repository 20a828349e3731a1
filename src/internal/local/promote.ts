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
import { Context, DateTime, Effect, Either, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { Workstream } from "../../Workstream.js"
import type { PromoteRequest } from "../../WorkstreamStore.js"
import { parseLine, rewriteWorkstreamId } from "../jsonl.js"
import { fsyncDir, LineScanner, sizeOf } from "../logfile.js"
import { finishPromotions } from "./cleanup.js"
import { closeQuietly, db, io, removeDir, stagingOf, withFile } from "./files.js"
import { reconcile } from "./reconcile.js"
import { saveRecord } from "./record.js"
import type { IndexEntry, LogState } from "./schema.js"
import type { Local } from "./store.js"

/** The steps of `promoteScratch`, in order, for crash tests. */
export type PromoteStep = "written" | "committed" | "renamed" | "truncated"

/** Called after each step of `promoteScratch`; crash tests provide one that kills the process at a chosen step. */
export class PromoteHook extends Context.Reference<PromoteHook>()("arawn-store/WorkstreamStore/Local/PromoteHook", {
  defaultValue: (): { readonly reached: (step: PromoteStep) => Effect.Effect<void> } => ({ reached: () => Effect.void })
}) {}

interface Copied {
  readonly entries: ReadonlyArray<IndexEntry>
  readonly bytes: number
  readonly lines: number
}

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

/** Copies the source's log to `temp` with the target's id in every message line, indexing as it goes. */
const copyRewritten = (local: Local, method: string, source: WorkstreamId, state: LogState, target: WorkstreamId, temp: string) =>
  withFile(method, local.paths.logOf(source), "r", (src) =>
    Effect.acquireUseRelease(
      io(method, () => fs.open(temp, "w")),
      (out) =>
        io(method, async (): Promise<Copied> => {
          const entries: Array<IndexEntry> = []
          let bytes = 0
          let lines = 0
          if (src !== undefined) {
            const scanner = new LineScanner(src, 0, state.log_bytes)
            for (let batch = await scanner.next(); batch !== undefined; batch = await scanner.next()) {
              const parts: Array<Buffer> = []
              for (const line of batch) {
                if (!line.terminated) continue
                lines++
                const parsed = parseLine(line.bytes)
                // Malformed and blank lines travel verbatim: they are reported again, never silently dropped.
                const out = Either.isRight(parsed)
                  ? Buffer.from(rewriteWorkstreamId(parsed.right, target), "utf8")
                  : Buffer.concat([line.bytes, Buffer.from("\n")])
                if (Either.isRight(parsed)) {
                  entries.push({
                    seq: entries.length + 1,
                    offset: bytes,
                    length: out.length - 1,
                    timestampMs: parsed.right.timestampMs,
                    sessionId: parsed.right.sessionId ?? null,
                    id: parsed.right.id,
                    role: parsed.right.role,
                    content: parsed.right.content
                  })
                }
                parts.push(out)
                bytes += out.length
              }
              const chunk = Buffer.concat(parts)
              let done = 0
              while (done < chunk.length) done += (await out.write(chunk, done, chunk.length - done)).bytesWritten
            }
          }
          await out.sync()
          return { entries, bytes, lines }
        }),
      closeQuietly
    ))

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
      if (Option.isNone(found)) return Option.none<Workstream>()
      const source = found.value
      const ws = request.target({ count: source.message_count, lastMessageAt: DateTime.unsafeMake(source.last_message_at ?? 0) })
      local.states.delete(request.source)
      const copied = yield* writeStaged(local, method, request.source, source, ws.id)
      // Staged with the log, so the target's directory arrives whole.
      yield* saveRecord(local, method, ws, stagingOf(local.paths, ws.id))
      yield* hook.reached("written")
      yield* commit(local, method, { key: source.key, id: request.source }, ws, copied, request.now).pipe(
        Effect.tapError(() => Effect.ignore(removeDir(local.pool, local.paths, method, stagingOf(local.paths, ws.id))))
      )
      return Option.some(ws)
    }), true)
    if (Option.isNone(promoted)) return promoted
    yield* hook.reached("committed")
    // From here the promotion has happened; if finishing it fails, the next reader or writer of either finishes it.
    yield* Effect.catchAll(
      local.writer.exclusive(method, finishPromotions(local, method, { id: promoted.value.id, quiet: true, reached: hook.reached }), true),
      (e) => Effect.logWarning("finishing a promotion failed; the next read or write of scratch retries", e.message)
    )
    yield* hook.reached("truncated")
    return promoted
  })
