/**
 * Reindex fills a new generation of vector tables and swaps it in at the end, so an interrupted run leaves the old
 * generation in charge and a rerun resumes the new one where it stopped (rows already in it are skipped).
 */
import { Effect, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { PendingVector } from "../../MemoryBackend.js"
import { all, single } from "../sql.js"
import { PendingRow } from "./schema.js"
import type { Generation, Store } from "./vectors.js"
import {
  createGeneration,
  dropGeneration,
  forgetTarget,
  readState,
  recordGeneration,
  sameSpace,
  writeVectors
} from "./vectors.js"

const METHOD = "MemoryBackend.reindex"

const missing = (s: Store, g: number) =>
  s.sql`NOT EXISTS (SELECT 1 FROM ${s.sql(s.t.vectors(g))} t WHERE t.pk = m.pk)`

/** The generation a reindex fills for the current space, created (and recorded) when none is under way. Write lock held. */
const inNamespace = (s: Store, namespace: Option.Option<string>) =>
  Option.match(namespace, { onNone: () => s.sql`1 = 1`, onSome: (ns) => s.sql`m.namespace = ${ns}` })

export const start = (s: Store, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    const state = yield* readState(s, METHOD)
    let target = Option.getOrUndefined(state.target)
    if (target !== undefined && !sameSpace(target.space, s.current)) {
      yield* dropGeneration(s, target.generation)
      target = undefined
    }
    if (target === undefined) {
      target = { space: s.current, generation: state.generation + 1 }
      yield* dropGeneration(s, target.generation)
      yield* createGeneration(s, target.generation)
      yield* recordGeneration(s, "target", target)
    }
    const total = yield* single(s.sql`SELECT count(*) AS n FROM ${s.sql(s.t.memories)} m WHERE ${inNamespace(s, namespace)}`)
    const done = yield* single(s.sql`SELECT count(*) AS n FROM ${s.sql(s.t.memories)} m
      WHERE ${inNamespace(s, namespace)} AND NOT (${missing(s, target.generation)})`)
    return { total, done }
  })

const requireTarget = (s: Store) =>
  Effect.flatMap(readState(s, METHOD), (state) =>
    Option.match(Option.filter(state.target, (t) => sameSpace(t.space, s.current)), {
      onNone: () => Effect.fail(new StorageError({ method: METHOD, cause: new Error("another reindex replaced this one") })),
      onSome: (target): Effect.Effect<Generation> => Effect.succeed(target)
    }))

/** Memories the target generation has no vector for yet, by id. */
export const pending = (s: Store, namespace: Option.Option<string>, after: Option.Option<MemoryId>, limit: number) =>
  Effect.gen(function*() {
    const target = yield* requireTarget(s)
    const from = Option.match(after, { onNone: () => s.sql`1 = 1`, onSome: (id) => s.sql`m.id > ${id}` })
    const rows = yield* all(PendingRow, s.sql`SELECT m.pk, m.id, m.content FROM ${s.sql(s.t.memories)} m
      WHERE ${from} AND ${inNamespace(s, namespace)} AND ${missing(s, target.generation)} ORDER BY m.id LIMIT ${limit}`)
    return rows.map((r): PendingVector => ({ id: r.id, content: r.content }))
  })

/** Writes the vectors of memories still missing from the target whose content is unchanged. Write lock held. */
export const write = (s: Store, items: ReadonlyArray<PendingVector & { readonly vector: Float32Array }>) =>
  Effect.gen(function*() {
    if (items.length === 0) return
    const target = yield* requireTarget(s)
    // Rows updated or deleted since they were read are left for the next pass, never written from stale text.
    const still = new Map(
      (yield* all(PendingRow, s.sql`SELECT m.pk, m.id, m.content FROM ${s.sql(s.t.memories)} m
        WHERE ${s.sql.in("m.id", items.map((i) => i.id))} AND ${missing(s, target.generation)}`))
        .map((r) => [r.id, r] as const)
    )
    const writes = items.flatMap((item) => {
      const row = still.get(item.id)
      return row !== undefined && row.content === item.content
        ? [[BigInt(row.pk), item.vector, s.code(item.vector)] as const]
        : []
    })
    yield* writeVectors(s, [target.generation], writes)
  })

/** Swaps the target in when no memory lacks a vector in it; false when some still do. Write lock held. */
export const finish = (s: Store) =>
  Effect.gen(function*() {
    const state = yield* readState(s, METHOD)
    const target = yield* requireTarget(s)
    const left = yield* single(s.sql`SELECT count(*) AS n FROM ${s.sql(s.t.memories)} m WHERE ${missing(s, target.generation)}`)
    if (left > 0) return false
    yield* recordGeneration(s, "space", target)
    yield* forgetTarget(s)
    if (state.generation !== target.generation) yield* dropGeneration(s, state.generation)
    return true
  })
