/**
 * Pruning a prefix of a local log, under the write lock and crash-safe at every step. The log is rewritten without
 * the prefix (the kept lines, byte for byte, in the original's format): copied into `messages.jsonl.prune` and
 * fsynced (1, "copied"); a marker `prune.json` naming the new start is written atomically (2, "marked"); the copy
 * is renamed over the log and the directory fsynced (3, "renamed"); the index forgets the prefix, moves the rest
 * back, and commits with the record (4, "committed"); the marker goes in a later write, once the commit is
 * visible. A crash before the rename leaves the old log whole (the copy and marker are dropped); after it, the
 * marker says where the log now starts, and the next writer (or open) rolls the index forward to it. The text
 * index is then merged (bounded, see `mergeText`) and freed pages of the index are given back with
 * `PRAGMA incremental_vacuum` (stores created with auto_vacuum on; see `vacuum`).
 */
import * as fs from "node:fs/promises"
import { Context, Effect, Option, Schema } from "effect"
import type { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { PruneRequest, PruneResult } from "../../WorkstreamStore.js"
import { fsyncDir, sizeOf } from "../logfile.js"
import { MAX_DEPTH } from "../workstreamTree.js"
import { db, io } from "./files.js"
import { tables } from "./schema.js"
import { finishPrune, reconcile, saveFromIndex } from "./reconcile.js"
import { copyOf, markerOf, writeMarker } from "./pruneMarker.js"
import type { Local } from "./store.js"

/** The steps of `prune`, in order, for crash tests. */
export type PruneStep = "copied" | "marked" | "renamed" | "committed"

/** Called after each step of `prune`; crash tests provide one that kills the process at a chosen step. */
export class PruneHook extends Context.Reference<PruneHook>()("arawn-store/WorkstreamStore/Local/PruneHook", {
  defaultValue: (): { readonly reached: (step: PruneStep) => Effect.Effect<void> } => ({ reached: () => Effect.void })
}) {}

/** Copies bytes `from`..`to` of `source` into a new `target`, durably; returns how many lines they hold. */
const copyTail = (method: string, source: string, target: string, from: number, to: number) =>
  io(method, async () => {
    const src = await fs.open(source, "r")
    const dst = await fs.open(target, "w")
    let lines = 0
    try {
      const buffer = Buffer.allocUnsafe(4 * 1024 * 1024)
      for (let at = from; at < to;) {
        const { bytesRead } = await src.read(buffer, 0, Math.min(buffer.length, to - at), at)
        if (bytesRead === 0) throw new Error(`${source} ended at byte ${at}, before its indexed end ${to}`)
        for (let i = 0; i < bytesRead; i++) if (buffer[i] === 0x0a) lines++
        let written = 0
        while (written < bytesRead) written += (await dst.write(buffer, written, bytesRead - written)).bytesWritten
        at += bytesRead
      }
      await dst.sync()
    } finally {
      await src.close()
      await dst.close()
    }
    return lines
  })

const pragmaValue = (local: Local, name: "auto_vacuum" | "page_size" | "freelist_count") =>
  Effect.flatMap(local.sql.unsafe(`PRAGMA ${name}`), (rows) =>
    Effect.map(Schema.decodeUnknown(Schema.Array(Schema.Struct({ [name]: Schema.Number })))(rows), (r) => r[0]?.[name] ?? 0))

/** Free pages given back per write-lock hold: a few milliseconds, so appends of other processes are not held up. */
const VACUUM_STEP = 2000

/**
 * Gives the index's free pages back to the file system with `PRAGMA incremental_vacuum`, in short holds of the
 * write lock. Through a prepared statement the pragma frees one page per run, hence the loop. A store made before
 * auto_vacuum was set frees none (it reuses its free pages in place). Returns the bytes freed.
 */
const vacuum = (local: Local, method: string) =>
  db(method)(Effect.gen(function*() {
    if ((yield* pragmaValue(local, "auto_vacuum")) !== 2) return 0
    const pageSize = yield* pragmaValue(local, "page_size")
    let freed = 0
    for (;;) {
      const step = yield* local.writer.exclusive(method, Effect.gen(function*() {
        const before = yield* pragmaValue(local, "freelist_count")
        for (let i = 0; i < Math.min(before, VACUUM_STEP); i++) yield* local.sql.unsafe("PRAGMA incremental_vacuum")
        return { before, after: yield* pragmaValue(local, "freelist_count") }
      }))
      freed += (step.before - step.after) * pageSize
      if (step.after === 0 || step.after >= step.before) return freed
    }
  }))

/** Pages of text-index merge work per write-lock hold (a few milliseconds, as `VACUUM_STEP`). */
const MERGE_STEP = 200

/** Removed messages per merge hold a prune may spend: the merge rewrites the index, so its work is bounded by the prune's size. */
const MESSAGES_PER_MERGE = 500

const totalChanges = (local: Local) =>
  Effect.flatMap(local.sql`SELECT total_changes() AS n`, (rows) =>
    Effect.map(Schema.decodeUnknown(Schema.Array(Schema.Struct({ n: Schema.Number })))(rows), (r) => r[0]?.n ?? 0))

/**
 * Merges the text index's segments after a prune: FTS5 deletes only add delete markers beside the rows' entries,
 * and a merge drops both, so `vacuum` can give their pages back. A merge of the whole index costs as much as the
 * index, so it runs in holds of `MERGE_STEP` pages, at most one per `MESSAGES_PER_MERGE` messages removed; the
 * first starts a merge of every segment (a negative step), the next ones continue it, and a later prune goes on
 * where this one stopped. It stops early once a step does nothing (`total_changes` moves by less than 2).
 */
const mergeText = (local: Local, method: string, removed: number) =>
  db(method)(Effect.gen(function*() {
    const text = local.sql(tables(local.prefix).text)
    const holds = Math.ceil(removed / MESSAGES_PER_MERGE)
    for (let i = 0; i < holds; i++) {
      const step = i === 0 ? -MERGE_STEP : MERGE_STEP
      const changed = yield* local.writer.exclusive(method, Effect.gen(function*() {
        const before = yield* totalChanges(local)
        yield* local.sql`INSERT INTO ${text}(${text}, rank) VALUES ('merge', ${step})`
        return (yield* totalChanges(local)) - before
      }))
      if (changed < 2) return
    }
  }))

/**
 * Under the write lock: how far `id`'s path is pruned at `atSeq`, when the message there is gone (`None` when it is
 * there). The log holding seq `atSeq` is found by walking up the lineage past each fork point at or above it; a
 * prune only ever removes a prefix, so that log's own start decides. A fork or branch checks this where no prune
 * can run in between.
 */
export const prunedAt = (local: Local, method: string, id: WorkstreamId, atSeq: number) =>
  db(method)(Effect.gen(function*() {
    if (atSeq === 0) return Option.none<number>()
    let state = yield* local.q.logState(id)
    let upTo = Number.POSITIVE_INFINITY
    for (let depth = 0; Option.isSome(state) && depth < MAX_DEPTH; depth++) {
      const s = state.value
      if (s.inherits_from === null || atSeq > s.fork_seq) {
        return atSeq <= s.pruned_through ? Option.some(Math.min(s.pruned_through, upTo)) : Option.none<number>()
      }
      upTo = Math.min(upTo, s.fork_seq)
      state = yield* local.q.logState(s.inherits_from)
    }
    return Option.none<number>()
  }))

/** The steps 1 to 4 under the lock (see the module's doc). */
const pruneLocked = (local: Local, method: string, request: PruneRequest) =>
  Effect.gen(function*() {
    const hook = yield* PruneHook
    const id = request.id
    yield* finishPrune(local, method, id)
    let found = yield* db(method)(local.q.logState(id))
    if (Option.isNone(found)) return { _tag: "NotFound" } as const
    const log = local.paths.logOf(id)
    if ((yield* io(method, () => sizeOf(log))) !== found.value.log_bytes) {
      yield* Effect.catchTag(reconcile(local, method, id, false), "NotFound", () => Effect.void)
      found = yield* db(method)(local.q.logState(id))
      if (Option.isNone(found)) return { _tag: "NotFound" } as const
    }
    const state = found.value
    const known = new Set<string>([id, ...request.shared])
    const below = yield* db(method)(local.q.subtree(id))
    if (state.base !== request.from || below.some((b) => !known.has(b))) return { _tag: "Changed" } as const
    const through = Math.min(request.through, state.message_count)
    if (through <= state.base) return { _tag: "Pruned", removed: 0, bytes: 0 } as const
    const next = yield* db(method)(local.q.firstAfter(state.key, through))
    const cut = Option.match(next, { onNone: () => state.log_bytes, onSome: (r) => r.byte_offset })
    local.states.delete(id)
    const copy = copyOf(local.paths, id)
    const kept = yield* copyTail(method, log, copy, cut, state.log_bytes)
    yield* hook.reached("copied")
    yield* writeMarker(method, markerOf(local.paths, id), through)
    yield* hook.reached("marked")
    yield* local.handles.retire(log)
    yield* io(method, async () => {
      await fs.rename(copy, log)
      await fsyncDir(local.paths.dirOf(id))
    })
    yield* hook.reached("renamed")
    yield* db(method)(local.q.dropPrefix(state.key, through, cut, state.log_lines - kept))
    yield* saveFromIndex(local, method, id)
    return { _tag: "Pruned", removed: through - state.base, bytes: cut } as const
  })

/**
 * Removes messages `from + 1..through` of `id`'s own log (see the module's doc). A failure before the commit is
 * settled at once under the lock: rolled back before the rename, forward after it.
 */
export const prune = (local: Local, method: string, request: PruneRequest): Effect.Effect<PruneResult, StorageError> =>
  Effect.gen(function*() {
    const hook = yield* PruneHook
    const result = yield* local.writer.exclusive(method, pruneLocked(local, method, request), true, finishPrune(local, method, request.id))
    if (result._tag !== "Pruned" || result.removed === 0) return result
    yield* hook.reached("committed")
    yield* local.writer.exclusive(method, finishPrune(local, method, request.id), true)
    yield* mergeText(local, method, result.removed)
    const freed = yield* vacuum(local, method)
    return { ...result, bytes: result.bytes + freed }
  })
