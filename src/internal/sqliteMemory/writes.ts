/**
 * The store's write primitives, each meant to run inside one write transaction: rows, tags, text entries and
 * vectors change together or not at all.
 */
import { Array as Arr, Effect, Option, Schema } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { Memory } from "../../Memory.js"
import type { FactKey, FactWrite, NewRow, Occupied, Rewrite } from "../../MemoryBackend.js"
import { MemoryIdTaken } from "../../MemoryBackend.js"
import { isExpired } from "../memory.js"
import { all } from "../sql.js"
import { MemoryEventJson } from "../../MemoryEvent.js"
import type { MemoryEvent } from "../../MemoryEvent.js"
import { MemoryRow, memoryColumns, PkRow, rowToMemory, SeqRow } from "./schema.js"
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

const writeTags = (s: Store, items: ReadonlyArray<readonly [pk: bigint, tags: ReadonlyArray<string>]>) => {
  const rows = items.flatMap(([memory_pk, tags]) => tags.map((tag) => ({ tag, memory_pk })))
  return Effect.forEach(
    Arr.chunksOf(rows, INSERT_CHUNK),
    (chunk) => s.sql`INSERT INTO ${s.sql(s.t.tags)} ${s.sql.insert(chunk)}`,
    { discard: true }
  )
}

const encodeEvent = Schema.encode(MemoryEventJson)

/** Appends events after each memory's last one. */
const writeEvents = (s: Store, items: ReadonlyArray<readonly [pk: bigint, events: ReadonlyArray<MemoryEvent>]>) =>
  Effect.gen(function*() {
    const owners = items.filter(([, events]) => events.length > 0)
    if (owners.length === 0) return
    const last = new Map(
      (yield* all(SeqRow, s.sql`SELECT memory_pk, max(seq) AS seq FROM ${s.sql(s.t.events)}
        WHERE ${s.sql.in("memory_pk", owners.map(([pk]) => pk))} GROUP BY memory_pk`)).map((r) => [BigInt(r.memory_pk), r.seq])
    )
    const rows: Array<{ memory_pk: bigint; seq: number; event: string }> = []
    for (const [pk, events] of owners) {
      let seq = last.get(pk) ?? 0
      for (const event of events) rows.push({ memory_pk: pk, seq: ++seq, event: yield* encodeEvent(event) })
    }
    yield* Effect.forEach(Arr.chunksOf(rows, INSERT_CHUNK), (chunk) => s.sql`INSERT INTO ${s.sql(s.t.events)} ${s.sql.insert(chunk)}`, {
      discard: true
    })
  })

/** Removes the memory of `pk` with its tags, text entry, vectors and history. */
const removeRow = (s: Store, state: State, pk: bigint) =>
  Effect.gen(function*() {
    yield* s.sql`DELETE FROM ${s.sql(s.t.memories)} WHERE pk = ${pk}`
    yield* s.sql`DELETE FROM ${s.sql(s.t.tags)} WHERE memory_pk = ${pk}`
    yield* s.sql`DELETE FROM ${s.sql(s.t.events)} WHERE memory_pk = ${pk}`
    yield* deleteText(s, pk)
    yield* deleteVectors(s, state, [pk])
  })

/**
 * Inserts new memories with their tags, text entries, vectors and events. An id held by a memory expired at
 * `occupied.nowMillis` is freed first (the memory removed as `sweep` removes it), a retry of the stored write is
 * skipped, any other held id is MemoryIdTaken.
 */
export const insertRows = (s: Store, state: State, inserts: ReadonlyArray<NewRow>, occupied: Occupied) =>
  Effect.gen(function*() {
    const generations = yield* writableGenerations(s, state)
    const held = new Map(
      (yield* selectByIds(s, inserts.map((r) => r.memory.id))).map((r) => [r.id, { pk: BigInt(r.pk), memory: rowToMemory(r) }] as const)
    )
    const expired: Array<bigint> = []
    const rows: Array<NewRow> = []
    for (const row of inserts) {
      const found = held.get(row.memory.id)
      if (found === undefined) rows.push(row)
      else if (isExpired(found.memory, occupied.nowMillis)) {
        expired.push(found.pk)
        rows.push(row)
      } else if (!occupied.same(found.memory, row)) return yield* new MemoryIdTaken({ id: row.memory.id })
    }
    // Fresh pks are taken before the expired rows go, so no new row ever reuses one of theirs.
    const first = (yield* storeSize(s)) + 1
    yield* Effect.forEach(expired, (pk) => removeRow(s, state, pk), { discard: true })
    const pks = rows.map((_, i) => BigInt(first + i))
    yield* Effect.forEach(
      Arr.chunksOf(rows.map((r, i) => memoryColumns(pks[i]!, r.memory)), INSERT_CHUNK),
      (chunk) => s.sql`INSERT INTO ${s.sql(s.t.memories)} ${s.sql.insert(chunk)}`,
      { discard: true }
    )
    yield* writeTags(s, rows.map((r, i) => [pks[i]!, r.memory.metadata.tags] as const))
    yield* writeText(s, rows.map((r, i) => [pks[i]!, r.memory.content] as const))
    yield* writeVectors(s, generations, rows.map((r, i) => [pks[i]!, r.vector, s.code(r.vector)] as const))
    yield* writeEvents(s, rows.map((r, i) => [pks[i]!, r.events] as const))
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
  next: (current: Memory) => Option.Option<Rewrite>,
  vector: Option.Option<Float32Array>
) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.update")
    const found = (yield* selectByIds(s, [id]))[0]
    if (found === undefined) return Option.none<Memory>()
    const pk = BigInt(found.pk)
    const before = rowToMemory(found)
    const written = next(before)
    if (Option.isNone(written)) return Option.none<Memory>()
    const after = written.value.memory
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
    yield* writeEvents(s, [[pk, written.value.events]])
    return Option.some(after)
  })

const inNamespace = (s: Store, namespace: Option.Option<string>) =>
  Option.match(namespace, { onNone: () => s.sql`1 = 1`, onSome: (ns) => s.sql`namespace = ${ns}` })

export const deleteRow = (s: Store, id: MemoryId, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.delete")
    const found = yield* all(PkRow, s.sql`SELECT pk FROM ${s.sql(s.t.memories)} WHERE id = ${id} AND ${inNamespace(s, namespace)}`)
    if (found.length > 0) yield* removeRow(s, state, BigInt(found[0]!.pk))
  })

/** Deletes the memories (of `namespace`, when given) expired at `nowMillis`; returns how many. */
export const sweepRows = (s: Store, nowMillis: number, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.sweep")
    const expired = yield* all(PkRow, s.sql`SELECT pk FROM ${s.sql(s.t.memories)}
      WHERE expires_at IS NOT NULL AND expires_at <= ${nowMillis} AND ${inNamespace(s, namespace)}`)
    yield* Effect.forEach(expired, (r) => removeRow(s, state, BigInt(r.pk)), { discard: true })
    return expired.length
  })

/** Moves each memory's expiry to the given instant, unless it has expired already. */
export const extendRows = (
  s: Store,
  items: ReadonlyArray<{ readonly id: MemoryId; readonly expiresAt: { readonly epochMillis: number } }>,
  nowMillis: number
) =>
  Effect.forEach(items, (item) =>
    s.sql`UPDATE ${s.sql(s.t.memories)} SET expires_at = ${item.expiresAt.epochMillis}
      WHERE id = ${item.id} AND expires_at > ${nowMillis}`, { discard: true })

/** Reads the live facts of one key and writes what `decide` makes of them. */
export const writeFact = (s: Store, key: FactKey, decide: (live: ReadonlyArray<Memory>) => FactWrite) =>
  Effect.gen(function*() {
    const state = yield* readState(s, "MemoryBackend.storeFact")
    yield* writableGenerations(s, state)
    const live = yield* all(MemoryRow, s.sql`SELECT m.* FROM ${s.sql(s.t.memories)} m
      WHERE m.namespace = ${key.namespace} AND m.subject = ${key.subject} AND m.predicate = ${key.predicate}
        AND m.superseded = 0 AND (m.expires_at IS NULL OR m.expires_at > ${key.nowMillis})
      ORDER BY m.created_at DESC, m.id DESC`)
    const memories = live.map(rowToMemory)
    const before = new Map(live.map((r, i) => [r.id, { pk: BigInt(r.pk), memory: memories[i]! }] as const))
    const written = decide(memories)
    for (const update of written.updates) {
      const row = before.get(update.memory.id)
      if (row === undefined) continue
      yield* updateRow(s, row.pk, row.memory, update.memory)
      yield* writeEvents(s, [[row.pk, update.events]])
    }
    if (Option.isSome(written.insert)) yield* insertRows(s, state, [written.insert.value], { nowMillis: key.nowMillis, same: () => false })
    return written
  })
