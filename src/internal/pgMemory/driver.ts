/**
 * The PostgreSQL memory store as a MemoryBackend driver: every write one transaction, every PostgreSQL or row
 * decoding failure a StorageError.
 */
import { Effect, Option } from "effect"
import { EmbeddingSpaceMismatch } from "../../Errors.js"
import type { Driver } from "../../MemoryBackend.js"
import { MemoryIdTaken } from "../../MemoryBackend.js"
import { all, single, storage, transaction } from "../sql.js"
import { whereOf } from "./filter.js"
import * as Reindex from "./reindex.js"
import { EventRow, MEMORY_SELECT, MemoryRow, rowToMemory } from "./schema.js"
import { textCandidates, vectorCandidates } from "./search.js"
import type { Store } from "./state.js"
import { readState, sameSpace, shareGenerations } from "./state.js"
import { deleteRow, extendRows, insertRows, modifyRow, selectByIds, sweepRows, writeFact } from "./writes.js"

export const makeDriver = (s: Store, exactScanLimit: number): Driver => {
  const write = (method: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method)(transaction(s.sql, "BEGIN")(effect))
  const M = s.sql(s.t.memories)
  const namespaced = (namespace: Option.Option<string>) =>
    Option.match(namespace, { onNone: () => s.sql`true`, onSome: (ns) => s.sql`m.namespace = ${ns}` })
  return {
    backend: "postgres",
    space: storage("MemoryBackend.stats")(Effect.map(readState(s, "MemoryBackend.stats"), (state) => state.space)),
    // A same-id writer that commits between the look and the write aborts this transaction; run once more, its row
    // is there to compare with (a retry of the same write then succeeds).
    insert: (rows, occupied) => {
      const once = write("MemoryBackend.store")(insertRows(s, rows, occupied))
      return Effect.catchTag(once, "IdRace", () => Effect.catchTag(once, "IdRace", (e) => new MemoryIdTaken({ id: e.id })))
    },
    get: (id) => storage("MemoryBackend.get")(Effect.map(selectByIds(s, [id]), (rows) => Option.map(Option.fromNullable(rows[0]), rowToMemory))),
    getMany: (ids) => storage("MemoryBackend.search")(Effect.map(selectByIds(s, ids), (rows) => rows.map(rowToMemory))),
    modify: (id, next, vector) => write("MemoryBackend.update")(modifyRow(s, id, next, vector)),
    delete: (id, namespace) => write("MemoryBackend.delete")(deleteRow(s, id, namespace)),
    fact: (key, decide) => write("MemoryBackend.storeFact")(writeFact(s, key, decide)),
    // One transaction: the state row and the generation it names are read in one snapshot of the swap lock.
    vectorCandidates: (filter, query, depth) =>
      write("MemoryBackend.search")(Effect.gen(function*() {
        yield* shareGenerations(s)
        const state = yield* readState(s, "MemoryBackend.search")
        if (!sameSpace(state.space, s.current)) return yield* new EmbeddingSpaceMismatch({ stored: state.space, current: s.current })
        return yield* vectorCandidates(s, filter, query, depth, state.generation, exactScanLimit)
      })),
    textCandidates: (filter, terms, depth) => storage("MemoryBackend.search")(textCandidates(s, filter, terms, depth)),
    listPage: (filter, after, size) =>
      storage("MemoryBackend.list")(Effect.map(
        all(MemoryRow, s.sql`SELECT ${s.sql.literal(MEMORY_SELECT)} FROM ${M} m WHERE ${whereOf(s.sql, s.t, filter)} AND ${
          Option.match(after, {
            onNone: () => s.sql`true`,
            onSome: (p) => s.sql`(m.created_at < ${p.createdAtMillis} OR (m.created_at = ${p.createdAtMillis} AND m.id < ${p.id}))`
          })
        } ORDER BY m.created_at DESC, m.id DESC LIMIT ${size}`),
        (rows) => rows.map(rowToMemory)
      )),
    count: (filter) => storage("MemoryBackend.count")(single(s.sql`SELECT count(*)::integer AS n FROM ${M} m WHERE ${whereOf(s.sql, s.t, filter)}`)),
    counts: (namespace) =>
      write("MemoryBackend.stats")(Effect.gen(function*() {
        const state = yield* readState(s, "MemoryBackend.stats")
        return {
          memories: yield* single(s.sql`SELECT count(*)::integer AS n FROM ${M} m WHERE ${namespaced(namespace)}`),
          vectors: yield* single(s.sql`SELECT count(*)::integer AS n FROM ${s.sql(s.t.vectors(state.generation))} v
            JOIN ${M} m ON m.id = v.memory_id WHERE ${namespaced(namespace)}`)
        }
      })),
    history: (id) =>
      storage("MemoryBackend.history")(Effect.map(
        all(EventRow, s.sql`SELECT event FROM ${s.sql(s.t.events)} WHERE memory_id = ${id} ORDER BY seq`),
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
