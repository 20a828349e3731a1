/**
 * Reindex on PostgreSQL, as on SQLite: a new generation table is filled and swapped in at the end, so an
 * interrupted run leaves the old one in charge and a rerun resumes where it stopped. Starting a target and the swap
 * take the generation lock alone; vector writes share it.
 */
import { Effect, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { PendingVector } from "../../MemoryBackend.js"
import { all, single } from "../sql.js"
import { createGeneration, dropGeneration, PendingRow } from "./schema.js"
import type { Generation, Store } from "./state.js"
import { forgetTarget, lockGenerations, readState, recordGeneration, sameSpace, shareGenerations, writeVectors } from "./state.js"

const METHOD = "MemoryBackend.reindex"

const missing = (s: Store, g: number) => s.sql`NOT EXISTS (SELECT 1 FROM ${s.sql(s.t.vectors(g))} t WHERE t.memory_id = m.id)`
const inNamespace = (s: Store, namespace: Option.Option<string>) =>
  Option.match(namespace, { onNone: () => s.sql`true`, onSome: (ns) => s.sql`m.namespace = ${ns}` })

export const start = (s: Store, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    yield* lockGenerations(s)
    const state = yield* readState(s, METHOD)
    let target = Option.getOrUndefined(state.target)
    if (target !== undefined && !sameSpace(target.space, s.current)) {
      yield* dropGeneration(s.sql, s.t, target.generation)
      target = undefined
    }
    if (target === undefined) {
      target = { space: s.current, generation: state.generation + 1 }
      yield* dropGeneration(s.sql, s.t, target.generation)
      yield* createGeneration(s.sql, s.t, target.generation, s.current.dimensions)
      yield* recordGeneration(s, "target", target)
    }
    const scope = inNamespace(s, namespace)
    const total = yield* single(s.sql`SELECT count(*)::integer AS n FROM ${s.sql(s.t.memories)} m WHERE ${scope}`)
    const done = yield* single(s.sql`SELECT count(*)::integer AS n FROM ${s.sql(s.t.memories)} m
      WHERE ${scope} AND NOT (${missing(s, target.generation)})`)
    return { total, done }
  })

const requireTarget = (s: Store) =>
  Effect.flatMap(readState(s, METHOD), (state) =>
    Option.match(Option.filter(state.target, (t) => sameSpace(t.space, s.current)), {
      onNone: () => Effect.fail(new StorageError({ method: METHOD, cause: new Error("another reindex replaced this one") })),
      onSome: (target): Effect.Effect<Generation> => Effect.succeed(target)
    }))

export const pending = (s: Store, namespace: Option.Option<string>, after: Option.Option<MemoryId>, limit: number) =>
  Effect.gen(function*() {
    const target = yield* requireTarget(s)
    const from = Option.match(after, { onNone: () => s.sql`true`, onSome: (id) => s.sql`m.id > ${id}` })
    const rows = yield* all(PendingRow, s.sql`SELECT m.id, m.content FROM ${s.sql(s.t.memories)} m
      WHERE ${from} AND ${inNamespace(s, namespace)} AND ${missing(s, target.generation)} ORDER BY m.id LIMIT ${limit}`)
    return rows.map((r): PendingVector => ({ id: r.id, content: r.content }))
  })

export const write = (s: Store, items: ReadonlyArray<PendingVector & { readonly vector: Float32Array }>) =>
  Effect.gen(function*() {
    if (items.length === 0) return
    yield* shareGenerations(s)
    const target = yield* requireTarget(s)
    // Rows updated or deleted since they were read are left for the next pass, never written from stale text.
    const still = new Map(
      (yield* all(PendingRow, s.sql`SELECT m.id, m.content FROM ${s.sql(s.t.memories)} m
        WHERE ${s.sql.in("m.id", items.map((i) => i.id))} AND ${missing(s, target.generation)} FOR UPDATE`))
        .map((r) => [r.id, r.content] as const)
    )
    const writes = items.flatMap((item) => (still.get(item.id) === item.content ? [[item.id, item.vector] as const] : []))
    yield* writeVectors(s, [target.generation], writes)
  })

export const finish = (s: Store) =>
  Effect.gen(function*() {
    yield* lockGenerations(s)
    const state = yield* readState(s, METHOD)
    const target = yield* requireTarget(s)
    const left = yield* single(s.sql`SELECT count(*)::integer AS n FROM ${s.sql(s.t.memories)} m WHERE ${missing(s, target.generation)}`)
    if (left > 0) return false
    yield* recordGeneration(s, "space", target)
    yield* forgetTarget(s)
    if (state.generation !== target.generation) yield* dropGeneration(s.sql, s.t, state.generation)
    return true
  })
