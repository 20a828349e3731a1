/**
 * The PostgreSQL store's write primitives, each meant to run inside one transaction: rows, tags, vectors and
 * events change together or not at all. Row locks (`FOR UPDATE`) order concurrent writers of one memory; an
 * advisory lock per fact key orders concurrent storeFacts of one subject+predicate.
 */
import { Array as Arr, Data, Effect, Option, Schema } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { Memory } from "../../Memory.js"
import type { FactKey, FactWrite, NewRow, Occupied, Rewrite } from "../../MemoryBackend.js"
import { MemoryIdTaken } from "../../MemoryBackend.js"
import { MemoryEventJson } from "../../MemoryEvent.js"
import type { MemoryEvent } from "../../MemoryEvent.js"
import { isExpired } from "../memory.js"
import { all } from "../sql.js"
import { IdRow, MEMORY_SELECT, memoryColumns, MemoryRow, rowToMemory, SeqRow } from "./schema.js"
import type { State, Store } from "./state.js"
import { deleteVectors, readState, shareGenerations, writableGenerations, writeVectors } from "./state.js"

/** Rows per multi-row INSERT: far below PostgreSQL's 65535 bound parameters. */
const CHUNK = 500

export const selectByIds = (s: Store, ids: ReadonlyArray<MemoryId>, lock = false) =>
  Effect.map(
    Effect.forEach(Arr.chunksOf(ids, CHUNK), (chunk) =>
      all(MemoryRow, s.sql`SELECT ${s.sql.literal(MEMORY_SELECT)} FROM ${s.sql(s.t.memories)} m
        WHERE ${s.sql.in("m.id", chunk)} ${lock ? s.sql`FOR UPDATE` : s.sql``}`)),
    (chunks) => chunks.flat()
  )

const encodeEvent = Schema.encode(MemoryEventJson)

/** Appends events after each memory's last one (the memory's row lock keeps seqs unique). */
const writeEvents = (s: Store, items: ReadonlyArray<readonly [id: string, events: ReadonlyArray<MemoryEvent>]>) =>
  Effect.gen(function*() {
    const owners = items.filter(([, events]) => events.length > 0)
    if (owners.length === 0) return
    const last = new Map(
      (yield* all(SeqRow, s.sql`SELECT memory_id, max(seq) AS seq FROM ${s.sql(s.t.events)}
        WHERE ${s.sql.in("memory_id", owners.map(([id]) => id))} GROUP BY memory_id`)).map((r) => [r.memory_id, r.seq])
    )
    const rows: Array<{ memory_id: string; seq: number; event: string }> = []
    for (const [id, events] of owners) {
      let seq = last.get(id) ?? 0
      for (const event of events) rows.push({ memory_id: id, seq: ++seq, event: yield* encodeEvent(event) })
    }
    yield* Effect.forEach(Arr.chunksOf(rows, CHUNK), (chunk) => s.sql`INSERT INTO ${s.sql(s.t.events)} ${s.sql.insert(chunk)}`, {
      discard: true
    })
  })

const writeTags = (s: Store, items: ReadonlyArray<readonly [id: string, tags: ReadonlyArray<string>]>) => {
  const rows = items.flatMap(([memory_id, tags]) => tags.map((tag) => ({ tag, memory_id })))
  return Effect.forEach(Arr.chunksOf(rows, CHUNK), (chunk) => s.sql`INSERT INTO ${s.sql(s.t.tags)} ${s.sql.insert(chunk)}`, {
    discard: true
  })
}

const isUniqueViolation = (e: { readonly cause?: unknown }) =>
  typeof e.cause === "object" && e.cause !== null && "code" in e.cause && e.cause.code === "23505"

const removeRows = (s: Store, state: State, ids: ReadonlyArray<string>) =>
  ids.length === 0 ? Effect.void : Effect.gen(function*() {
    yield* s.sql`DELETE FROM ${s.sql(s.t.memories)} WHERE ${s.sql.in("id", ids)}`
    yield* s.sql`DELETE FROM ${s.sql(s.t.tags)} WHERE ${s.sql.in("memory_id", ids)}`
    yield* s.sql`DELETE FROM ${s.sql(s.t.events)} WHERE ${s.sql.in("memory_id", ids)}`
    yield* deleteVectors(s, state, ids)
  })

/** A concurrent writer committed one of the ids after the insert looked: its transaction can only roll back. */
export class IdRace extends Data.TaggedError("IdRace")<{ readonly id: MemoryId }> {}

/**
 * Inserts new memories with tags, vectors and events. An id held by a memory expired at `occupied.nowMillis` is
 * freed first (the memory removed as `sweep` removes it), a retry of the stored write is skipped, any other held id
 * is MemoryIdTaken; an id committed by another writer meanwhile is IdRace.
 */
export const insertRows = (s: Store, inserts: ReadonlyArray<NewRow>, occupied: Occupied) =>
  Effect.gen(function*() {
    yield* shareGenerations(s)
    const state = yield* readState(s, "MemoryBackend.store")
    const generations = yield* writableGenerations(s, state)
    const held = new Map((yield* selectByIds(s, inserts.map((r) => r.memory.id), true)).map((r) => [r.id, rowToMemory(r)] as const))
    const expired: Array<MemoryId> = []
    const rows: Array<NewRow> = []
    for (const row of inserts) {
      const stored = held.get(row.memory.id)
      if (stored === undefined) rows.push(row)
      else if (isExpired(stored, occupied.nowMillis)) {
        expired.push(stored.id)
        rows.push(row)
      } else if (!occupied.same(stored, row)) return yield* new MemoryIdTaken({ id: row.memory.id })
    }
    yield* Effect.forEach(Arr.chunksOf(expired, CHUNK), (ids) => removeRows(s, state, ids), { discard: true })
    yield* Effect.forEach(Arr.chunksOf(rows, CHUNK), (chunk) =>
      s.sql`INSERT INTO ${s.sql(s.t.memories)} ${s.sql.insert(chunk.map((r) => memoryColumns(r.memory)))}`.pipe(
        Effect.catchIf(
          (e) => e._tag === "SqlError" && isUniqueViolation(e),
          () => Effect.fail(new IdRace({ id: chunk[0]!.memory.id }))
        )
      ), { discard: true })
    yield* writeTags(s, rows.map((r) => [r.memory.id, r.memory.metadata.tags] as const))
    yield* writeVectors(s, generations, rows.map((r) => [r.memory.id, r.vector] as const))
    yield* writeEvents(s, rows.map((r) => [r.memory.id, r.events] as const))
  })

const updateRow = (s: Store, before: Memory, after: Memory) =>
  Effect.gen(function*() {
    yield* s.sql`UPDATE ${s.sql(s.t.memories)} SET ${s.sql.update(memoryColumns(after), ["id", "created_at"])} WHERE id = ${after.id}`
    if (after.metadata.tags.join("\u0000") !== before.metadata.tags.join("\u0000")) {
      yield* s.sql`DELETE FROM ${s.sql(s.t.tags)} WHERE memory_id = ${after.id}`
      yield* writeTags(s, [[after.id, after.metadata.tags]])
    }
  })

export const modifyRow = (
  s: Store,
  id: MemoryId,
  next: (current: Memory) => Option.Option<Rewrite>,
  vector: Option.Option<Float32Array>
) =>
  Effect.gen(function*() {
    yield* shareGenerations(s)
    const state = yield* readState(s, "MemoryBackend.update")
    const found = (yield* selectByIds(s, [id], true))[0]
    if (found === undefined) return Option.none<Memory>()
    const before = rowToMemory(found)
    const written = next(before)
    if (Option.isNone(written)) return Option.none<Memory>()
    const after = written.value.memory
    if (after.content !== before.content) {
      if (Option.isNone(vector)) {
        return yield* new StorageError({ method: "MemoryBackend.update", cause: new Error("changed content without its vector") })
      }
      const generations = yield* writableGenerations(s, state)
      yield* deleteVectors(s, state, [id])
      yield* writeVectors(s, generations, [[id, vector.value]])
    }
    yield* updateRow(s, before, after)
    yield* writeEvents(s, [[id, written.value.events]])
    return Option.some(after)
  })

const inNamespace = (s: Store, namespace: Option.Option<string>) =>
  Option.match(namespace, { onNone: () => s.sql`true`, onSome: (ns) => s.sql`namespace = ${ns}` })

export const deleteRow = (s: Store, id: MemoryId, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    yield* shareGenerations(s)
    const state = yield* readState(s, "MemoryBackend.delete")
    const found = yield* all(IdRow, s.sql`SELECT id FROM ${s.sql(s.t.memories)} WHERE id = ${id} AND ${inNamespace(s, namespace)} FOR UPDATE`)
    yield* removeRows(s, state, found.map((r) => r.id))
  })

export const sweepRows = (s: Store, nowMillis: number, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    yield* shareGenerations(s)
    const state = yield* readState(s, "MemoryBackend.sweep")
    const expired = yield* all(IdRow, s.sql`SELECT id FROM ${s.sql(s.t.memories)}
      WHERE expires_at IS NOT NULL AND expires_at <= ${nowMillis} AND ${inNamespace(s, namespace)} FOR UPDATE`)
    yield* Effect.forEach(Arr.chunksOf(expired.map((r) => r.id), CHUNK), (ids) => removeRows(s, state, ids), { discard: true })
    return expired.length
  })

export const extendRows = (
  s: Store,
  items: ReadonlyArray<{ readonly id: MemoryId; readonly expiresAt: { readonly epochMillis: number } }>,
  nowMillis: number
) =>
  Effect.forEach(items, (item) =>
    s.sql`UPDATE ${s.sql(s.t.memories)} SET expires_at = ${item.expiresAt.epochMillis}
      WHERE id = ${item.id} AND expires_at > ${nowMillis}`, { discard: true })

/** Reads the live facts of one key under that key's advisory lock and writes what `decide` makes of them. */
export const writeFact = (s: Store, key: FactKey, decide: (live: ReadonlyArray<Memory>) => FactWrite) =>
  Effect.gen(function*() {
    yield* s.sql`SELECT pg_advisory_xact_lock(hashtextextended(${JSON.stringify([s.t.memories, key.namespace, key.subject, key.predicate])}, 0))`
    const state = yield* readState(s, "MemoryBackend.storeFact")
    yield* writableGenerations(s, state)
    const live = yield* all(MemoryRow, s.sql`SELECT ${s.sql.literal(MEMORY_SELECT)} FROM ${s.sql(s.t.memories)} m
      WHERE m.namespace = ${key.namespace} AND m.subject = ${key.subject} AND m.predicate = ${key.predicate}
        AND NOT m.superseded AND (m.expires_at IS NULL OR m.expires_at > ${key.nowMillis})
      ORDER BY m.created_at DESC, m.id DESC FOR UPDATE`)
    const memories = live.map(rowToMemory)
    const written = decide(memories)
    const before = new Map(memories.map((m) => [m.id, m] as const))
    for (const update of written.updates) {
      const row = before.get(update.memory.id)
      if (row === undefined) continue
      yield* updateRow(s, row, update.memory)
      yield* writeEvents(s, [[row.id, update.events]])
    }
    if (Option.isSome(written.insert)) {
      yield* insertRows(s, [written.insert.value], { nowMillis: key.nowMillis, same: () => false }).pipe(
        Effect.catchTag("IdRace", (e) => new MemoryIdTaken({ id: e.id }))
      )
    }
    return written
  })
