/**
 * The resumable reindex of an SQL memory store: a new generation is filled for the current embedding space and
 * swapped in at the end, so an interrupted run leaves the old one in charge and a rerun resumes where it stopped.
 * Starting a target and the swap take the generation lock alone; vector writes share it.
 */
import type { Fragment } from "@effect/sql/Statement"
import { Effect, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { PendingVector } from "../../MemoryBackend/Driver.js"
import { all, rowCount, single } from "../sql.js"
import type { Dialect } from "./dialect.js"
import type { Generation } from "./state.js"
import { forgetTarget, recordGeneration, sameSpace } from "./state.js"
import { stateOf } from "./writes.js"
import { inNamespaceSql } from "./filter.js"

const METHOD = "MemoryDriver.reindex"

/** Lacks its vector in generation `g` (a memory stored with `embed: false` never lacks one). */
const missing = <K>(d: Dialect<K>, g: number) =>
  d.sql`m.embed = 1 AND NOT EXISTS (SELECT 1 FROM ${d.sql(d.t.vectors(g))} t WHERE t.${d.sql.literal(d.key.vector)} = m.${d.sql.literal(d.key.column)})`

const inNamespace = <K>(d: Dialect<K>, namespace: Option.Option<string>) => inNamespaceSql(d.sql, namespace)

const countOf = <K>(d: Dialect<K>, where: Fragment) =>
  single(d.sql`SELECT CAST(count(*) AS integer) AS n FROM ${d.sql(d.t.memories)} m WHERE ${where}`)

/** The generation a reindex fills for the current space, created (and recorded) when none is under way. */
export const start = <K>(d: Dialect<K>, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    yield* d.lockGenerations
    const state = yield* stateOf(d, METHOD)
    let target = Option.getOrUndefined(state.target)
    if (target !== undefined && !sameSpace(target.space, d.current)) {
      yield* d.dropGeneration(target.generation)
      target = undefined
    }
    if (target === undefined) {
      target = { space: d.current, generation: state.generation + 1 }
      yield* d.dropGeneration(target.generation)
      yield* d.createGeneration(target.generation)
      yield* recordGeneration(d.sql, d.t.meta, "target", target)
    }
    const scope = d.sql`${inNamespace(d, namespace)} AND m.embed = 1`
    return {
      total: yield* countOf(d, scope),
      done: yield* countOf(d, d.sql`${scope} AND NOT (${missing(d, target.generation)})`)
    }
  })

const requireTarget = <K>(d: Dialect<K>) =>
  Effect.flatMap(stateOf(d, METHOD), (state) =>
    Option.match(Option.filter(state.target, (t) => sameSpace(t.space, d.current)), {
      onNone: () => Effect.fail(new StorageError({ method: METHOD, cause: new Error("another reindex replaced this one") })),
      onSome: (target): Effect.Effect<Generation> => Effect.succeed(target)
    }))

/** Memories the target generation has no vector for yet, by id. */
export const pending = <K>(d: Dialect<K>, namespace: Option.Option<string>, after: Option.Option<MemoryId>, limit: number) =>
  Effect.gen(function*() {
    const target = yield* requireTarget(d)
    const from = Option.match(after, { onNone: () => d.sql`1 = 1`, onSome: (id) => d.sql`m.id > ${id}` })
    const rows = yield* all(d.key.decodePending, d.sql`SELECT m.${d.sql.literal(d.key.column)} AS key, m.id, m.content
      FROM ${d.sql(d.t.memories)} m
      WHERE ${from} AND ${inNamespace(d, namespace)} AND ${missing(d, target.generation)} ORDER BY m.id LIMIT ${rowCount(d.sql, limit)}`)
    return rows.map((r): PendingVector => ({ id: r.id, content: r.content }))
  })

/** Writes the vectors of memories still missing from the target whose content is unchanged. */
export const write = <K>(d: Dialect<K>, items: ReadonlyArray<PendingVector & { readonly vector: Float32Array }>) =>
  Effect.gen(function*() {
    if (items.length === 0) return
    yield* d.shareGenerations
    const target = yield* requireTarget(d)
    // Rows updated or deleted since they were read are left for the next pass, never written from stale text.
    const still = new Map(
      (yield* all(d.key.decodePending, d.sql`SELECT m.${d.sql.literal(d.key.column)} AS key, m.id, m.content
        FROM ${d.sql(d.t.memories)} m
        WHERE ${d.sql.in("m.id", items.map((i) => i.id))} AND ${missing(d, target.generation)} ${d.forUpdate}`))
        .map((r) => [r.id, r] as const)
    )
    const writes = items.flatMap((item) => {
      const row = still.get(item.id)
      return row !== undefined && row.content === item.content ? [[row.key, item.vector] as const] : []
    })
    yield* d.writeVectors([target.generation], writes)
  })

/** Swaps the target in when no memory lacks a vector in it; false when some still do. */
export const finish = <K>(d: Dialect<K>) =>
  Effect.gen(function*() {
    yield* d.lockGenerations
    const state = yield* stateOf(d, METHOD)
    const target = yield* requireTarget(d)
    if ((yield* countOf(d, missing(d, target.generation))) > 0) return false
    yield* recordGeneration(d.sql, d.t.meta, "space", target)
    yield* forgetTarget(d.sql, d.t.meta)
    if (state.generation !== target.generation) yield* d.dropGeneration(state.generation)
    return true
  })
