/**
 * The store's write primitives, each meant to run inside one write transaction: rows, tags, text entries and
 * vectors change together or not at all.
 */
import { Array as Arr, Effect, Option } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { Memory } from "../../Memory.js"
import type { FactWrite, NewRow } from "../../MemoryBackend.js"
import { MemoryIdTaken } from "../../MemoryBackend.js"
import { all } from "./db.js"
import { IdRow, MemoryRow, memoryColumns, PkRow, rowToMemory } from "./schema.js"
import { deleteText, storeSize, writeText } from "./text.js"
import type { State, Store } from "./vectors.js"
import { deleteVectors, INSERT_CHUNK, readState, writableGenerations, writeVectors } from "./vectors.js"

/** Every stored row among `ids`, read in chunks well under SQLite's parameter limit. */
export const selectByIds = (s: Store, ids: ReadonlyArray<MemoryId>) =>
  Effect.map(
    Effect.forEach(Arr.chunksOf(ids, 500), (chunk) =>
      all(MemoryRow, s.sql`SELECT m.* FROM ${s.sql(s.t.memories)} m WHERE ${s.sql.in("m.id", chunk)}`)),
    (chunks) => chunks.flat()
  )

const requireNewIds = (s: Store, ids: ReadonlyArray<MemoryId>) =>
  Effect.forEach(Arr.chunksOf(ids, 500), (chunk) =>
    Effect.flatMap(
      all(IdRow, s.sql`SELECT id FROM ${s.sql(s.t.memories)} WHERE ${s.sql.in("id", chunk)} LIMIT 1`),
      (taken) => taken.length === 0 ? Effect.void : Effect.fail(new MemoryIdTaken({ id: taken[0]!.id }))
    ), { discard: true })

const writeTags = (s: Store, items: ReadonlyArray<readonly [pk: bigint, tags: ReadonlyArray<string>]>) => {
  const rows = items.flatMap(([memory_pk, tags]) => tags.map((tag) => ({ tag, memory_pk })))
  return Effect.forEach(
    Arr.chunksOf(rows, INSERT_CHUNK),
    (chunk) => s.sql`INSERT INTO ${s.sql(s.t.tags)} ${s.sql.insert(chunk)}`,
    { discard: true }
  )
}

/** Inserts new memories with their tags, text entries and vectors (MemoryIdTaken when an id is stored already). */
export const insertRows = (s: Store, state: State, rows: ReadonlyArray<NewRow>) =>
  Effect.gen(function*() {
    const generations = yield* writableGenerations(s, state)
    yield* requireNewIds(s, rows.map((r) => r.memory.id))
    const first = (yield* storeSize(s)) + 1
    const pks = rows.map((_, i) => BigInt(first + i))
    yield* Effect.forEach(
      Arr.chunksOf(rows.map((r, i) => memoryColumns(pks[i]!, r.memory)), INSERT_CHUNK),
      (chunk) => s.sql`INSERT INTO ${s.sql(s.t.memories)} ${s.sql.insert(chunk)}`,
      { discard: true }
    )
    yield* writeTags(s, rows.map((r, i) => [pks[i]!, r.memory.metadata.tags] as const))
    yield* writeText(s, rows.map((r, i) => [pks[i]!, r.memory.content] as const))
    yield* writeVectors(s, generations, rows.map((r, i) => [pks[i]!, r.vector, s.code(r.vector)] as const))
  })

/** Rewrites a stored row's columns (not its keys or creation time), and its tags when they changed. */
const updateRow = (s: Store, pk: bigint, before: Memory, after: Memory) =>
  Effect.gen(function*() {
    yield* s.sql`UPDATE ${s.sql(s.t.memories)} SET ${s.sql.update(memoryColumns(pk, after), ["pk", "id", "created_at"])}
      WHERE pk = ${pk}`
    if (after.metadata.tags.join("\u0000") !== before.metadata.tags.join("\u0000")) {
      yield* s.sql`DELETE FROM ${s.sql(s.t.tags)} WHERE memory_pk = ${pk}`
      yield* writeTags(s, [[pk, after.metadata.tags]])
    }
  })

export const modifyRow = (
  s: Store,
  id: MemoryId,
  next: (current: Memory) => Memory,
  vector: Option.Option<Float32Array>
) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.update")
    const found = (yield* selectByIds(s, [id]))[0]
    if (found === undefined) return Option.none<Memory>()
    const pk = BigInt(found.pk)
    const before = rowToMemory(found)
    const after = next(before)
    if (after.content !== before.content) {
      if (Option.isNone(vector)) {
        return yield* new StorageError({ method: "MemoryBackend.update", cause: new Error("changed content without its vector") })
      }
      const generations = yield* writableGenerations(s, state)
      yield* deleteText(s, pk)
      yield* writeText(s, [[pk, after.content]])
      yield* deleteVectors(s, state, [pk])
      yield* writeVectors(s, generations, [[pk, vector.value, s.code(vector.value)]])
    }
    yield* updateRow(s, pk, before, after)
    return Option.some(after)
  })

export const deleteRow = (s: Store, id: MemoryId) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.delete")
    const found = yield* all(PkRow, s.sql`SELECT pk FROM ${s.sql(s.t.memories)} WHERE id = ${id}`)
    if (found.length === 0) return
    const pk = BigInt(found[0]!.pk)
    yield* s.sql`DELETE FROM ${s.sql(s.t.memories)} WHERE pk = ${pk}`
    yield* s.sql`DELETE FROM ${s.sql(s.t.tags)} WHERE memory_pk = ${pk}`
    yield* deleteText(s, pk)
    yield* deleteVectors(s, state, [pk])
  })

/** Reads the live facts of one subject+predicate and writes what `decide` makes of them. */
export const writeFact = (
  s: Store,
  subject: string,
  predicate: string,
  decide: (live: ReadonlyArray<Memory>) => FactWrite
) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.storeFact")
    yield* writableGenerations(s, state)
    const live = yield* all(MemoryRow, s.sql`SELECT m.* FROM ${s.sql(s.t.memories)} m
      WHERE m.subject = ${subject} AND m.predicate = ${predicate} AND m.superseded = 0
      ORDER BY m.created_at DESC, m.id DESC`)
    const memories = live.map(rowToMemory)
    const before = new Map(live.map((r, i) => [r.id, { pk: BigInt(r.pk), memory: memories[i]! }] as const))
    const written = decide(memories)
    if (Option.isSome(written.insert)) yield* requireNewIds(s, [written.insert.value.memory.id])
    for (const m of written.updates) {
      const row = before.get(m.id)
      if (row !== undefined) yield* updateRow(s, row.pk, row.memory, m)
    }
    if (Option.isSome(written.insert)) yield* insertRows(s, state, [written.insert.value])
    return written
  })
