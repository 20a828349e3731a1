/**
 * The in-process MemoryBackend driver behind `layerMemory`: a `Map` of rows with their vectors, an in-process
 * BM25 and exact cosine search. Every write is synchronous, so each primitive is atomic on its own.
 */
import { Effect, Option } from "effect"
import type { Embedder } from "../Embedder.js"
import { EmbeddingSpace } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
import type { Memory } from "../Memory.js"
import type { Driver, FactWrite, NewRow } from "../MemoryBackend.js"
import { MemoryIdTaken } from "../MemoryBackend.js"
import { Bm25Index } from "./bm25.js"
import type { MemoryFilterInput } from "./memory.js"
import { headOf, matchesFilter, newestFirst, searchTieBreak as tieBreak } from "./memory.js"
import type { TextCandidate, VectorCandidate } from "./ranking.js"
import { cosine } from "./ranking.js"
import { stem } from "./text.js"

interface Row {
  memory: Memory
  vector: Float32Array
  /** The reindex pass that last wrote this row's vector. */
  pass: number
}

/** A driver over process memory for the Embedder's space (which it can never be out of: nothing outlives it). */
export const makeMemoryDriver = (embedder: Embedder["Type"]): Driver => {
  const space = new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  const rows = new Map<MemoryId, Row>()
  const text = new Bm25Index<MemoryId>()
  let pass = 0

  const put = (memory: Memory, vector: Float32Array) => {
    rows.set(memory.id, { memory, vector, pass: 0 })
    text.set(memory.id, memory.content)
  }
  const pool = (filter: MemoryFilterInput) => Array.from(rows.values()).filter((r) => matchesFilter(r.memory, filter))
  const firstTaken = (inserts: ReadonlyArray<NewRow>) => inserts.find((r) => rows.has(r.memory.id))

  const insert = (inserts: ReadonlyArray<NewRow>) =>
    Effect.suspend(() => {
      const taken = firstTaken(inserts)
      if (taken !== undefined) return Effect.fail(new MemoryIdTaken({ id: taken.memory.id }))
      for (const r of inserts) put(r.memory, r.vector)
      return Effect.void
    })

  const fact = (subject: string, predicate: string, decide: (live: ReadonlyArray<Memory>) => FactWrite) =>
    Effect.suspend(() => {
      const live = Array.from(rows.values(), (r) => r.memory)
        .filter((m) => !m.confidence.superseded && m.metadata.subject === subject && m.metadata.predicate === predicate)
        .sort(newestFirst)
      const written = decide(live)
      const taken = firstTaken(Option.toArray(written.insert))
      if (taken !== undefined) return Effect.fail(new MemoryIdTaken({ id: taken.memory.id }))
      for (const m of written.updates) {
        const row = rows.get(m.id)
        if (row !== undefined) row.memory = m
      }
      for (const r of Option.toArray(written.insert)) put(r.memory, r.vector)
      return Effect.succeed(written)
    })

  const modify = (id: MemoryId, next: (current: Memory) => Memory, vector: Option.Option<Float32Array>) =>
    Effect.sync(() => {
      const row = rows.get(id)
      if (row === undefined) return Option.none<Memory>()
      const updated = next(row.memory)
      const changed = updated.content !== row.memory.content
      put(updated, changed && Option.isSome(vector) ? vector.value : row.vector)
      return Option.some(updated)
    })

  // Rows are ranked on their bare signal first; heads are built for the `depth` kept, not for the whole pool.
  const vectorCandidates = (filter: MemoryFilterInput, query: Float32Array, depth: number) =>
    Effect.sync(() =>
      pool(filter)
        .map((r) => ({ r, distance: 1 - cosine(query, r.vector) }))
        .sort((a, b) => a.distance - b.distance || tieBreak(a.r.memory, b.r.memory))
        .slice(0, depth)
        .map(({ distance, r }): VectorCandidate => ({ ...headOf(r.memory), distance }))
    )

  const textCandidates = (filter: MemoryFilterInput, terms: ReadonlyArray<string>, depth: number) =>
    Effect.sync(() => {
      const stems = terms.map(stem)
      return pool(filter)
        .map((r) => ({ r, score: text.scoreStems(r.memory.id, stems) }))
        .filter((c) => c.score > 0)
        .sort((a, b) => b.score - a.score || tieBreak(a.r.memory, b.r.memory))
        .slice(0, depth)
        .map(({ r, score }): TextCandidate => ({ ...headOf(r.memory), score }))
    })

  const listPage = (filter: MemoryFilterInput, after: Option.Option<{ createdAtMillis: number; id: MemoryId }>, size: number) =>
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

  return {
    backend: "memory",
    space: Effect.succeed(space),
    insert,
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(rows.get(id)), (r) => r.memory)),
    getMany: (ids) => Effect.sync(() => ids.flatMap((id) => Option.toArray(Option.map(Option.fromNullable(rows.get(id)), (r) => r.memory)))),
    modify,
    delete: (id) =>
      Effect.sync(() => {
        rows.delete(id)
        text.delete(id)
      }),
    fact,
    vectorCandidates,
    textCandidates,
    listPage,
    count: (filter) => Effect.sync(() => pool(filter).length),
    counts: Effect.sync(() => ({ memories: rows.size, vectors: rows.size })),
    reindex: {
      start: Effect.sync(() => {
        pass++
        return { total: rows.size, done: 0 }
      }),
      pending: (after, limit) =>
        Effect.sync(() =>
          Array.from(rows.values())
            .filter((r) => r.pass !== pass && Option.match(after, { onNone: () => true, onSome: (a) => r.memory.id > a }))
            .sort((a, b) => (a.memory.id < b.memory.id ? -1 : 1))
            .slice(0, limit)
            .map((r) => ({ id: r.memory.id, content: r.memory.content }))
        ),
      write: (items) =>
        Effect.sync(() => {
          for (const item of items) {
            const row = rows.get(item.id)
            if (row === undefined || row.memory.content !== item.content) continue
            row.vector = item.vector
            row.pass = pass
          }
        }),
      finish: Effect.sync(() => Array.from(rows.values()).every((r) => r.pass === pass))
    }
  }
}
