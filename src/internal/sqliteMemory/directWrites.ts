/**
 * The plain insert of new memories on a write connection of the store's own: better-sqlite3 in the caller's thread,
 * statements prepared once and kept, the whole transaction one synchronous step from `BEGIN IMMEDIATE` to `COMMIT`.
 * Through @effect/sql each statement of a batch paid its compilation, a fiber, a connection lock and a cache lookup,
 * together more than the batch's own SQL.
 *
 * It writes exactly what `insertRows` writes (rows, tags, text entries, vectors of every writable generation, first
 * events) and declines, having committed nothing, whenever the general path has more to do or another answer to
 * give: an id already held (a retry, an expired holder, a taken id), a store in another embedding space or without
 * one, the write lock held by another connection (never waited for: busy timeout 0), or any failure inside the
 * transaction (rolled back; the general path then runs the same write and reports its own outcome). One
 * synchronous step means no other fiber of this process runs while the lock is held, so the store's own connection
 * never waits on it, and an interruption takes effect before or after the transaction, never inside it.
 */
import { Effect, Either, Option } from "effect"
import type { Driver, NewRow } from "../../MemoryBackend/Driver.js"
import { generationOf, sameSpace } from "../memoryGenerations.js"
import { encodeEvents } from "../sqlMemory/writes.js"
import type { WriteConnection, WriteStatement } from "./connection.js"
import { memoryColumns, PARTITIONS } from "./schema.js"
import type { Store } from "./vectors.js"
import { bytes } from "./vectors.js"

const PARTS = BigInt(PARTITIONS)

/** A row made ready before the transaction: every value it binds. */
interface Ready {
  /** The memories row's columns after the pk, in the insert statement's order. */
  readonly values: ReadonlyArray<unknown>
  readonly tags: ReadonlyArray<string>
  readonly content: string
  readonly vector: Uint8Array | undefined
  readonly code: Uint8Array | undefined
  readonly events: ReadonlyArray<string>
}

/**
 * The row's values after its pk (bound apart, once the transaction has read the next free one), or `undefined`
 * when the codec gave other columns than `names`, the statement's (never, today: one codec writes every row).
 */
const valuesOf = (names: ReadonlyArray<string>, columns: Record<string, unknown>): ReadonlyArray<unknown> | undefined => {
  const own = Object.keys(columns)
  if (own.length !== names.length || own.some((n, i) => n !== names[i])) return undefined
  return Object.values(columns).slice(1)
}

/** The memories columns the row codec writes, pk first, read off one row. */
export const columnsOf = (row: NewRow): ReadonlyArray<string> => Object.keys(memoryColumns(0n, row.memory))

const prepareRows = (s: Store, names: ReadonlyArray<string>, rows: ReadonlyArray<NewRow>): ReadonlyArray<Ready> | undefined => {
  const events = encodeEvents(rows.map((r) => r.events))
  // An event that does not encode is the general path's failure to report.
  if (Either.isLeft(events)) return undefined
  const ready: Array<Ready> = []
  for (const [i, r] of rows.entries()) {
    const values = valuesOf(names, memoryColumns(0n, r.memory))
    if (values === undefined) return undefined
    ready.push({
      values,
      tags: r.memory.metadata.tags,
      content: r.memory.content,
      vector: r.vector === undefined ? undefined : bytes(r.vector),
      code: r.vector === undefined ? undefined : s.code(r.vector),
      events: events.right[i]!
    })
  }
  return ready
}

/** The writer's statements, prepared on first use and kept (a generation's only while it is written to). */
const statements = (s: Store, db: WriteConnection) => {
  const made = new Map<string, WriteStatement>()
  const q = (name: string) => `"${name}"`
  const prepared = (sql: string) => {
    let statement = made.get(sql)
    if (statement === undefined) {
      statement = db.prepare(sql)
      made.set(sql, statement)
    }
    return statement
  }
  return {
    begin: prepared("BEGIN IMMEDIATE"),
    commit: prepared("COMMIT"),
    rollback: () => prepared("ROLLBACK"),
    meta: prepared(`SELECT json_group_object(key, value) AS meta FROM ${q(s.t.meta)}`),
    held: prepared(`SELECT count(*) AS n FROM ${q(s.t.memories)} WHERE id IN (SELECT value FROM json_each(?))`),
    size: prepared(`SELECT coalesce(max(pk), 0) AS n FROM ${q(s.t.memories)}`),
    memory: (names: ReadonlyArray<string>) =>
      prepared(`INSERT INTO ${q(s.t.memories)} (${names.map(q).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`),
    tag: prepared(`INSERT INTO ${q(s.t.tags)} (tag, memory_pk) VALUES (?, ?)`),
    text: prepared(`INSERT INTO ${q(s.t.fts)} (rowid, content) VALUES (?, ?)`),
    event: prepared(`INSERT INTO ${q(s.t.events)} (memory_pk, seq, event) VALUES (?, ?, ?)`),
    vector: (g: number) => prepared(`INSERT INTO ${q(s.t.vectors(g))} (pk, vector) VALUES (?, ?)`),
    // vec0 takes codes through vec_bit() and integer rowids only (hence BigInt pks).
    code: (g: number) => prepared(`INSERT INTO ${q(s.t.codes(g))} (rowid, part, code) VALUES (?, ?, vec_bit(?))`),
    forget: () => made.clear()
  }
}

const numberOf = (row: unknown, column: string): number | undefined => {
  const value = typeof row === "object" && row !== null ? Reflect.get(row, column) : undefined
  return typeof value === "number" ? value : typeof value === "bigint" ? Number(value) : undefined
}

/** The generations a vector write fills (see `writableGenerations`), or `undefined` when the general path must decide. */
const generationsOf = (s: Store, metaJson: unknown): ReadonlyArray<number> | undefined => {
  const text = typeof metaJson === "object" && metaJson !== null ? Reflect.get(metaJson, "meta") : undefined
  if (typeof text !== "string") return undefined
  const parsed: unknown = JSON.parse(text)
  if (typeof parsed !== "object" || parsed === null) return undefined
  const meta = new Map(Object.entries(parsed).flatMap(([k, v]) => (typeof v === "string" ? [[k, v] as const] : [])))
  const live = Option.getOrUndefined(generationOf(meta, "space"))
  if (live === undefined || !sameSpace(live.space, s.current)) return undefined
  const target = Option.getOrUndefined(generationOf(meta, "target"))
  return target !== undefined && sameSpace(target.space, s.current) ? [live.generation, target.generation] : [live.generation]
}

type Statements = ReturnType<typeof statements>

/** Writes the rows inside the open transaction; false when the general path must do it instead. */
const writeAll = (s: Store, st: Statements, memory: WriteStatement, ready: ReadonlyArray<Ready>, ids: ReadonlyArray<string>): boolean => {
  const generations = generationsOf(s, st.meta.get())
  if (generations === undefined) return false
  if (numberOf(st.held.get(JSON.stringify(ids)), "n") !== 0) return false
  const size = numberOf(st.size.get(), "n")
  if (size === undefined) return false
  const vectors = generations.map((g) => [st.vector(g), st.code(g)] as const)
  // Table by table: each index's pages stay in the cache while its rows go in.
  const pks = ready.map((_, i) => BigInt(size + 1 + i))
  ready.forEach((r, i) => memory.run(pks[i], ...r.values))
  ready.forEach((r, i) => {
    for (const tag of r.tags) st.tag.run(tag, pks[i])
  })
  ready.forEach((r, i) => st.text.run(pks[i], r.content))
  for (const [vector, code] of vectors) {
    ready.forEach((r, i) => {
      if (r.vector !== undefined) vector.run(pks[i], r.vector)
    })
    ready.forEach((r, i) => {
      const pk = pks[i]!
      if (r.code !== undefined) code.run(pk, pk % PARTS, r.code)
    })
  }
  ready.forEach((r, i) => r.events.forEach((event, j) => st.event.run(pks[i], j + 1, event)))
  return true
}

/** The direct insert of a store: true when it committed the rows, false when it declined (nothing written). */
export const makeDirectInsert = (s: Store, db: WriteConnection) => {
  const st = statements(s, db)
  let broken = false
  let names: ReadonlyArray<string> | undefined
  return (rows: ReadonlyArray<NewRow>): boolean => {
    if (broken || rows.length === 0) return false
    let ready: ReadonlyArray<Ready> | undefined
    let columns: ReadonlyArray<string>
    try {
      columns = names ??= columnsOf(rows[0]!)
      ready = prepareRows(s, columns, rows)
    } catch {
      // What fails to encode here fails the general path too, which reports it.
      return false
    }
    if (ready === undefined) return false
    try {
      st.begin.run()
    } catch {
      // Busy (another connection writes), or worse: the general path waits for the lock, or reports the failure.
      return false
    }
    try {
      if (!writeAll(s, st, st.memory(columns), ready, rows.map((r) => r.memory.id))) {
        st.rollback().run()
        return false
      }
      st.commit.run()
      return true
    } catch {
      // A failed commit may have been rolled back by SQLite already; a statement of a dropped table is prepared again.
      st.forget()
      try {
        if (db.inTransaction()) st.rollback().run()
      } catch {
        // A transaction that cannot be ended would hold the write lock: this connection is given up.
        broken = true
        db.close()
      }
      return false
    }
  }
}

/** `driver` with its inserts tried on the direct path first, and on the driver's own when declined. */
export const withDirectInsert = (driver: Driver, insert: (rows: ReadonlyArray<NewRow>) => boolean): Driver => ({
  ...driver,
  insert: (rows, occupied) => Effect.suspend(() => (insert(rows) ? Effect.void : driver.insert(rows, occupied)))
})
