/**
 * The inspector's store endpoint: counts, the embedding space and whether the stored vectors are stale, file sizes
 * of a directory store, and memories and messages over time. The timeline never reads every row: memories per
 * period are counts with time bounds, and messages before an instant are found per thread by a binary search over
 * seqs (a log is appended in time order), a few dozen one-message reads per thread.
 *
 * @since 0.2.0
 */
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { DateTime, Effect, Option } from "effect"
import type { Workstream } from "../Workstream.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import type { Route } from "./uiHttp.js"
import type { Location } from "./layers.js"
import { describe } from "./layers.js"
import { toFailure } from "./uiMemories.js"

const BUCKETS = 12
const HOUR = 3_600_000
/** How far back the oldest memory is looked for. */
const HORIZON = 20 * 365 * 24 * HOUR
/** Threads whose messages the timeline counts (the largest): beyond them it would cost more than it shows. */
const TIMELINE_THREADS = 100

/** Bytes under `path` (a file or a directory), 0 when absent. */
const sizeOf = (path: string): number => {
  try {
    const s = statSync(path)
    if (!s.isDirectory()) return s.size
    return readdirSync(path).reduce((n, f) => n + sizeOf(join(path, f)), 0)
  } catch {
    return 0
  }
}

const fileSizes = (at: Location) =>
  at._tag === "Url" ? [] : [
    { name: "memory.db", bytes: sizeOf(join(at.dir, "memory.db")) + sizeOf(join(at.dir, "memory.db-wal")) },
    { name: "workstreams.db", bytes: sizeOf(join(at.dir, "workstreams.db")) + sizeOf(join(at.dir, "workstreams.db-wal")) },
    { name: "workstreams/ (logs)", bytes: sizeOf(join(at.dir, "workstreams")) }
  ]

const allThreads = Effect.gen(function*() {
  const ws = yield* WorkstreamStore
  const found: Array<Workstream> = []
  let cursor: string | undefined
  do {
    const page = yield* ws.list({ limit: 1000, ...(cursor !== undefined ? { cursor } : {}) })
    found.push(...page.items)
    cursor = Option.getOrUndefined(page.nextCursor)
  } while (cursor !== undefined)
  return found
})

/** The oldest memory's creation time to the hour, found by halving the range with counts. */
const oldestMemory = (now: number) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const before = (t: number) => m.count({ until: DateTime.unsafeMake(t), includeSuperseded: true })
    let lo = now - HORIZON
    let hi = now
    if ((yield* before(hi)) === 0) return Option.none<number>()
    if ((yield* before(lo)) > 0) return Option.some(lo)
    while (hi - lo > HOUR) {
      const mid = Math.floor((lo + hi) / 2)
      if ((yield* before(mid)) > 0) hi = mid
      else lo = mid
    }
    return Option.some(lo)
  })

/** How many of the thread's messages were written before `t`. */
const messagesBefore = (w: Workstream, t: number) =>
  Effect.gen(function*() {
    // Not the thread's creation time: a fork's or an import's messages are older than the thread holding them.
    if (w.messageCount === 0) return 0
    if (w.lastMessageAt !== undefined && t > w.lastMessageAt.epochMillis) return w.messageCount
    const ws = yield* WorkstreamStore
    let lo = 1
    let hi = w.messageCount + 1
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2)
      const [m] = yield* ws.loadMessages(w.id, { beforeSeq: mid + 1, limit: 1 })
      if (m !== undefined && m.timestamp.epochMillis < t) lo = mid + 1
      else hi = mid
    }
    return lo - 1
  })

const timeline = (threads: ReadonlyArray<Workstream>, now: number) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const oldestThread = threads.reduce((t, w) => Math.min(t, w.createdAt.epochMillis), now)
    const oldest = Math.min(oldestThread, Option.getOrElse(yield* oldestMemory(now), () => now))
    const step = Math.max(HOUR, Math.ceil((now + 1 - oldest) / BUCKETS))
    const edges = Array.from({ length: BUCKETS + 1 }, (_, i) => now + 1 - (BUCKETS - i) * step)
    const counted = [...threads].sort((a, b) => b.messageCount - a.messageCount).slice(0, TIMELINE_THREADS)
    const messagesAt = yield* Effect.forEach(edges, (t) =>
      Effect.map(Effect.forEach(counted, (w) => messagesBefore(w, t)), (ns) => ns.reduce((a, b) => a + b, 0)))
    const memoriesAt = yield* Effect.forEach(edges, (t) => m.count({ until: DateTime.unsafeMake(t - 1), includeSuperseded: true }))
    return edges.slice(0, -1).map((from, i) => ({
      from: DateTime.formatIso(DateTime.unsafeMake(from)),
      memories: memoriesAt[i + 1]! - memoriesAt[i]!,
      messages: messagesAt[i + 1]! - messagesAt[i]!
    }))
  })

const overview = (at: Location) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const stats = yield* m.stats()
    const threads = yield* allThreads
    const now = (yield* DateTime.now).epochMillis
    return {
      location: describe(at),
      memories: stats.memories,
      live: yield* m.count({}),
      vectors: stats.vectors,
      embedder: { model: stats.embedder.model, dimensions: stats.embedder.dimensions },
      stale: stats.stale,
      threads: threads.length,
      messages: threads.reduce((n, w) => n + w.messageCount, 0),
      files: fileSizes(at),
      timeline: yield* timeline(threads, now),
      timelineThreads: Math.min(threads.length, TIMELINE_THREADS)
    }
  })

/** The store endpoint and the page's start-up facts. @category routes */
export const storeRoutes = (
  at: Location,
  info: { readonly readOnly: boolean; readonly namespace: string | null }
): Readonly<Record<string, Route<MemoryBackend | WorkstreamStore>>> => ({
  "/api/info": { write: false, handle: () => Effect.succeed({ ...info, location: describe(at) }) },
  "/api/store": { write: false, handle: () => Effect.mapError(overview(at), toFailure) }
})
