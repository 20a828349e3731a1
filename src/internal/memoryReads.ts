/**
 * The read side of the MemoryBackend kernel: get, the search pipeline (driver candidates, fusion, the score
 * contract, the page's rows), list, count, stats, history, sweep and reindex.
 */
import { Chunk, DateTime, Effect, Option, Stream } from "effect"
import { EmbeddingSpace, InvalidInput } from "../Errors.js"
import { MemoryId } from "../Ids.js"
import { MemoryFilter, Query, SearchOptions } from "../Memory.js"
import type { Memory, MemoryMatch, MemoryStats, ReindexProgress } from "../Memory.js"
import type { ListPosition, ReindexDriver } from "../MemoryBackend/Driver.js"
import type { GetOptions } from "../MemoryTime.js"
import type { EmbeddingError, StorageError } from "../Errors.js"
import { decodeInput } from "./decode.js"
import { asOfFilter, heldAsOf } from "./memoryFactWrites.js"
import type { DriverFilter, MemoryFilterInput } from "./memoryRules.js"
import { extended, queryTerms } from "./memoryRules.js"
import type { Kernel } from "./memoryScope.js"
import { readable, retag, retagError, within } from "./memoryScope.js"
import { lookup, resultCount, searched, storeId, tracing } from "./semconv.js"
import { exactTop, pageOfRanked, usesText, usesVector } from "./rankingTopK.js"
import type { Scored, ScoreOptions } from "./rankingTopK.js"

const REINDEX_BATCH = 32
const PAGE_SIZE = 200

const decodeId = (method: string) => decodeInput(MemoryId, method)
const decodeQuery = decodeInput(Query, "MemoryBackend.search")
const decodeSearch = decodeInput(SearchOptions, "MemoryBackend.search")
const decodeFilter = (method: string) => decodeInput(MemoryFilter, method)

/** The filter as the driver applies it: inside the service's subtree, expiry decided at `nowMillis`. */
const driverFilter = (k: Kernel, method: string, f: MemoryFilterInput, nowMillis: number) =>
  Option.match(k.scope.namespace, {
    onNone: () => Effect.succeed<DriverFilter>({ ...f, nowMillis, ...asOfFilter(f.asOf, nowMillis) }),
    onSome: (ns) =>
      f.namespace === undefined || within(k, f.namespace)
        ? Effect.succeed<DriverFilter>({ ...f, namespace: f.namespace ?? ns, nowMillis, ...asOfFilter(f.asOf, nowMillis) })
        : Effect.fail(new InvalidInput({ method, message: `this service is confined to namespace ${JSON.stringify(ns)}` }))
  })

/** With `extendOnAccess`, moves the expiry of the memories just read and returns them as they now are. */
const touched = (k: Kernel, memories: ReadonlyArray<Memory>, now: DateTime.Utc) => {
  if (!k.scope.extendOnAccess) return Effect.succeed(memories)
  const moved = memories.map((m) => extended(m, now.epochMillis))
  const items = moved.flatMap((m) => (m.expiresAt !== undefined && m.ttlMillis !== undefined ? [{ id: m.id, expiresAt: m.expiresAt }] : []))
  return items.length === 0 ? Effect.succeed(memories) : Effect.as(k.driver.extend(items, now.epochMillis), moved)
}

/**
 * The page's rows, read in one call unless the ranking read them already (`read`); a memory deleted or expired since
 * it was ranked is left out.
 */
const materialize = (k: Kernel, page: ReadonlyArray<Scored>, now: DateTime.Utc, read?: ReadonlyArray<Memory>) =>
  page.length === 0
    ? Effect.succeed<ReadonlyArray<MemoryMatch>>([])
    : Effect.gen(function*() {
      const ids = page.map((s) => s.head.id)
      // Only the page's: a memory skipped by the offset is not touched.
      const onPage = new Set(ids)
      const found = read === undefined ? yield* k.driver.getMany(ids) : read.filter((m) => onPage.has(m.id))
      const rows = found.filter((m) => readable(k, m, now.epochMillis))
      const byId = new Map<MemoryId, Memory>((yield* touched(k, rows, now)).map((m) => [m.id, m]))
      return page.flatMap((s) => {
        const memory = byId.get(s.head.id)
        return memory === undefined ? [] : [{ memory, score: s.score, explain: s.explain }]
      })
    })

interface Pass {
  readonly after: Option.Option<MemoryId>
  readonly done: number
  readonly finished: boolean
}

/**
 * Re-embeds what the driver reports pending, batch by batch. An unscoped run ends once a pass leaves nothing
 * pending and the swap succeeds (a pass that ends with memories still missing, written meanwhile, starts over); a
 * scoped run ends when its namespace has nothing pending, whether or not the store could swap yet.
 */
const reindexStream = (
  k: Kernel,
  steps: ReindexDriver,
  embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingError>
): Stream.Stream<ReindexProgress, StorageError | EmbeddingError> =>
  Stream.unwrap(Effect.map(steps.start(k.scope.namespace), ({ done, total }) =>
    Stream.unfoldChunkEffect<Pass, ReindexProgress, StorageError | EmbeddingError, never>(
      { after: Option.none(), done, finished: false },
      (pass) => {
        if (pass.finished) return Effect.succeed(Option.none())
        return Effect.flatMap(steps.pending(k.scope.namespace, pass.after, REINDEX_BATCH), (batch) => {
          if (batch.length === 0) {
            return Effect.map(steps.finish, (swapped) =>
              swapped || Option.isSome(k.scope.namespace)
                ? Option.some([Chunk.of({ done: total, total }), { after: Option.none(), done: total, finished: true }] as const)
                : Option.some([Chunk.empty(), { after: Option.none(), done: pass.done, finished: false }] as const))
          }
          return Effect.flatMap(embed(batch.map((p) => p.content)), (vectors) =>
            Effect.map(steps.write(batch.map((p, i) => ({ ...p, vector: vectors[i]! }))), () => {
              const next = Math.min(total, pass.done + batch.length)
              return Option.some([
                Chunk.of({ done: next, total }),
                { after: Option.some(batch[batch.length - 1]!.id), done: next, finished: false }
              ] as const)
            }))
        })
      }
    )))

/** get, search, list, count, stats, history, sweep and reindex. */
export const readMethods = (k: Kernel) => {
  const { driver, embed, embedder, span } = k
  const { fn, options } = tracing(span, storeId(driver.backend, k.scope.namespace))

  const get = fn("MemoryBackend.get")(function*(rawId: MemoryId, getOptions?: GetOptions) {
    const found = yield* driver.get(yield* decodeId("MemoryBackend.get")(rawId))
    const now = yield* DateTime.now
    if (Option.isNone(found) || !readable(k, found.value, now.epochMillis)) return Option.none()
    if (!(yield* heldAsOf(getOptions, found.value, now.epochMillis))) return Option.none()
    return Option.fromNullable((yield* touched(k, [found.value], now))[0])
  }, retag("MemoryBackend.get"), lookup)

  const search = fn("MemoryBackend.search")(function*(rawQuery: string, rawOptions?: SearchOptions) {
    const method = "MemoryBackend.search"
    const query = yield* decodeQuery(rawQuery)
    const options = yield* decodeSearch(rawOptions ?? {})
    const now = yield* DateTime.now
    const filter = yield* driverFilter(k, method, options, now.epochMillis)
    const q = options.mode === "text" ? undefined : (yield* embed([query]))[0]!
    const terms = queryTerms(query)
    const scoring: ScoreOptions = {
      mode: options.mode,
      weights: options.weights ?? embedder.weights,
      nowMillis: now.epochMillis,
      limit: options.offset + options.limit,
      minScore: options.minScore
    }
    // A driver that ranks a small filtered set whole returns its page in one pass; otherwise the rankings are read.
    // A text-only ranking is read by its candidates: its matches are filtered after the FTS5 index yields them, and
    // scoring every one of them cost more than reading the ranking to the depth that proves the page.
    const vector = usesVector(scoring) ? q : undefined
    const ranked = driver.rankedSearch === undefined || vector === undefined
      ? Option.none()
      : yield* driver.rankedSearch(filter, vector, usesText(scoring) ? terms : [], scoring)
    if (Option.isSome(ranked)) {
      yield* Effect.annotateCurrentSpan({ "search.ranked": "whole set" })
      const page = pageOfRanked(ranked.value.rows, scoring, ranked.value.bestText).slice(options.offset)
      return yield* materialize(k, page, now, ranked.value.memories)
    }
    const { depth, page, proven } = yield* exactTop({
      vector: (depth) => q === undefined ? Effect.succeed([]) : driver.vectorCandidates(filter, q, depth),
      text: (depth) => driver.textCandidates(filter, terms, depth)
    }, scoring)
    yield* Effect.annotateCurrentSpan({ "search.depth.vector": depth.vector, "search.depth.text": depth.text, "search.proven": proven })
    return yield* materialize(k, page.slice(options.offset), now)
  }, retag("MemoryBackend.search"), searched)

  const list = (rawFilter?: MemoryFilter) =>
    Stream.unwrap(Effect.gen(function*() {
      const method = "MemoryBackend.list"
      const decoded = yield* decodeFilter(method)(rawFilter ?? {})
      const filter = yield* driverFilter(k, method, decoded, (yield* DateTime.now).epochMillis)
      return Stream.paginateChunkEffect(Option.none<ListPosition>(), (after) =>
        Effect.map(driver.listPage(filter, after, PAGE_SIZE), (page) => {
          const last = page[page.length - 1]
          return [
            Chunk.unsafeFromArray(page),
            page.length < PAGE_SIZE || last === undefined
              ? Option.none()
              : Option.some(Option.some({ createdAtMillis: last.createdAt.epochMillis, id: last.id }))
          ] as const
        }))
    })).pipe(Stream.mapError(retagError("MemoryBackend.list")), Stream.withSpan("MemoryBackend.list", options("MemoryBackend.list")))

  const count = fn("MemoryBackend.count")(function*(rawFilter?: MemoryFilter) {
    const method = "MemoryBackend.count"
    const decoded = yield* decodeFilter(method)(rawFilter ?? {})
    return yield* driver.count(yield* driverFilter(k, method, decoded, (yield* DateTime.now).epochMillis))
  }, retag("MemoryBackend.count"))

  const current = new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  const stats = fn("MemoryBackend.stats")(function*() {
    const [counts, stored] = yield* Effect.all([driver.counts(k.scope.namespace), driver.space])
    return { ...counts, embedder: current, stale: stored.model !== current.model || stored.dimensions !== current.dimensions } satisfies MemoryStats
  }, retag("MemoryBackend.stats"))

  const history = (rawId: MemoryId) =>
    Stream.unwrap(Effect.gen(function*() {
      const id = yield* decodeId("MemoryBackend.history")(rawId)
      const found = yield* driver.get(id)
      const now = yield* DateTime.now
      if (Option.isNone(found) || !readable(k, found.value, now.epochMillis)) return Stream.empty
      return Stream.fromIterable(yield* driver.history(id))
    })).pipe(Stream.mapError(retagError("MemoryBackend.history")), Stream.withSpan("MemoryBackend.history", options("MemoryBackend.history")))

  const sweep = fn("MemoryBackend.sweep")(function*() {
    return yield* driver.sweep((yield* DateTime.now).epochMillis, k.scope.namespace)
  }, retag("MemoryBackend.sweep"), resultCount)

  const reindex = () =>
    reindexStream(k, driver.reindex, embed).pipe(
      Stream.mapError(retagError("MemoryBackend.reindex")),
      Stream.withSpan("MemoryBackend.reindex", options("MemoryBackend.reindex"))
    )

  return { get, search, list, count, stats, history, sweep, reindex }
}
