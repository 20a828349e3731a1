/**
 * The SQL memory store as a MemoryBackend driver, for any dialect: every write one transaction begun the dialect's
 * way, every engine or row decoding failure a StorageError (named after the primitive; the kernel renames it after
 * the method called).
 */
import { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Effect, Option, Schema } from "effect"
import { EmbeddingSpaceMismatch } from "../../Errors.js"
import type { Driver } from "../../MemoryBackend/Driver.js"
import { MemoryIdTaken } from "../../MemoryBackend/Driver.js"
import { MemoryEventJson } from "../../MemoryEvent.js"
import { all, decodeRows, rowCount, single, storage, transaction } from "../sql.js"
import type { DriverFilter } from "../memoryRules.js"
import type { ScoreOptions } from "../rankingTopK.js"
import type { Dialect, SqlFailure } from "./dialect.js"
import * as Reindex from "./reindex.js"
import { inNamespaceSql } from "./filter.js"
import { sameSpace } from "./state.js"
import type { State } from "./state.js"
import { deleteRow, extendRows, insertRows, modifyRow, purgeRows, selectByIds, stateOf, sweepRows, writeFact } from "./writes.js"

const EventRow = Schema.Struct({ event: MemoryEventJson })
const decodeEventRows = decodeRows(EventRow)
const NamespaceRow = Schema.Struct({
  namespace: Schema.String,
  memories: Schema.Number,
  embedded: Schema.Number,
  updatedAtMillis: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("updated_at_millis"))
})
const decodeNamespaceRows = decodeRows(NamespaceRow)

export const makeDriver = <K>(d: Dialect<K>): Driver => {
  const { sql } = d
  const write = (method: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method)(transaction(sql, d.writeBegin)(effect))
  const read = (method: string) => <A, E>(effect: Effect.Effect<A, E>) => storage(method)(transaction(sql, d.readBegin)(effect))
  const M = sql(d.t.memories)
  const namespaced = (namespace: Option.Option<string>) => inNamespaceSql(sql, namespace)
  // The live generation as last read, for searches: reading the state costs a statement (three on one connection,
  // which must read it in a transaction with the search), and it changes only when a reindex swaps generations.
  // The swap drops the old generation's tables in its own transaction, so a search of a stale generation fails
  // instead of answering, and reads the state again. Live generations only grow: a dropped one never comes back.
  // A state from another embedding space is never kept, so a store reindexed back to this one is seen at once.
  let known: State | undefined
  const ranked = d.rankedSearch
  // A read of the live generation's vectors, in the store's embedding space (else EmbeddingSpaceMismatch).
  const current = <A>(method: string, search: (generation: number) => Effect.Effect<A, SqlFailure>) => {
    const run = (state: State): Effect.Effect<A, SqlFailure | EmbeddingSpaceMismatch> =>
      sameSpace(state.space, d.current)
        ? search(state.generation)
        : Effect.fail(new EmbeddingSpaceMismatch({ stored: state.space, current: d.current }))
    const fresh = d.snapshot(Effect.flatMap(stateOf(d, method), (state) => {
      known = sameSpace(state.space, d.current) ? state : undefined
      return run(state)
    }))
    return storage(method)(Effect.suspend(() =>
      known === undefined ? fresh : Effect.catchIf(d.readKnown(run(known)), (e) => e instanceof SqlError, () => {
        known = undefined
        return fresh
      })
    ))
  }
  const count = (where: Fragment) => single(sql`SELECT CAST(count(*) AS integer) AS n FROM ${M} m WHERE ${where}`)
  return {
    backend: d.backend,
    space: storage("MemoryDriver.space")(Effect.map(stateOf(d, "MemoryDriver.space"), (state) => state.space)),
    // A same-id writer that commits between the look and the write aborts this transaction; run once more, its row
    // is there to compare with (a retry of the same write then succeeds).
    insert: (rows, occupied) => {
      const once = write("MemoryDriver.insert")(insertRows(d, rows, occupied))
      return Effect.catchTag(once, "IdRace", () => Effect.catchTag(once, "IdRace", (e) => new MemoryIdTaken({ id: e.id })))
    },
    get: (id) => storage("MemoryDriver.get")(Effect.map(selectByIds(d, [id]), (rows) => Option.map(Option.fromNullable(rows[0]), ([, m]) => m))),
    getMany: (ids) => storage("MemoryDriver.getMany")(Effect.map(selectByIds(d, ids), (rows) => rows.map(([, m]) => m))),
    modify: (id, next, vector) => write("MemoryDriver.modify")(modifyRow(d, id, next, vector)),
    delete: (id, namespace) => write("MemoryDriver.delete")(deleteRow(d, id, namespace)),
    fact: (key, decide) => write("MemoryDriver.fact")(writeFact(d, key, decide)),
    vectorCandidates: (filter, query, depth) =>
      current("MemoryDriver.vectorCandidates", (generation) => d.vectorCandidates(filter, query, depth, generation)),
    ...(ranked === undefined ? {} : {
      rankedSearch: (filter: DriverFilter, query: Float32Array, terms: ReadonlyArray<string>, options: ScoreOptions) =>
        current("MemoryDriver.rankedSearch", (generation) => ranked(filter, { query, generation }, terms, options))
    }),
    textCandidates: (filter, terms, depth) => storage("MemoryDriver.textCandidates")(d.textCandidates(filter, terms, depth)),
    listPage: (filter, after, size) =>
      storage("MemoryDriver.listPage")(Effect.map(
        d.selectRows(
          sql`${d.whereOf(filter)} AND ${
            Option.match(after, {
              onNone: () => sql`1 = 1`,
              onSome: (p) => sql`(m.created_at < ${p.createdAtMillis} OR (m.created_at = ${p.createdAtMillis} AND m.id < ${p.id}))`
            })
          }`,
          sql`ORDER BY m.created_at DESC, m.id DESC LIMIT ${rowCount(sql, size)}`
        ),
        (rows) => rows.map(([, m]) => m)
      )),
    count: (filter) => storage("MemoryDriver.count")(count(d.whereOf(filter))),
    counts: (namespace) =>
      read("MemoryDriver.counts")(Effect.gen(function*() {
        const state = yield* stateOf(d, "MemoryDriver.counts")
        return {
          memories: yield* count(namespaced(namespace)),
          vectors: yield* single(sql`SELECT CAST(count(*) AS integer) AS n FROM ${sql(d.t.vectors(state.generation))} v
            JOIN ${M} m ON m.${sql.literal(d.key.column)} = v.${sql.literal(d.key.vector)} WHERE ${namespaced(namespace)}`)
        }
      })),
    namespaces: (root, nowMillis) =>
      storage("MemoryDriver.namespaces")(all(decodeNamespaceRows, sql`SELECT m.namespace AS namespace,
        CAST(count(*) AS integer) AS memories, CAST(sum(m.embed) AS integer) AS embedded, max(m.updated_at) AS updated_at_millis
        FROM ${M} m WHERE ${namespaced(root)} AND (m.expires_at IS NULL OR m.expires_at > ${nowMillis}) GROUP BY m.namespace`)),
    history: (id) =>
      storage("MemoryDriver.history")(Effect.map(
        // Read as text on every engine, so one codec decodes it.
        all(decodeEventRows, sql`SELECT CAST(e.event AS text) AS event FROM ${sql(d.t.events)} e
          JOIN ${M} m ON m.${sql.literal(d.key.column)} = e.${sql.literal(d.key.ref)} WHERE m.id = ${id} ORDER BY e.seq`),
        (rows) => rows.map((r) => r.event)
      )),
    sweep: (nowMillis, namespace) => write("MemoryDriver.sweep")(sweepRows(d, nowMillis, namespace)),
    purge: (namespace, limit) =>
      Effect.tap(write("MemoryDriver.purge")(purgeRows(d, namespace, limit)), (removed) =>
        removed < limit ? storage("MemoryDriver.purge")(d.reclaim) : Effect.void),
    extend: (items, nowMillis) => write("MemoryDriver.extend")(extendRows(d, items, nowMillis)),
    reindex: {
      start: (namespace) => write("MemoryDriver.reindex")(Reindex.start(d, namespace)),
      pending: (namespace, after, limit) => storage("MemoryDriver.reindex")(Reindex.pending(d, namespace, after, limit)),
      write: (items) => write("MemoryDriver.reindex")(Reindex.write(d, items)),
      finish: Effect.ensuring(write("MemoryDriver.reindex")(Reindex.finish(d)), Effect.sync(() => known = undefined))
    }
  }
}
