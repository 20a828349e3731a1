/**
 * `promoteScratch` as explicit steps, each leaving the store recoverable if the process dies right after it:
 * 1. intent: a `writing` promotion row, durably (recovery on open rolls it back);
 * 2. written: the source log copied to `<target>/messages.jsonl.tmp` with every `workstream_id` rewritten;
 * 3. renamed: the copy moved into place;
 * 4. committed: ONE transaction inserts the target with its index, empties the source's index and counters and
 *    marks the promotion committed (from here on, the promotion has happened);
 * 5. truncated: the source log emptied and the promotion row dropped (finished on the next read or open if not).
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
import { finishPromotions, removeTarget } from "./cleanup.js"
import { closeQuietly, db, io, withFile } from "./files.js"
import { reconcile } from "./reconcile.js"
import type { IndexEntry, LogState } from "./schema.js"
import type { Local } from "./store.js"
import { durably } from "./store.js"

/** The steps of `promoteScratch`, in order, for crash tests. */
export type PromoteStep = "intent" | "written" | "renamed" | "committed" | "truncated"

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
                    sessionId: parsed.right.sessionId ?? null
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

/** Steps 2 and 3: the rewritten copy, in place and durable. */
const writeTarget = (local: Local, method: string, source: WorkstreamId, state: LogState, target: WorkstreamId) =>
  Effect.gen(function*() {
    const hook = yield* PromoteHook
    const dir = local.paths.dirOf(target)
    const temp = path.join(dir, "messages.jsonl.tmp")
    yield* io(method, () => fs.mkdir(dir, { recursive: true }))
    const copied = yield* copyRewritten(local, method, source, state, target, temp)
    if (copied.entries.length !== state.message_count) {
      return yield* new StorageError({
        method,
        cause: new Error(`${source} holds ${copied.entries.length} messages but its index ${state.message_count}`)
      })
    }
    yield* hook.reached("written")
    yield* io(method, async () => {
      await fs.rename(temp, local.paths.logOf(target))
      await fsyncDir(dir)
      await fsyncDir(local.paths.logsDir)
    })
    yield* hook.reached("renamed")
    return copied
  })

/** Step 4, the commit point: the target, its index and the emptied source, all at once. */
const commit = (local: Local, method: string, source: LogState, ws: Workstream, copied: Copied, now: DateTime.Utc) =>
  db(method)(durably(local)(Effect.gen(function*() {
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
    yield* local.q.commitPromotion(ws.id)
  })))

/** Moves the whole log of `request.source` into a new workstream; call with the source's lock held. */
export const promote = (local: Local, method: string, request: PromoteRequest) =>
  Effect.gen(function*() {
    const hook = yield* PromoteHook
    const found = yield* settledSource(local, method, request.source)
    if (Option.isNone(found)) return Option.none<Workstream>()
    const source = found.value
    const lastMessageAt = DateTime.unsafeMake(source.last_message_at ?? 0)
    const ws = request.target({ count: source.message_count, lastMessageAt })
    yield* db(method)(durably(local)(local.q.recordPromotion(ws.id, request.source)))
    yield* hook.reached("intent")
    const rollback = Effect.ignore(Effect.zipRight(removeTarget(local, method, ws.id), db(method)(local.q.forgetPromotion(ws.id))))
    const copied = yield* writeTarget(local, method, request.source, source, ws.id).pipe(Effect.tapError(() => rollback))
    yield* commit(local, method, source, ws, copied, request.now).pipe(
      Effect.tapError(() => rollback),
      Effect.ensuring(Effect.sync(() => local.states.delete(request.source)))
    )
    yield* hook.reached("committed")
    // From here the promotion is done; emptying the source's log is finished on the next read or open if this fails.
    yield* Effect.catchAll(finishPromotions(local, method, { source: request.source, quiet: true }), (e) =>
      Effect.logWarning("emptying the scratch log after promotion failed; it will be retried", e.message))
    yield* hook.reached("truncated")
    return Option.some(ws)
  })
