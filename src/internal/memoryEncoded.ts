/**
 * The kernel's side of `MemoryBackend.makeEncoded`: a `Driver` over an `EncodedDriver`. The row codec (a memory as
 * JSON text, its events likewise), the embedding state and the resumable reindex live here once; filters, exact
 * cosine and BM25 run in process over scanned rows. Read-decide-write steps run under the driver's lock.
 */
import { Effect, Option } from "effect"
import type { EmbeddingSpace } from "../Errors.js"
import { EmbeddingSpaceMismatch, StorageError } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
import { Memory } from "../Memory.js"
import type { Driver, EncodedDriver, EncodedMemory, NewRow, Occupied } from "../MemoryBackend/Driver.js"
import { MemoryIdTaken } from "../MemoryBackend/Driver.js"
import { Bm25Index } from "./bm25.js"
import type { DriverFilter } from "./memoryRules.js"
import { headOf, isExpired, matchesFilter, newestFirst, searchTieBreak, withExpiry } from "./memoryRules.js"
import { encodedReindex } from "./memoryEncodedReindex.js"
import { codec, inNamespace, scan, scanAll, stateNow } from "./memoryEncodedRows.js"
import type { Generation } from "./memoryGenerations.js"
import { generationEntries, generationOf, sameSpace, writableGenerations } from "./memoryGenerations.js"
import { cosine } from "./ranking.js"
import { stem } from "./text.js"
import { countNamespaces } from "./memoryNamespaceCounts.js"

/** Records the Embedder's space as the live one on a store's first use. */
const initialise = (enc: EncodedDriver, current: EmbeddingSpace) =>
  enc.locked(Effect.flatMap(enc.meta, (meta) =>
    Option.isSome(generationOf(meta, "space"))
      ? Effect.void
      : enc.write({ meta: generationEntries("space", { space: current, generation: 1 } satisfies Generation) })))

export const fromEncoded = (enc: EncodedDriver, current: EmbeddingSpace): Effect.Effect<Driver, StorageError> =>
  Effect.as(initialise(enc, current), makeDriver(enc, current))

/** Reads through an encoded driver, decoded. */
const makeReader = (enc: EncodedDriver) => {
  // Every read decodes the rows it scans: a row whose text is unchanged since it was last decoded is not decoded
  // again (a memory is immutable, so sharing it is safe).
  const decoded = new Map<string, { readonly text: string; readonly memory: Memory }>()
  const decode = (method: string, rows: ReadonlyArray<EncodedMemory>) =>
    Effect.forEach(rows, (row) => {
      const hit = decoded.get(row.id)
      return hit !== undefined && hit.text === row.text
        ? Effect.succeed(hit.memory)
        : Effect.map(codec.decode(method, [row]), ([memory]) => {
          decoded.set(row.id, { text: row.text, memory: memory! })
          return memory!
        })
    })
  const all = (method: string) => Effect.flatMap(scanAll(enc), (rows) => decode(method, rows))
  const pool = (method: string, filter: DriverFilter) =>
    Effect.flatMap(scanAll(enc), (rows) =>
      Effect.map(
        decode(method, filter.namespace === undefined ? rows : rows.filter(inNamespace(Option.some(filter.namespace)))),
        (ms) => ms.filter((m) => matchesFilter(m, filter))
      ))
  const getMany = (method: string, ids: ReadonlyArray<string>) => Effect.flatMap(enc.get(ids), (rows) => decode(method, rows))
  return { all, pool, getMany, forget: (id: string) => decoded.delete(id) }
}

type Reader = ReturnType<typeof makeReader>

/** The change that inserts `rows` (as `occupied` says of held ids), or MemoryIdTaken. */
const inserting = (
  enc: EncodedDriver,
  current: EmbeddingSpace,
  { getMany }: Reader,
  method: string,
  rows: ReadonlyArray<NewRow>,
  occupied: Occupied
) =>
  Effect.gen(function*() {
    const generations = yield* writableGenerations(current, yield* stateNow(enc, method))
    const held = new Map((yield* getMany(method, rows.map((r) => r.memory.id))).map((m) => [m.id, m] as const))
    const fresh = rows.filter((row) => {
      const found = held.get(row.memory.id)
      return found === undefined || isExpired(found, occupied.nowMillis)
    })
    const taken = rows.find((row) => {
      const found = held.get(row.memory.id)
      return found !== undefined && !isExpired(found, occupied.nowMillis) && !occupied.same(found, row)
    })
    if (taken !== undefined) return yield* new MemoryIdTaken({ id: taken.memory.id })
    return {
      remove: fresh.filter((r) => held.has(r.memory.id)).map((r) => r.memory.id),
      put: yield* Effect.forEach(fresh, (r) => codec.encode(method, r.memory)),
      events: yield* Effect.forEach(fresh, (r) => Effect.map(codec.encodeEvents(method, r.events), (e) => [r.memory.id, e] as const)),
      vectors: generations.flatMap((generation) =>
        fresh.flatMap((r) => (r.vector === undefined ? [] : [{ generation, id: r.memory.id, vector: r.vector }]))
      )
    }
  })


/** Exact cosine and BM25 over the scanned rows, in the ranking's order. */
const candidates = (
  enc: EncodedDriver,
  current: EmbeddingSpace,
  { all, pool }: Reader
): Pick<Driver, "vectorCandidates" | "textCandidates"> => ({
  vectorCandidates: (filter, query, depth) =>
    Effect.gen(function*() {
      const state = yield* stateNow(enc, "MemoryDriver.vectorCandidates")
      if (!sameSpace(state.space, current)) return yield* new EmbeddingSpaceMismatch({ stored: state.space, current })
      const memories = yield* pool("MemoryDriver.vectorCandidates", filter)
      const vectors = new Map(yield* enc.vectors(state.generation, memories.map((m) => m.id)))
      return memories.flatMap((m) => {
        const v = vectors.get(m.id)
        return v === undefined ? [] : [{ m, distance: 1 - cosine(query, v) }]
      })
        .sort((a, b) => a.distance - b.distance || searchTieBreak(a.m, b.m))
        .slice(0, depth)
        .map(({ distance, m }) => ({ ...headOf(m), distance }))
    }),
  textCandidates: (filter, terms, depth) =>
    Effect.map(all("MemoryDriver.textCandidates"), (memories) => {
      // Document frequencies count every stored memory, as the SQL indexes count theirs.
      const index = new Bm25Index<MemoryId>()
      for (const m of memories) index.set(m.id, m.content)
      const stems = terms.map(stem)
      return memories.filter((m) => matchesFilter(m, filter))
        .map((m) => ({ m, score: index.scoreStems(m.id, stems) }))
        .filter((c) => c.score > 0)
        .sort((a, b) => b.score - a.score || searchTieBreak(a.m, b.m))
        .slice(0, depth)
        .map(({ m, score }) => ({ ...headOf(m), score }))
    })
})

const makeDriver = (enc: EncodedDriver, current: EmbeddingSpace): Driver => {
  const reader = makeReader(enc)
  const { all, getMany, pool } = reader
  return {
    backend: enc.backend,
    space: Effect.map(stateNow(enc, "MemoryDriver.space"), (s) => s.space),
    insert: (rows, occupied) => enc.locked(Effect.flatMap(inserting(enc, current, reader, "MemoryDriver.insert", rows, occupied), enc.write)),
    get: (id) => Effect.map(getMany("MemoryDriver.get", [id]), (ms) => Option.fromNullable(ms[0])),
    getMany: (ids) => getMany("MemoryDriver.getMany", ids),
    modify: (id, next, vector) =>
      enc.locked(Effect.gen(function*() {
        const method = "MemoryDriver.modify"
        const before = (yield* getMany(method, [id]))[0]
        const written = before === undefined ? Option.none() : next(before)
        if (before === undefined || Option.isNone(written)) return Option.none<Memory>()
        const after = written.value.memory
        const changed = after.embed !== false && (after.content !== before.content || before.embed === false)
        if (changed && Option.isNone(vector)) return yield* new StorageError({ method, cause: new Error("changed content without its vector") })
        const generations = changed ? yield* writableGenerations(current, yield* stateNow(enc, method)) : []
        const put = [yield* codec.encode(method, after)]
        const added = yield* codec.encodeEvents(method, written.value.events)
        // Rewritten without a vector: the row goes with every vector it had and comes back without them.
        yield* enc.write(after.embed === false && before.embed !== false
          ? { remove: [id], put, events: [[id, [...(yield* enc.events(id)), ...added]]] }
          : {
            put,
            events: [[id, added]],
            vectors: Option.match(vector, { onNone: () => [], onSome: (v) => generations.map((generation) => ({ generation, id, vector: v })) })
          })
        return Option.some(after)
      })),
    delete: (id, namespace) =>
      enc.locked(Effect.flatMap(enc.get([id]), (rows) =>
        rows.some(inNamespace(namespace)) ? Effect.zipRight(Effect.sync(() => reader.forget(id)), enc.write({ remove: [id] })) : Effect.void)),
    fact: (key, decide) =>
      enc.locked(Effect.gen(function*() {
        const method = "MemoryDriver.fact"
        yield* writableGenerations(current, yield* stateNow(enc, method))
        const live = (yield* all(method))
          .filter((m) =>
            m.namespace === key.namespace && m.retractedAt === undefined && !isExpired(m, key.nowMillis) &&
            m.metadata.subject === key.subject && m.metadata.predicate === key.predicate
          )
          .sort(newestFirst)
        const written = decide(live)
        const insert = yield* inserting(enc, current, reader, method, [...Option.toArray(written.insert), ...(written.also ?? [])], { nowMillis: key.nowMillis, same: () => false })
        const updates = written.updates.filter((u) => live.some((m) => m.id === u.memory.id))
        yield* enc.write({
          ...insert,
          put: [...insert.put, ...(yield* Effect.forEach(updates, (u) => codec.encode(method, u.memory)))],
          events: [...insert.events, ...(yield* Effect.forEach(updates, (u) => Effect.map(codec.encodeEvents(method, u.events), (e) => [u.memory.id, e] as const)))]
        })
        return written
      })),
    ...candidates(enc, current, reader),
    listPage: (filter, after, size) =>
      Effect.map(pool("MemoryDriver.listPage", filter), (memories) =>
        memories.filter((m) =>
          Option.match(after, {
            onNone: () => true,
            onSome: (p) => m.createdAt.epochMillis < p.createdAtMillis || (m.createdAt.epochMillis === p.createdAtMillis && m.id < p.id)
          })
        ).sort(newestFirst).slice(0, size)),
    count: (filter) => Effect.map(pool("MemoryDriver.count", filter), (ms) => ms.length),
    counts: (namespace) =>
      Effect.gen(function*() {
        const state = yield* stateNow(enc, "MemoryDriver.counts")
        const ids = (yield* scanAll(enc)).filter(inNamespace(namespace)).map((r) => r.id)
        return { memories: ids.length, vectors: (yield* enc.vectors(state.generation, ids)).length }
      }),
    namespaces: (root, nowMillis) =>
      Effect.map(all("MemoryDriver.namespaces"), (ms) => countNamespaces(ms.filter((m) => inNamespace(root)(m) && !isExpired(m, nowMillis)))),
    history: (id) =>
      Effect.flatMap(enc.events(id), (texts) => codec.decodeEvents("MemoryDriver.history", texts)),
    sweep: (nowMillis, namespace) =>
      enc.locked(Effect.gen(function*() {
        const expired = (yield* all("MemoryDriver.sweep")).filter((m) => inNamespace(namespace)(m) && isExpired(m, nowMillis))
        for (const m of expired) reader.forget(m.id)
        if (expired.length > 0) yield* enc.write({ remove: expired.map((m) => m.id) })
        return expired.length
      })),
    // Through `remove`, which drops rows with their events and every generation's vectors; the decoded copies go too.
    purge: (namespace, limit) =>
      enc.locked(Effect.gen(function*() {
        const inside = inNamespace(Option.some(namespace))
        const batch = (yield* scan(enc, Option.none(), (page) => Effect.succeed(page.filter(inside)), limit)).map((r) => r.id)
        if (batch.length > 0) yield* enc.write({ remove: batch })
        for (const id of batch) reader.forget(id)
        return batch.length
      })),
    extend: (items, nowMillis) =>
      enc.locked(Effect.gen(function*() {
        const method = "MemoryDriver.extend"
        const stored = new Map((yield* getMany(method, items.map((i) => i.id))).map((m) => [m.id, m] as const))
        const moved = items.flatMap((item) => {
          const m = stored.get(item.id)
          return m === undefined || isExpired(m, nowMillis) ? [] : [withExpiry(m, item.expiresAt)]
        })
        if (moved.length > 0) yield* enc.write({ put: yield* Effect.forEach(moved, (m) => codec.encode(method, m)) })
      })),
    reindex: encodedReindex(enc, current)
  }
}
