/**
 * The write steps of the SQL memory store, each meant to run inside one write transaction: rows, tags, text
 * entries, vectors and events change together or not at all. The dialect's locks (none on SQLite, whose write
 * transaction holds the database lock; row and advisory locks on PostgreSQL) order concurrent writers.
 */
import { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Array as Arr, Data, Effect, Either, Option, Schema } from "effect"
import type { ParseResult } from "effect"
import { StorageError } from "../../Errors.js"
import type { MemoryId } from "../../Ids.js"
import type { Memory } from "../../Memory.js"
import type { FactKey, FactWrite, NewRow, Occupied, Rewrite } from "../../MemoryBackend/Driver.js"
import { MemoryIdTaken } from "../../MemoryBackend/Driver.js"
import { MemoryEventJson } from "../../MemoryEvent.js"
import type { MemoryEvent } from "../../MemoryEvent.js"
import { isExpired } from "../memoryRules.js"
import { all, rowCount } from "../sql.js"
import { inNamespaceSql } from "./filter.js"
import type { Dialect } from "./dialect.js"
import type { State } from "./state.js"
import { readState, writableGenerations } from "./state.js"

/** A concurrent writer committed one of the ids after the insert looked: its transaction can only roll back. */
export class IdRace extends Data.TaggedError("IdRace")<{ readonly id: MemoryId }> {}

export const stateOf = <K>(d: Dialect<K>, method: string) => readState(d.sql, d.t.meta, method)

/** The stored memories among `ids` with their keys, read in chunks (locked for this transaction when `lock`). */
export const selectByIds = <K>(d: Dialect<K>, ids: ReadonlyArray<MemoryId>, lock = false) => {
  const tail = lock ? d.forUpdate : d.sql``
  // One id (every get) or one chunk is one statement, without the chunking and the loop.
  const [only] = ids
  if (only === undefined) return Effect.succeed([])
  if (ids.length === 1) return d.selectRows(d.sql`m.id = ${only}`, tail)
  if (ids.length <= d.chunk) return d.selectRows(d.sql.in("m.id", ids), tail)
  return Effect.map(Effect.forEach(Arr.chunksOf(ids, d.chunk), (chunk) => d.selectRows(d.sql.in("m.id", chunk), tail)), (chunks) => chunks.flat())
}

/** The keys of the memories that meet `where`, locked for this transaction. */
const selectKeys = <K>(d: Dialect<K>, where: Fragment) =>
  Effect.map(
    all(d.key.decodeKeys, d.sql`SELECT m.${d.sql.literal(d.key.column)} AS key FROM ${d.sql(d.t.memories)} m
      WHERE ${where} ${d.forUpdate}`),
    (rows) => rows.map((r) => r.key)
  )

const insertChunked = <K>(d: Dialect<K>, table: string, rows: ReadonlyArray<Record<string, unknown>>) =>
  Effect.forEach(Arr.chunksOf(rows, d.chunk), (chunk) => d.sql`INSERT INTO ${d.sql(table)} ${d.sql.insert(chunk)}`, {
    discard: true
  })

const writeTags = <K>(d: Dialect<K>, items: ReadonlyArray<readonly [K, ReadonlyArray<string>]>) =>
  insertChunked(d, d.t.tags, items.flatMap(([key, tags]) => tags.map((tag) => ({ tag, [d.key.ref]: key }))))

// Synchronous: a batch encodes one event per memory, and an Effect per event cost more than the encoding itself.
const encodeEvent = Schema.encodeEither(MemoryEventJson)

/**
 * The encoding of a `stored` event is a function of these fields alone; a batch stored at one instant has one such
 * event for all its memories, encoded once.
 */
const storedKey = (e: MemoryEvent): string | undefined =>
  e._tag === "stored"
    ? `${e.at.epochMillis}|${e.imported ?? ""}|${e.validFrom?.epochMillis ?? ""}|${e.validTo?.epochMillis ?? ""}|${e.revises ?? ""}`
    : undefined

/** The events' JSON rows, each after its memory's last seq (none: it has no events yet). */
const eventRows = <K>(
  d: Dialect<K>,
  items: ReadonlyArray<readonly [K, ReadonlyArray<MemoryEvent>]>,
  last: (key: K) => number
): Either.Either<Array<Record<string, unknown>>, ParseResult.ParseError> => {
  const rows: Array<Record<string, unknown>> = []
  const encoded = new Map<string, string>()
  for (const [key, events] of items) {
    let seq = last(key)
    for (const event of events) {
      const shared = storedKey(event)
      let json = shared === undefined ? undefined : encoded.get(shared)
      if (json === undefined) {
        const result = encodeEvent(event)
        if (Either.isLeft(result)) return Either.left(result.left)
        json = result.right
        if (shared !== undefined) encoded.set(shared, json)
      }
      rows.push({ [d.key.ref]: key, seq: ++seq, event: json })
    }
  }
  return Either.right(rows)
}

/**
 * Appends events after each memory's last one (the write lock or the memory's row lock keeps seqs unique). `fresh`:
 * the memories were inserted by this transaction, under keys no event names (a removed memory's events go with it),
 * so their events start at 1 without reading the last seqs.
 */
const writeEvents = <K>(d: Dialect<K>, items: ReadonlyArray<readonly [K, ReadonlyArray<MemoryEvent>]>, fresh = false) =>
  Effect.gen(function*() {
    const owners = items.filter(([, events]) => events.length > 0)
    if (owners.length === 0) return
    const ref = d.sql.literal(d.key.ref)
    const last = fresh ? new Map<string, number>() : new Map(
      (yield* all(
        d.key.decodeLastSeqs,
        d.sql`SELECT ${ref} AS owner, max(seq) AS seq FROM ${d.sql(d.t.events)}
          WHERE ${d.sql.in(d.key.ref, owners.map(([key]) => key))} GROUP BY ${ref}`
      )).map((r) => [String(r.owner), r.seq])
    )
    const rows = yield* eventRows(d, owners, (key) => last.get(String(key)) ?? 0)
    yield* insertChunked(d, d.t.events, rows)
  })

/** Removes the memories of `keys` with their tags, text entries, vectors and history. */
const removeRows = <K>(d: Dialect<K>, state: State, keys: ReadonlyArray<K>) =>
  Effect.forEach(Arr.chunksOf(keys, d.chunk), (chunk) =>
    Effect.gen(function*() {
      yield* d.sql`DELETE FROM ${d.sql(d.t.memories)} WHERE ${d.sql.in(d.key.column, chunk)}`
      yield* d.sql`DELETE FROM ${d.sql(d.t.tags)} WHERE ${d.sql.in(d.key.ref, chunk)}`
      yield* d.sql`DELETE FROM ${d.sql(d.t.events)} WHERE ${d.sql.in(d.key.ref, chunk)}`
      yield* d.deleteText(chunk)
      yield* d.deleteVectors(state, chunk)
    }), { discard: true })

const isIdRace = <K>(d: Dialect<K>) => (e: unknown): e is SqlError => e instanceof SqlError && d.isUniqueViolation(e)

/**
 * Inserts new memories with their tags, text entries, vectors and events. An id held by a memory expired at
 * `occupied.nowMillis` is freed first (the memory removed as `sweep` removes it), a retry of the stored write is
 * skipped, any other held id is MemoryIdTaken; an id committed by another writer meanwhile is IdRace.
 */
export const insertRows = <K>(d: Dialect<K>, inserts: ReadonlyArray<NewRow>, occupied: Occupied) =>
  Effect.gen(function*() {
    yield* d.shareGenerations
    const state = yield* stateOf(d, "MemoryDriver.insert")
    const generations = yield* writableGenerations(d.current, state)
    const held = new Map((yield* selectByIds(d, inserts.map((r) => r.memory.id), true)).map(([key, m]) => [m.id, { key, m }] as const))
    const expired: Array<K> = []
    const rows: Array<NewRow> = []
    for (const row of inserts) {
      const found = held.get(row.memory.id)
      if (found === undefined) rows.push(row)
      else if (isExpired(found.m, occupied.nowMillis)) {
        expired.push(found.key)
        rows.push(row)
      } else if (!occupied.same(found.m, row)) return yield* new MemoryIdTaken({ id: row.memory.id })
    }
    // Fresh keys are taken before the expired rows go, so no new row ever reuses one of theirs.
    const keys = yield* d.newKeys(rows.map((r) => r.memory))
    yield* removeRows(d, state, expired)
    const keyed = rows.map((r, i) => [keys[i]!, r] as const)
    yield* Effect.forEach(Arr.chunksOf(keyed, d.chunk), (chunk) =>
      d.sql`INSERT INTO ${d.sql(d.t.memories)} ${d.sql.insert(chunk.map(([key, r]) => d.columns(key, r.memory)))}`.pipe(
        Effect.catchIf(isIdRace(d), () => Effect.fail(new IdRace({ id: chunk[0]![1].memory.id })))
      ), { discard: true })
    yield* writeTags(d, keyed.map(([key, r]) => [key, r.memory.metadata.tags] as const))
    yield* d.writeText(keyed.map(([key, r]) => [key, r.memory.content] as const))
    yield* d.writeVectors(generations, keyed.flatMap(([key, r]) => (r.vector === undefined ? [] : [[key, r.vector] as const])))
    yield* writeEvents(d, keyed.map(([key, r]) => [key, r.events] as const), true)
  })

/** Rewrites a stored row's columns (not its keys or creation time), and its tags when they changed. */
const updateRow = <K>(d: Dialect<K>, key: K, before: Memory, after: Memory) =>
  Effect.gen(function*() {
    yield* d.sql`UPDATE ${d.sql(d.t.memories)} SET ${d.sql.update(d.columns(key, after), [d.key.column, "id", "created_at"])}
      WHERE ${d.sql.literal(d.key.column)} = ${key}`
    if (after.metadata.tags.join("\u0000") !== before.metadata.tags.join("\u0000")) {
      yield* d.sql`DELETE FROM ${d.sql(d.t.tags)} WHERE ${d.sql.literal(d.key.ref)} = ${key}`
      yield* writeTags(d, [[key, after.metadata.tags]])
    }
  })

export const modifyRow = <K>(
  d: Dialect<K>,
  id: MemoryId,
  next: (current: Memory) => Option.Option<Rewrite>,
  vector: Option.Option<Float32Array>
) =>
  Effect.gen(function*() {
    yield* d.shareGenerations
    const state = yield* stateOf(d, "MemoryDriver.modify")
    const found = (yield* selectByIds(d, [id], true))[0]
    if (found === undefined) return Option.none<Memory>()
    const [key, before] = found
    const written = next(before)
    if (Option.isNone(written)) return Option.none<Memory>()
    const after = written.value.memory
    if (after.content !== before.content) {
      yield* d.deleteText([key])
      yield* d.writeText([[key, after.content]])
    }
    // A memory rewritten with `embed: false` loses its vector; one embedded again (or with new content) gets one.
    if (after.embed !== false && (after.content !== before.content || before.embed === false)) {
      if (Option.isNone(vector)) {
        return yield* new StorageError({ method: "MemoryDriver.modify", cause: new Error("changed content without its vector") })
      }
      const generations = yield* writableGenerations(d.current, state)
      yield* d.deleteVectors(state, [key])
      yield* d.writeVectors(generations, [[key, vector.value]])
    } else if (after.embed === false && before.embed !== false) yield* d.deleteVectors(state, [key])
    yield* updateRow(d, key, before, after)
    yield* writeEvents(d, [[key, written.value.events]])
    return Option.some(after)
  })

const inNamespace = <K>(d: Dialect<K>, namespace: Option.Option<string>) => inNamespaceSql(d.sql, namespace)

export const deleteRow = <K>(d: Dialect<K>, id: MemoryId, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    yield* d.shareGenerations
    const state = yield* stateOf(d, "MemoryDriver.delete")
    yield* removeRows(d, state, yield* selectKeys(d, d.sql`m.id = ${id} AND ${inNamespace(d, namespace)}`))
  })

/** Deletes the memories (of `namespace`, when given) expired at `nowMillis`; returns how many. */
export const sweepRows = <K>(d: Dialect<K>, nowMillis: number, namespace: Option.Option<string>) =>
  Effect.gen(function*() {
    yield* d.shareGenerations
    const state = yield* stateOf(d, "MemoryDriver.sweep")
    const expired = yield* selectKeys(d, d.sql`m.expires_at IS NOT NULL AND m.expires_at <= ${nowMillis} AND ${inNamespace(d, namespace)}`)
    yield* removeRows(d, state, expired)
    return expired.length
  })

/** Deletes up to `limit` memories of the subtree of `namespace`, expired or not; returns how many. */
export const purgeRows = <K>(d: Dialect<K>, namespace: string, limit: number) =>
  Effect.gen(function*() {
    yield* d.shareGenerations
    const state = yield* stateOf(d, "MemoryDriver.purge")
    const keys = (yield* all(d.key.decodeKeys, d.sql`SELECT m.${d.sql.literal(d.key.column)} AS key FROM ${d.sql(d.t.memories)} m
      WHERE ${inNamespace(d, Option.some(namespace))} LIMIT ${rowCount(d.sql, limit)} ${d.forUpdate}`)).map((r) => r.key)
    yield* removeRows(d, state, keys)
    return keys.length
  })

/** Moves each memory's expiry to the given instant, unless it has expired already. */
export const extendRows = <K>(
  d: Dialect<K>,
  items: ReadonlyArray<{ readonly id: MemoryId; readonly expiresAt: { readonly epochMillis: number } }>,
  nowMillis: number
) =>
  Effect.forEach(items, (item) =>
    d.sql`UPDATE ${d.sql(d.t.memories)} SET expires_at = ${item.expiresAt.epochMillis}
      WHERE id = ${item.id} AND expires_at > ${nowMillis}`, { discard: true })

/** Reads the live facts of one key under the dialect's fact lock and writes what `decide` makes of them. */
export const writeFact = <K>(d: Dialect<K>, key: FactKey, decide: (live: ReadonlyArray<Memory>) => FactWrite) =>
  Effect.gen(function*() {
    yield* d.lockFact(key)
    // A store filled from another space refuses the write before anything is decided.
    yield* writableGenerations(d.current, yield* stateOf(d, "MemoryDriver.fact"))
    const live = yield* d.selectRows(
      d.sql`m.namespace = ${key.namespace} AND m.subject = ${key.subject} AND m.predicate = ${key.predicate}
        AND m.retracted_at IS NULL AND (m.expires_at IS NULL OR m.expires_at > ${key.nowMillis})`,
      d.sql`ORDER BY m.created_at DESC, m.id DESC ${d.forUpdate}`
    )
    const before = new Map(live.map(([k, m]) => [m.id, { key: k, m }] as const))
    const written = decide(live.map(([, m]) => m))
    for (const update of written.updates) {
      const row = before.get(update.memory.id)
      if (row === undefined) continue
      yield* updateRow(d, row.key, row.m, update.memory)
      yield* writeEvents(d, [[row.key, update.events]])
    }
    const inserts = [...Option.toArray(written.insert), ...(written.also ?? [])]
    if (inserts.length > 0) {
      yield* insertRows(d, inserts, { nowMillis: key.nowMillis, same: () => false }).pipe(
        Effect.catchTag("IdRace", (e) => new MemoryIdTaken({ id: e.id }))
      )
    }
    return written
  })
