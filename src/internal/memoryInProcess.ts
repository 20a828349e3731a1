/**
 * The in-process MemoryBackend driver behind `layerMemory`: a `Map` of rows with their vectors and history, an
 * in-process BM25 and exact cosine search. Every primitive runs synchronously, so each is atomic on its own.
 */
import { Effect, Option } from "effect"
import type { Embedder } from "../Embedder.js"
import { EmbeddingSpace } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
import type { Memory } from "../Memory.js"
import type { Driver, FactKey, FactWrite, ListPosition, NewRow, Occupied, Rewrite } from "../MemoryBackend/Driver.js"
import { MemoryIdTaken } from "../MemoryBackend/Driver.js"
import type { MemoryEvent } from "../MemoryEvent.js"
import { Bm25Index } from "./bm25.js"
import type { DriverFilter } from "./memoryRules.js"
import { headOf, isExpired, matchesFilter, newestFirst, searchTieBreak as tieBreak, withExpiry } from "./memoryRules.js"
import type { TextCandidate, VectorCandidate } from "./ranking.js"
import { cosine } from "./ranking.js"
import { stem } from "./text.js"
import { countNamespaces } from "./memoryNamespaceCounts.js"
import { inSubtree } from "../Namespace.js"

interface Row {
  memory: Memory
  /** None for a memory stored with `embed: false`. */
  vector: Float32Array | undefined
  readonly events: Array<MemoryEvent>
  /** The reindex pass that last wrote this row's vector. */
  pass: number
}

const inNamespace = (m: Memory, namespace: Option.Option<string>) =>
  Option.match(namespace, { onNone: () => true, onSome: (ns) => inSubtree(ns, m.namespace) })

/** A driver over process memory for the Embedder's space (which it can never be out of: nothing outlives it). */
export const makeMemoryDriver = (embedder: Embedder["Type"]): Driver => {
  const space = new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  const rows = new Map<MemoryId, Row>()
  const text = new Bm25Index<MemoryId>()
  let pass = 0

  const put = (row: NewRow) => {
    rows.set(row.memory.id, { memory: row.memory, vector: row.vector, events: [...row.events], pass: 0 })
    text.set(row.memory.id, row.memory.content)
  }
  const rewrite = (r: Rewrite) => {
    const row = rows.get(r.memory.id)
    if (row === undefined) return
    row.memory = r.memory
    row.events.push(...r.events)
  }
  const pool = (filter: DriverFilter) => Array.from(rows.values()).filter((r) => matchesFilter(r.memory, filter))
  const remove = (id: MemoryId) => {
    rows.delete(id)
    text.delete(id)
  }
  /** Writes the rows as `occupied` says, or nothing when a live memory holds an id for another write. */
  const insertAll = (inserts: ReadonlyArray<NewRow>, occupied: Occupied) => {
    const fresh: Array<NewRow> = []
    const expired: Array<MemoryId> = []
    for (const row of inserts) {
      const held = rows.get(row.memory.id)
      if (held === undefined) fresh.push(row)
      else if (isExpired(held.memory, occupied.nowMillis)) {
        expired.push(row.memory.id)
        fresh.push(row)
      } else if (!occupied.same(held.memory, row)) return Effect.fail(new MemoryIdTaken({ id: row.memory.id }))
    }
    expired.forEach(remove)
    fresh.forEach(put)
    return Effect.void
  }

  const insert = (inserts: ReadonlyArray<NewRow>, occupied: Occupied) => Effect.suspend(() => insertAll(inserts, occupied))

  const fact = (key: FactKey, decide: (live: ReadonlyArray<Memory>) => FactWrite) =>
    Effect.suspend(() => {
      const live = Array.from(rows.values(), (r) => r.memory)
        .filter((m) =>
          m.namespace === key.namespace && m.retractedAt === undefined && !isExpired(m, key.nowMillis) &&
          m.metadata.subject === key.subject && m.metadata.predicate === key.predicate
        )
        .sort(newestFirst)
      const written = decide(live)
      const inserts = [...Option.toArray(written.insert), ...(written.also ?? [])]
      return Effect.map(insertAll(inserts, { nowMillis: key.nowMillis, same: () => false }), () => {
        written.updates.forEach(rewrite)
        return written
      })
    })

  const modify = (id: MemoryId, next: (current: Memory) => Option.Option<Rewrite>, vector: Option.Option<Float32Array>) =>
    Effect.sync(() => {
      const row = rows.get(id)
      if (row === undefined) return Option.none<Memory>()
      const written = next(row.memory)
      if (Option.isNone(written)) return Option.none<Memory>()
      const { events, memory } = written.value
      if (memory.embed === false) row.vector = undefined
      else if (memory.content !== row.memory.content || row.vector === undefined) {
        row.vector = Option.getOrElse(vector, () => row.vector)
        row.pass = 0
      }
      if (memory.content !== row.memory.content) text.set(id, memory.content)
      row.memory = memory
      row.events.push(...events)
      return Option.some(memory)
    })

  // Rows are ranked on their bare signal first; heads are built for the `depth` kept, not for the whole pool.
  const vectorCandidates = (filter: DriverFilter, query: Float32Array, depth: number) =>
    Effect.sync(() =>
      pool(filter)
        .flatMap((r) => (r.vector === undefined ? [] : [{ r, distance: 1 - cosine(query, r.vector) }]))
        .sort((a, b) => a.distance - b.distance || tieBreak(a.r.memory, b.r.memory))
        .slice(0, depth)
        .map(({ distance, r }): VectorCandidate => ({ ...headOf(r.memory), distance }))
    )

  const textCandidates = (filter: DriverFilter, terms: ReadonlyArray<string>, depth: number) =>
    Effect.sync(() => {
      const stems = terms.map(stem)
      return pool(filter)
        .map((r) => ({ r, score: text.scoreStems(r.memory.id, stems) }))
        .filter((c) => c.score > 0)
        .sort((a, b) => b.score - a.score || tieBreak(a.r.memory, b.r.memory))
        .slice(0, depth)
        .map(({ r, score }): TextCandidate => ({ ...headOf(r.memory), score }))
    })

  const listPage = (filter: DriverFilter, after: Option.Option<ListPosition>, size: number) =>
    Effect.sync(() => {
      const sorted = pool(filter).map((r) => r.memory).sort(newestFirst)
      const start = Option.match(after, {
        onNone: () => 0,
        onSome: (p) => {
          const i = sorted.findIndex((m) =>
            m.createdAt.epochMillis < p.createdAtMillis || (m.createdAt.epochMillis === p.createdAtMillis && m.id < p.id)
          )
          return i === -1 ? sorted.length : i
        }
      })
      return sorted.slice(start, start + size)
    })

  const scopedRows = (namespace: Option.Option<string>) => Array.from(rows.values()).filter((r) => inNamespace(r.memory, namespace))

  return {
    backend: "memory",
    space: Effect.succeed(space),
    insert,
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(rows.get(id)), (r) => r.memory)),
    getMany: (ids) => Effect.sync(() => ids.flatMap((id) => Option.toArray(Option.map(Option.fromNullable(rows.get(id)), (r) => r.memory)))),
    modify,
    delete: (id, namespace) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row !== undefined && inNamespace(row.memory, namespace)) remove(id)
      }),
    fact,
    vectorCandidates,
    textCandidates,
    listPage,
    count: (filter) => Effect.sync(() => pool(filter).length),
    counts: (namespace) =>
      Effect.sync(() => {
        const scoped = scopedRows(namespace)
        return { memories: scoped.length, vectors: scoped.filter((r) => r.vector !== undefined).length }
      }),
    namespaces: (root, nowMillis) =>
      Effect.sync(() => countNamespaces(scopedRows(root).map((r) => r.memory).filter((m) => !isExpired(m, nowMillis)))),
    history: (id) => Effect.sync(() => [...(rows.get(id)?.events ?? [])]),
    sweep: (nowMillis, namespace) =>
      Effect.sync(() => {
        const expired = scopedRows(namespace).filter((r) => isExpired(r.memory, nowMillis))
        expired.forEach((r) => remove(r.memory.id))
        return expired.length
      }),
    purge: (namespace, limit) =>
      Effect.sync(() => {
        const batch = scopedRows(Option.some(namespace)).slice(0, limit)
        batch.forEach((r) => remove(r.memory.id))
        return batch.length
      }),
    extend: (items, nowMillis) =>
      Effect.sync(() => {
        for (const item of items) {
          const row = rows.get(item.id)
          if (row === undefined || isExpired(row.memory, nowMillis)) continue
          row.memory = withExpiry(row.memory, item.expiresAt)
        }
      }),
    reindex: {
      start: (namespace) =>
        Effect.sync(() => {
          pass++
          return { total: scopedRows(namespace).filter((r) => r.memory.embed !== false).length, done: 0 }
        }),
      pending: (namespace, after, limit) =>
        Effect.sync(() =>
          scopedRows(namespace)
            .filter((r) => r.memory.embed !== false && r.pass !== pass && Option.match(after, { onNone: () => true, onSome: (a) => r.memory.id > a }))
            .sort((a, b) => (a.memory.id < b.memory.id ? -1 : 1))
            .slice(0, limit)
            .map((r) => ({ id: r.memory.id, content: r.memory.content }))
        ),
      write: (items) =>
        Effect.sync(() => {
          for (const item of items) {
            const row = rows.get(item.id)
            if (row === undefined || row.memory.content !== item.content || row.memory.embed === false) continue
            row.vector = item.vector
            row.pass = pass
          }
        }),
      finish: Effect.sync(() => Array.from(rows.values()).every((r) => r.pass === pass || r.memory.embed === false))
    }
  }
}
