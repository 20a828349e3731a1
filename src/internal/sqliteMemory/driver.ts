/**
 * The SQLite memory store as a MemoryBackend driver: each primitive on the store's connection (writes in one
 * BEGIN IMMEDIATE transaction each, search candidates on reader threads when there are some), every SQLite or row
 * decoding failure a StorageError.
 */
import { Effect, Option } from "effect"
import { EmbeddingSpaceMismatch } from "../../Errors.js"
import type { EmbeddingSpace } from "../../Errors.js"
import type { Driver } from "../../MemoryBackend.js"
import { all, single, storage, transaction } from "../sql.js"
import { whereOf } from "./filter.js"
import * as Reindex from "./reindex.js"
import { EventRow, MemoryRow, rowToMemory } from "./schema.js"
import { textCandidates } from "./text.js"
import { vectorCandidates } from "./vectorSearch.js"
import type { Store } from "./vectors.js"
import { readState, sameSpace } from "./vectors.js"
import { deleteRow, extendRows, insertRows, modifyRow, selectByIds, sweepRows, writeFact } from "./writes.js"

export const makeDriver = (s: Store, exactScanLimit: number): Driver => {
  const write = (method: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method)(transaction(s.sql, "BEGIN IMMEDIATE")(effect))
  const read = (method: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method)(transaction(s.sql, "BEGIN")(effect))
  const mismatch = (stored: EmbeddingSpace) => new EmbeddingSpaceMismatch({ stored, current: s.current })
  const M = s.sql(s.t.memories)
  return {
    backend: "sqlite",
    space: storage("MemoryBackend.stats")(Effect.map(readState(s, "MemoryBackend.stats"), (state) => state.space)),
    insert: (rows, occupied) =>
      write("MemoryBackend.store")(Effect.flatMap(readState(s, "MemoryBackend.store"), (state) => insertRows(s, state, rows, occupied))),
    get: (id) => storage("MemoryBackend.get")(Effect.map(selectByIds(s, [id]), (rows) => Option.map(Option.fromNullable(rows[0]), rowToMemory))),
    getMany: (ids) => storage("MemoryBackend.search")(Effect.map(selectByIds(s, ids), (rows) => rows.map(rowToMemory))),
    modify: (id, next, vector) => write("MemoryBackend.update")(modifyRow(s, id, next, vector)),
    delete: (id, namespace) => write("MemoryBackend.delete")(deleteRow(s, id, namespace)),
    fact: (key, decide) => write("MemoryBackend.storeFact")(writeFact(s, key, decide)),
    vectorCandidates: (filter, query, depth) => {
      const attempt = Effect.gen(function*() {
        const state = yield* readState(s, "MemoryBackend.search")
        if (!sameSpace(state.space, s.current)) return yield* mismatch(state.space)
        return yield* vectorCandidates(s, filter, query, depth, state.generation, exactScanLimit)
      })
      // On one connection a snapshot sees the state row and the generation tables it names at one instant. Reader
      // threads read them separately: a reindex that swapped generations in between fails the query, which then
      // reads the new state and runs again.
      return Option.isNone(s.readers)
        ? read("MemoryBackend.search")(attempt)
        : storage("MemoryBackend.search")(Effect.catchTag(attempt, "SqlError", () => attempt))
    },
    textCandidates: (filter, terms, depth) => storage("MemoryBackend.search")(textCandidates(s, filter, terms, depth)),
    listPage: (filter, after, size) =>
      storage("MemoryBackend.list")(Effect.map(
        all(MemoryRow, s.sql`SELECT m.* FROM ${M} m WHERE ${whereOf(s.sql, s.t, filter)} AND ${
          Option.match(after, {
            onNone: () => s.sql`1 = 1`,
            onSome: (p) => s.sql`(m.created_at < ${p.createdAtMillis} OR (m.created_at = ${p.createdAtMillis} AND m.id < ${p.id}))`
          })
        } ORDER BY m.created_at DESC, m.id DESC LIMIT ${size}`),
        (rows) => rows.map(rowToMemory)
      )),
    count: (filter) => storage("MemoryBackend.count")(single(s.sql`SELECT count(*) AS n FROM ${M} m WHERE ${whereOf(s.sql, s.t, filter)}`)),
    counts: (namespace) =>
      read("MemoryBackend.stats")(Effect.gen(function*() {
        const state = yield* readState(s, "MemoryBackend.stats")
        const where = Option.match(namespace, { onNone: () => s.sql`1 = 1`, onSome: (ns) => s.sql`m.namespace = ${ns}` })
        return {
          memories: yield* single(s.sql`SELECT count(*) AS n FROM ${M} m WHERE ${where}`),
          vectors: yield* single(s.sql`SELECT count(*) AS n FROM ${s.sql(s.t.vectors(state.generation))} v
            JOIN ${M} m ON m.pk = v.pk WHERE ${where}`)
        }
      })),
    history: (id) =>
      storage("MemoryBackend.history")(Effect.map(
        all(EventRow, s.sql`SELECT e.event FROM ${s.sql(s.t.events)} e JOIN ${M} m ON m.pk = e.memory_pk
          WHERE m.id = ${id} ORDER BY e.seq`),
        (rows) => rows.map((r) => r.event)
      )),
    sweep: (nowMillis, namespace) => write("MemoryBackend.sweep")(sweepRows(s, nowMillis, namespace)),
    extend: (items, nowMillis) => write("MemoryBackend.get")(extendRows(s, items, nowMillis)),
    reindex: {
      start: (namespace) => write("MemoryBackend.reindex")(Reindex.start(s, namespace)),
      pending: (namespace, after, limit) => storage("MemoryBackend.reindex")(Reindex.pending(s, namespace, after, limit)),
      write: (items) => write("MemoryBackend.reindex")(Reindex.write(s, items)),
      finish: write("MemoryBackend.reindex")(Reindex.finish(s))
    }
  }
}
