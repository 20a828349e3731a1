/**
 * The local WorkstreamStore: metadata, tags and a message index in SQLite at `<dir>/workstreams.db`, and each
 * workstream's messages in `<dir>/workstreams/<id>/messages.jsonl`, one JSON object per line in the original
 * runtime's format. The JSONL is the source of truth; the index (workstream, seq, byte offset, byte length,
 * timestamp, session) is rebuilt from it whenever it falls behind, so tail reads cost O(limit) whatever the log's
 * length.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Context, DateTime, Duration, Effect, Either, Layer, Option, Schema } from "effect"
import type { ConfigError } from "effect"
import type { FileHandle } from "node:fs/promises"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { InvalidInput, NotFound, StorageError } from "../Errors.js"
import { nextId, SCRATCH_ID, WorkstreamId } from "../Ids.js"
import { decodeCursor } from "../internal/cursor.js"
import { encodeMessage, parseLine, rewriteWorkstreamId, toMessage } from "../internal/jsonl.js"
import type { ParsedLine } from "../internal/jsonl.js"
import { openSqlite } from "../internal/sqlite.js"
import { fsyncDir, HandlePool, isNotFound, LineScanner, readRanges, sizeOf } from "../internal/logfile.js"
import { normaliseTags } from "../internal/memory.js"
import { applyUpdate, buildWorkstream, page, withAppended } from "../internal/workstream.js"
import type { LoadOptionsInput } from "../internal/workstream.js"
import type { ListOptions, LoadOptions, Message, NewWorkstream, PromoteInput, WorkstreamUpdate } from "../Workstream.js"
import { NewMessage, Workstream, WorkstreamState } from "../Workstream.js"
import { decodeMessages, decoders, guardScratch, stampMessages, WorkstreamStore } from "../WorkstreamStore.js"

/** Where the local store keeps its files, and how long SQLite waits on a lock. @category models */
export interface Options {
  /** Data directory: holds `workstreams.db` and `workstreams/<id>/messages.jsonl`; created when missing. */
  readonly dir: string
  /** How long a statement waits for a lock held by another connection (default 5 seconds). */
  readonly busyTimeout?: Duration.DurationInput | undefined
}

/** A log line that is not a message: skipped by the index, reported, never fatal. @category models */
export interface MalformedLine {
  /** 1-based physical line number in `messages.jsonl`. */
  readonly lineNumber: number
  /** Byte offset of the line's first byte. */
  readonly offset: number
  readonly reason: string
}

/** What `rebuildIndex` found. @category models */
export interface RebuildReport {
  /** Messages now in the index for this workstream. */
  readonly indexed: number
  readonly malformed: ReadonlyArray<MalformedLine>
  /** A torn last line (a write cut short by a crash) that was cut off the log: where it began and its length. */
  readonly repairedTail: Option.Option<{ readonly offset: number; readonly bytes: number }>
}

/**
 * The index maintenance the local store offers beside `WorkstreamStore`.
 *
 * @category services
 */
export class WorkstreamIndex extends Context.Tag("arawn-store/WorkstreamStore/Local/WorkstreamIndex")<WorkstreamIndex, {
  /** Drops the workstream's index and rebuilds it from its JSONL (torn tail repaired, malformed lines reported); NotFound when unknown. */
  readonly rebuildIndex: (id: WorkstreamId) => Effect.Effect<RebuildReport, NotFound | InvalidInput | StorageError>
}>() {}

/**
 * Rebuilds one workstream's message index from its JSONL log, which stays the source of truth.
 *
 * @category operations
 */
export const rebuildIndex = (id: WorkstreamId): Effect.Effect<RebuildReport, NotFound | InvalidInput | StorageError, WorkstreamIndex> =>
  Effect.flatMap(WorkstreamIndex, (index) => index.rebuildIndex(id))

/** The steps of `promoteScratch`, in order, for crash tests. @internal */
export type PromoteStep = "intent" | "written" | "renamed" | "committed" | "truncated"

/**
 * Called after each step of `promoteScratch`; crash tests provide one that kills the process at a chosen step.
 *
 * @internal
 */
export class PromoteHook extends Context.Reference<PromoteHook>()("arawn-store/WorkstreamStore/Local/PromoteHook", {
  defaultValue: (): { readonly reached: (step: PromoteStep) => Effect.Effect<void> } => ({ reached: () => Effect.void })
}) {}

// --- rows --------------------------------------------------------------------------------------------------------

const WorkstreamRow = Schema.Struct({
  key: Schema.Number,
  id: WorkstreamId,
  title: Schema.String,
  summary: Schema.NullOr(Schema.String),
  state: WorkstreamState,
  is_scratch: Schema.Number,
  default_model: Schema.NullOr(Schema.String),
  tags: Schema.parseJson(Schema.Array(Schema.String)),
  created_at: Schema.Number,
  updated_at: Schema.Number,
  message_count: Schema.Number,
  last_message_at: Schema.NullOr(Schema.Number)
})
const decodeWorkstreamRows = Schema.decodeUnknown(Schema.Array(WorkstreamRow))

const LogStateRow = Schema.Struct({
  key: Schema.Number,
  message_count: Schema.Number,
  log_bytes: Schema.Number,
  log_lines: Schema.Number,
  last_message_at: Schema.NullOr(Schema.Number)
})
type LogState = typeof LogStateRow.Type
const decodeLogStateRows = Schema.decodeUnknown(Schema.Array(LogStateRow))

const IndexRow = Schema.Struct({ seq: Schema.Number, byte_offset: Schema.Number, byte_length: Schema.Number })
const decodeIndexRows = Schema.decodeUnknown(Schema.Array(IndexRow))

const PromotionRow = Schema.Struct({
  target_id: WorkstreamId,
  source_id: WorkstreamId,
  state: Schema.Literal("writing", "committed")
})
const decodePromotionRows = Schema.decodeUnknown(Schema.Array(PromotionRow))

const DeletionRow = Schema.Struct({ workstream_id: WorkstreamId })
const decodeDeletionRows = Schema.decodeUnknown(Schema.Array(DeletionRow))

const toWorkstream = (row: typeof WorkstreamRow.Type): Workstream =>
  // The row was decoded by WorkstreamRow, so the constructor's own validation would only repeat it.
  new Workstream(
    {
      id: row.id,
      title: row.title,
      state: row.state,
      isScratch: row.is_scratch !== 0,
      tags: normaliseTags(row.tags),
      createdAt: DateTime.unsafeMake(row.created_at),
      updatedAt: DateTime.unsafeMake(row.updated_at),
      messageCount: row.message_count,
      ...(row.summary !== null ? { summary: row.summary } : {}),
      ...(row.default_model !== null ? { defaultModel: row.default_model } : {}),
      ...(row.last_message_at !== null ? { lastMessageAt: DateTime.unsafeMake(row.last_message_at) } : {})
    },
    true
  )

const MIGRATIONS_TABLE = "arawn_store_workstream_migrations"

// --- the store -----------------------------------------------------------------------------------------------------

interface IndexEntry {
  readonly seq: number
  readonly offset: number
  readonly length: number
  readonly timestampMs: number
  readonly sessionId: string | null
}

const INSERT_CHUNK = 20_000
const FLUSH_EVERY = 20_000

const isBlank = (bytes: Buffer): boolean => {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d) return false
  return true
}

const chunks = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

const describe = (e: unknown): string => e instanceof Error ? e.message : String(e)

const SPAN = { attributes: { "arawn.backend": "local" } }

/**
 * Opens (creating when missing) the store in `options.dir`: runs its migrations, finishes or rolls back any
 * promotion or delete a crash interrupted, and catches every index up with its log (repairing torn tails). The
 * SQLite connection lives as long as the surrounding scope. One process per directory.
 *
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const open = "WorkstreamStore.open"
  const root = path.resolve(options.dir)
  const logsDir = path.join(root, "workstreams")
  const dirOf = (id: WorkstreamId) => path.join(logsDir, id)
  const logOf = (id: WorkstreamId) => path.join(logsDir, id, "messages.jsonl")

  const io = <A>(method: string, run: () => Promise<A>): Effect.Effect<A, StorageError> =>
    Effect.tryPromise({ try: run, catch: (cause) => new StorageError({ method, cause }) })
  const db = (method: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, StorageError, R> =>
    Effect.mapError(self, (cause) => new StorageError({ method, cause }))

  yield* io(open, () => fs.mkdir(logsDir, { recursive: true }))
  const sql = yield* openSqlite(open, { filename: path.join(root, "workstreams.db") })
  const busyMs = Duration.toMillis(Duration.decode(options.busyTimeout ?? Duration.seconds(5)))
  yield* db(open)(Effect.all([
    sql.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.round(busyMs))}`),
    // The index is rebuilt from the fsynced JSONL, so its commits need not fsync; metadata commits are made
    // durable with an explicit checkpoint (see `durably`).
    sql`PRAGMA synchronous = NORMAL`,
    sql`PRAGMA foreign_keys = ON`
  ]))
  yield* Migrator.make({})({
    loader: Migrator.fromRecord({
      "0001_create_workstreams": Effect.all([
        sql`CREATE TABLE arawn_store_workstreams (
          key INTEGER PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          title TEXT NOT NULL,
          summary TEXT,
          is_scratch INTEGER NOT NULL DEFAULT 0,
          state TEXT NOT NULL,
          default_model TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          message_count INTEGER NOT NULL DEFAULT 0,
          last_message_at INTEGER,
          log_bytes INTEGER NOT NULL DEFAULT 0,
          log_lines INTEGER NOT NULL DEFAULT 0
        )`,
        sql`CREATE INDEX arawn_store_workstreams_recency ON arawn_store_workstreams (updated_at DESC, id)`,
        sql`CREATE TABLE arawn_store_workstream_tags (
          ws_key INTEGER NOT NULL REFERENCES arawn_store_workstreams(key) ON DELETE CASCADE,
          tag TEXT NOT NULL,
          PRIMARY KEY (ws_key, tag)
        ) WITHOUT ROWID`,
        sql`CREATE INDEX arawn_store_workstream_tags_tag ON arawn_store_workstream_tags (tag, ws_key)`,
        sql`CREATE TABLE arawn_store_workstream_messages (
          ws_key INTEGER NOT NULL,
          seq INTEGER NOT NULL,
          byte_offset INTEGER NOT NULL,
          byte_length INTEGER NOT NULL,
          timestamp_ms INTEGER NOT NULL,
          session_id TEXT,
          PRIMARY KEY (ws_key, seq)
        ) WITHOUT ROWID`,
        sql`CREATE INDEX arawn_store_workstream_messages_session
          ON arawn_store_workstream_messages (ws_key, session_id, seq)`,
        sql`CREATE TABLE arawn_store_workstream_promotions (
          target_id TEXT PRIMARY KEY,
          source_id TEXT NOT NULL,
          state TEXT NOT NULL
        )`,
        sql`CREATE TABLE arawn_store_workstream_deletions (workstream_id TEXT PRIMARY KEY)`
      ], { discard: true }),
      // An append indexes its batch in ONE statement: the batch's last row carries `appended_at`, and this trigger
      // moves the workstream's counters with it. Rows written by index rebuilds leave it NULL and set the counters
      // themselves.
      "0002_append_trigger": Effect.all([
        sql`ALTER TABLE arawn_store_workstream_messages ADD COLUMN appended_at INTEGER`,
        sql`CREATE TRIGGER arawn_store_workstream_messages_appended
          AFTER INSERT ON arawn_store_workstream_messages
          WHEN NEW.appended_at IS NOT NULL
          BEGIN
            UPDATE arawn_store_workstreams SET
              log_lines = log_lines + NEW.seq - message_count,
              message_count = NEW.seq,
              log_bytes = NEW.byte_offset + NEW.byte_length + 1,
              last_message_at = NEW.timestamp_ms,
              updated_at = NEW.appended_at
            WHERE key = NEW.ws_key;
          END`
      ], { discard: true })
    }),
    table: MIGRATIONS_TABLE
  }).pipe(Effect.provideService(SqlClient.SqlClient, sql), db(open))

  /** Commits `self` and makes it survive power loss (a checkpoint syncs the WAL first). */
  const durably = <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Effect.zipLeft(sql.withTransaction(self), sql`PRAGMA wal_checkpoint(PASSIVE)`)

  // One lock per workstream, counted by the fibers holding or waiting for it and dropped when the last one leaves,
  // so the map holds only workstreams in use, however many ids a long-lived process touches.
  const locks = new Map<string, { readonly semaphore: Effect.Semaphore; users: number }>()
  const withLock = (id: WorkstreamId) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let lock = locks.get(id)
      if (lock === undefined) {
        lock = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
        locks.set(id, lock)
      }
      const held = lock
      held.users++
      return held.semaphore.withPermits(1)(self).pipe(
        Effect.ensuring(Effect.sync(() => {
          held.users--
          if (held.users === 0 && locks.get(id) === held) locks.delete(id)
        }))
      )
    })

  // Log states (count, indexed bytes) of workstreams appended to, valid while the store is open: every change goes
  // through this process under the workstream's lock, which is also the only place the cache is filled.
  const states = new Map<WorkstreamId, LogState>()
  const pool = new HandlePool(64)
  yield* Effect.addFinalizer(() =>
    Effect.catchAll(io(open, () => pool.closeAll()), (e) => Effect.logWarning("closing workstream logs failed", e.message))
  )

  // --- SQL -------------------------------------------------------------------------------------------------------

  const selectWorkstream = (method: string, id: WorkstreamId) =>
    sql`SELECT w.key, w.id, w.title, w.summary, w.state, w.is_scratch, w.default_model, w.created_at, w.updated_at,
          w.message_count, w.last_message_at,
          (SELECT json_group_array(tag) FROM arawn_store_workstream_tags t WHERE t.ws_key = w.key) AS tags
        FROM arawn_store_workstreams w WHERE w.id = ${id}`.pipe(
      Effect.flatMap(decodeWorkstreamRows),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toWorkstream)),
      db(method)
    )

  const selectLogState = (method: string, id: WorkstreamId) =>
    sql`SELECT key, message_count, log_bytes, log_lines, last_message_at
        FROM arawn_store_workstreams WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeLogStateRows),
      Effect.map((rows) => Option.fromNullable(rows[0])),
      db(method)
    )

  const requireLogState = (method: string, id: WorkstreamId) =>
    Effect.flatMap(selectLogState(method, id), Option.match({
      onNone: () => Effect.fail(new NotFound({ entity: "workstream", id })),
      onSome: Effect.succeed
    }))

  /**
   * The log state for a caller holding the lock: cached, or read and cached after checking that the log is exactly
   * as long as the index (catching up first when it is not).
   */
  const lockedState = (method: string, id: WorkstreamId) =>
    Effect.gen(function*() {
      const cached = states.get(id)
      if (cached !== undefined) return cached
      let state = yield* requireLogState(method, id)
      if ((yield* io(method, () => sizeOf(logOf(id)))) !== state.log_bytes) {
        yield* reconcile(method, id, false)
        state = yield* requireLogState(method, id)
      }
      states.set(id, state)
      return state
    })

  // One constant statement whatever the batch size: the rows travel as one JSON array that SQLite unpacks, which
  // costs far less than binding six parameters a row through a statement compiled per batch size. `appendedAt`
  // marks the last row of an append, whose trigger updates the workstream's counters in the same statement.
  const insertIndex = (key: number, entries: ReadonlyArray<IndexEntry>, appendedAt: number | null = null) => {
    const all = chunks(entries, INSERT_CHUNK)
    return Effect.forEach(all, (chunk, i) =>
      sql`INSERT INTO arawn_store_workstream_messages
            (ws_key, seq, byte_offset, byte_length, timestamp_ms, session_id, appended_at)
          SELECT ${key}, j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4,
            CASE WHEN j.key = ${chunk.length - 1} THEN ${i === all.length - 1 ? appendedAt : null} END
          FROM json_each(${JSON.stringify(chunk.map((e) => [e.seq, e.offset, e.length, e.timestampMs, e.sessionId]))}) AS j`, {
      discard: true
    })
  }

  const setLogState = (key: number, s: Omit<LogState, "key">, updatedAt?: number) =>
    updatedAt === undefined
      ? sql`UPDATE arawn_store_workstreams SET message_count = ${s.message_count}, log_bytes = ${s.log_bytes},
            log_lines = ${s.log_lines}, last_message_at = ${s.last_message_at} WHERE key = ${key}`
      : sql`UPDATE arawn_store_workstreams SET message_count = ${s.message_count}, log_bytes = ${s.log_bytes},
            log_lines = ${s.log_lines}, last_message_at = ${s.last_message_at}, updated_at = ${updatedAt}
            WHERE key = ${key}`

  const replaceTags = (key: number, tags: ReadonlyArray<string>) =>
    Effect.zipRight(
      sql`DELETE FROM arawn_store_workstream_tags WHERE ws_key = ${key}`,
      tags.length === 0
        ? Effect.void
        : sql`INSERT INTO arawn_store_workstream_tags ${sql.insert(normaliseTags(tags).map((tag) => ({ ws_key: key, tag })))}`
    )

  const insertWorkstream = (ws: Workstream, log: Omit<LogState, "key">) =>
    sql`INSERT INTO arawn_store_workstreams ${
      sql.insert({
        id: ws.id,
        title: ws.title,
        summary: ws.summary ?? null,
        is_scratch: ws.isScratch ? 1 : 0,
        state: ws.state,
        default_model: ws.defaultModel ?? null,
        created_at: ws.createdAt.epochMillis,
        updated_at: ws.updatedAt.epochMillis,
        message_count: log.message_count,
        last_message_at: log.last_message_at,
        log_bytes: log.log_bytes,
        log_lines: log.log_lines
      })
    } RETURNING key`.pipe(
      Effect.flatMap(Schema.decodeUnknown(Schema.Tuple(Schema.Struct({ key: Schema.Number })))),
      Effect.map(([row]) => row.key)
    )

  // --- files -----------------------------------------------------------------------------------------------------

  const closeQuietly = (fh: FileHandle | undefined) =>
    fh === undefined
      ? Effect.void
      : Effect.catchAll(
        Effect.tryPromise(() => fh.close()),
        (e) => Effect.logWarning("closing a workstream log failed", describe(e))
      )

  /** Runs `use` with the log opened (`undefined` when it does not exist), closing it afterwards. */
  const withLog = <A, E, R>(
    method: string,
    id: WorkstreamId,
    flags: string,
    use: (fh: FileHandle | undefined) => Effect.Effect<A, E, R>
  ) =>
    Effect.acquireUseRelease(
      io(method, () => fs.open(logOf(id), flags).catch((e) => isNotFound(e) ? undefined : Promise.reject(e))),
      use,
      closeQuietly
    )

  const removeDir = (method: string, id: WorkstreamId) =>
    io(method, async () => {
      states.delete(id)
      await pool.retire(logOf(id))
      await fs.rm(dirOf(id), { recursive: true, force: true })
      await fsyncDir(logsDir)
    })

  // --- index maintenance -----------------------------------------------------------------------------------------

  /** A promotion committed in SQLite but whose source log was not yet emptied: empty it now. */
  const finishPromotions = (method: string, where: { readonly source?: WorkstreamId; readonly quiet?: boolean }) =>
    Effect.gen(function*() {
      const pending = yield* sql`SELECT target_id, source_id, state FROM arawn_store_workstream_promotions`.pipe(
        Effect.flatMap(decodePromotionRows),
        db(method)
      )
      for (const p of pending) {
        if (where.source !== undefined && p.source_id !== where.source) continue
        if (p.state === "committed") {
          yield* io(method, async () => {
            const fh = await fs.open(logOf(p.source_id), "r+").catch((e) => isNotFound(e) ? undefined : Promise.reject(e))
            if (fh === undefined) return
            try {
              await fh.truncate(0)
              await fh.sync()
            } finally {
              await fh.close()
            }
          })
        } else if (where.source === undefined) {
          // Not committed: the new workstream never existed; scratch still holds every message.
          yield* removeDir(method, p.target_id)
        } else {
          continue
        }
        yield* db(method)(sql`DELETE FROM arawn_store_workstream_promotions WHERE target_id = ${p.target_id}`)
        if (where.quiet === true) continue
        yield* Effect.logWarning(`finished an interrupted scratch promotion (${p.state === "committed" ? "completed" : "rolled back"})`)
          .pipe(Effect.annotateLogs({ source: p.source_id, target: p.target_id }))
      }
    })

  const finishDeletion = (method: string, id: WorkstreamId) =>
    Effect.gen(function*() {
      yield* removeDir(method, id)
      yield* db(method)(sql`DELETE FROM arawn_store_workstream_deletions WHERE workstream_id = ${id}`)
    })

  /** Whether the log still ends a line where the index ends, and the last indexed line still parses. */
  const tailIntact = (method: string, id: WorkstreamId, key: number, indexedBytes: number) =>
    Effect.gen(function*() {
      const rows = yield* sql`SELECT seq, byte_offset, byte_length FROM arawn_store_workstream_messages
          WHERE ws_key = ${key} ORDER BY seq DESC LIMIT 1`.pipe(Effect.flatMap(decodeIndexRows), db(method))
      return yield* withLog(method, id, "r", (fh) =>
        io(method, async () => {
          if (fh === undefined) return false
          const [newline] = await readRanges(fh, [{ offset: indexedBytes - 1, length: 1 }])
          if (newline?.[0] !== 0x0a) return false
          const last = rows[0]
          if (last === undefined) return true
          const [line] = await readRanges(fh, [{ offset: last.byte_offset, length: last.byte_length }])
          return line !== undefined && Either.isRight(parseLine(line))
        }))
    })

  /**
   * Brings the index of `id` level with its log (from scratch when `full`, or when the log is shorter than the
   * index). Lines past the indexed end are parsed and indexed; malformed ones are reported and skipped; a torn last
   * line is completed when it is a whole message and cut off otherwise. Call with the workstream's lock held.
   */
  const reconcile = (method: string, id: WorkstreamId, full: boolean): Effect.Effect<RebuildReport, NotFound | StorageError> =>
    Effect.ensuring(reconcileUncached(method, id, full), Effect.sync(() => states.delete(id)))

  const reconcileUncached = (method: string, id: WorkstreamId, full: boolean) =>
    Effect.gen(function*() {
      states.delete(id)
      yield* finishPromotions(method, { source: id })
      const found = yield* selectLogState(method, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "workstream", id })
      const key = found.value.key
      let s: Omit<LogState, "key"> = found.value
      const size = yield* io(method, () => sizeOf(logOf(id)))
      let rebuild = full
      if (!rebuild && size < s.log_bytes) {
        rebuild = true
        yield* Effect.logWarning("workstream log is shorter than its index; rebuilding the index")
          .pipe(Effect.annotateLogs({ workstream: id, logBytes: size, indexedBytes: s.log_bytes }))
      } else if (!rebuild && size > s.log_bytes && s.log_bytes > 0 && !(yield* tailIntact(method, id, key, s.log_bytes))) {
        // The bytes the index points at changed (the log was edited or replaced): only a full pass is trustworthy.
        rebuild = true
        yield* Effect.logWarning("workstream log no longer matches its index; rebuilding the index")
          .pipe(Effect.annotateLogs({ workstream: id, logBytes: size, indexedBytes: s.log_bytes }))
      }
      if (rebuild) {
        s = { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null }
        yield* db(method)(sql.withTransaction(Effect.zipRight(
          sql`DELETE FROM arawn_store_workstream_messages WHERE ws_key = ${key}`,
          setLogState(key, s)
        )))
      }
      const malformed: Array<MalformedLine> = []
      let repairedTail: RebuildReport["repairedTail"] = Option.none()
      if (size === s.log_bytes) return { indexed: s.message_count, malformed, repairedTail }

      yield* withLog(method, id, "r+", (fh) =>
        Effect.gen(function*() {
          if (fh === undefined) return
          const scanner = new LineScanner(fh, s.log_bytes, size)
          let pending: Array<IndexEntry> = []
          const flush = Effect.suspend(() => {
            const batch = pending
            pending = []
            const next = s
            return db(method)(sql.withTransaction(Effect.zipRight(insertIndex(key, batch), setLogState(key, next))))
          })
          for (;;) {
            const lines = yield* io(method, () => scanner.next())
            if (lines === undefined) break
            for (const line of lines) {
              let parsed: Either.Either<ParsedLine, string> | undefined
              if (!line.terminated) {
                parsed = parseLine(line.bytes)
                const end = line.offset + line.bytes.length
                if (Either.isRight(parsed)) {
                  // The whole message made it to disk, only its newline did not: keep it.
                  yield* io(method, async () => {
                    await fh.write(Buffer.from("\n"), 0, 1, end)
                    await fh.sync()
                  })
                } else {
                  yield* io(method, async () => {
                    await fh.truncate(line.offset)
                    await fh.sync()
                  })
                  repairedTail = Option.some({ offset: line.offset, bytes: line.bytes.length })
                  yield* Effect.logWarning("removed a torn last line from a workstream log (a write cut short by a crash)")
                    .pipe(Effect.annotateLogs({ workstream: id, offset: line.offset, bytes: line.bytes.length }))
                  continue
                }
              }
              const lineNumber = s.log_lines + 1
              const next = line.offset + line.bytes.length + 1
              if (isBlank(line.bytes)) {
                s = { ...s, log_lines: lineNumber, log_bytes: next }
                continue
              }
              const result = parsed ?? parseLine(line.bytes)
              if (Either.isRight(result)) {
                const seq = s.message_count + 1
                pending.push({
                  seq,
                  offset: line.offset,
                  length: line.bytes.length,
                  timestampMs: result.right.timestampMs,
                  sessionId: result.right.line.session_id
                })
                s = { message_count: seq, log_bytes: next, log_lines: lineNumber, last_message_at: result.right.timestampMs }
              } else {
                malformed.push({ lineNumber, offset: line.offset, reason: result.left })
                yield* Effect.logWarning("skipped a malformed line in a workstream log")
                  .pipe(Effect.annotateLogs({ workstream: id, lineNumber, offset: line.offset, reason: result.left }))
                s = { ...s, log_lines: lineNumber, log_bytes: next }
              }
            }
            if (pending.length >= FLUSH_EVERY) yield* flush
          }
          yield* flush
        }))
      return { indexed: s.message_count, malformed, repairedTail }
    })

  // --- recovery on open ------------------------------------------------------------------------------------------

  yield* finishPromotions(open, {})
  const deletions = yield* sql`SELECT workstream_id FROM arawn_store_workstream_deletions`.pipe(
    Effect.flatMap(decodeDeletionRows),
    db(open)
  )
  yield* Effect.forEach(deletions, (d) => finishDeletion(open, d.workstream_id), { discard: true })
  const opened = yield* sql`SELECT w.id, w.log_bytes, w.message_count,
        (SELECT MAX(seq) FROM arawn_store_workstream_messages m WHERE m.ws_key = w.key) AS max_seq
      FROM arawn_store_workstreams w`.pipe(
    Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({
      id: WorkstreamId,
      log_bytes: Schema.Number,
      message_count: Schema.Number,
      max_seq: Schema.NullOr(Schema.Number)
    })))),
    db(open)
  )
  for (const ws of opened) {
    const lost = (ws.max_seq ?? 0) !== ws.message_count
    if (lost) {
      yield* Effect.logWarning("workstream index does not match its counters; rebuilding it from the log")
        .pipe(Effect.annotateLogs({ workstream: ws.id }))
    }
    const size = yield* io(open, () => sizeOf(logOf(ws.id)))
    if (lost || size !== ws.log_bytes) yield* Effect.catchTag(reconcile(open, ws.id, lost), "NotFound", () => Effect.void)
  }

  // --- WorkstreamStore -------------------------------------------------------------------------------------------

  const create = Effect.fn("WorkstreamStore.create", SPAN)(function*(raw: NewWorkstream) {
    const method = "WorkstreamStore.create"
    const input = yield* decoders.create(raw)
    if (input.id === SCRATCH_ID) {
      return yield* new InvalidInput({ method, message: "use ensureScratch for the scratch workstream" })
    }
    const id = input.id ?? (yield* nextId(WorkstreamId))
    return yield* withLock(id)(Effect.gen(function*() {
      const pendingDelete = yield* sql`SELECT workstream_id FROM arawn_store_workstream_deletions WHERE workstream_id = ${id}`
        .pipe(Effect.flatMap(decodeDeletionRows), db(method))
      if (pendingDelete.length > 0) yield* finishDeletion(method, id)
      if (Option.isSome(yield* selectLogState(method, id))) {
        return yield* new InvalidInput({ method, message: `workstream ${id} already exists` })
      }
      const ws = buildWorkstream(input, id, yield* DateTime.now)
      yield* db(method)(durably(Effect.flatMap(
        insertWorkstream(ws, { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null }),
        (key) => replaceTags(key, ws.tags)
      )))
      // A log already at this path (e.g. one the original runtime wrote) is adopted, not overwritten.
      if ((yield* io(method, () => sizeOf(logOf(id)))) === 0) return ws
      yield* Effect.catchTag(reconcile(method, id, false), "NotFound", () => Effect.void)
      return Option.getOrElse(yield* selectWorkstream(method, id), () => ws)
    }))
  })

  const ensureScratch = Effect.fn("WorkstreamStore.ensureScratch", SPAN)(function*() {
    const method = "WorkstreamStore.ensureScratch"
    return yield* withLock(SCRATCH_ID)(Effect.gen(function*() {
      const existing = yield* selectWorkstream(method, SCRATCH_ID)
      if (Option.isSome(existing)) return existing.value
      const ws = buildWorkstream({ title: "Scratch", state: "active", tags: [] }, SCRATCH_ID, yield* DateTime.now, true)
      yield* db(method)(durably(insertWorkstream(ws, { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null })))
      const size = yield* io(method, () => sizeOf(logOf(SCRATCH_ID)))
      if (size === 0) return ws
      yield* Effect.catchTag(reconcile(method, SCRATCH_ID, false), "NotFound", () => Effect.void)
      return Option.getOrElse(yield* selectWorkstream(method, SCRATCH_ID), () => ws)
    }))
  })

  const get = Effect.fn("WorkstreamStore.get", SPAN)(function*(rawId: WorkstreamId) {
    const id = yield* decoders.id("WorkstreamStore.get")(rawId)
    return yield* selectWorkstream("WorkstreamStore.get", id)
  })

  const list = Effect.fn("WorkstreamStore.list", SPAN)(function*(raw?: typeof ListOptions.Encoded) {
    const method = "WorkstreamStore.list"
    const o = yield* decoders.list(raw ?? {})
    const position = o.cursor === undefined ? undefined : yield* decodeCursor(method, o.cursor)
    const conditions = [sql`1 = 1`]
    if (o.state !== undefined) conditions.push(sql`w.state = ${o.state}`)
    if (o.tag !== undefined) {
      conditions.push(sql`EXISTS (SELECT 1 FROM arawn_store_workstream_tags t WHERE t.ws_key = w.key AND t.tag = ${o.tag})`)
    }
    if (position !== undefined) {
      conditions.push(sql`(w.updated_at < ${position.millis} OR (w.updated_at = ${position.millis} AND w.id > ${position.id}))`)
    }
    const rows = yield* sql`SELECT w.key, w.id, w.title, w.summary, w.state, w.is_scratch, w.default_model, w.created_at,
          w.updated_at, w.message_count, w.last_message_at,
          (SELECT json_group_array(tag) FROM arawn_store_workstream_tags t WHERE t.ws_key = w.key) AS tags
        FROM arawn_store_workstreams w WHERE ${sql.and(conditions)}
        ORDER BY w.updated_at DESC, w.id ASC LIMIT ${o.limit + 1}`.pipe(Effect.flatMap(decodeWorkstreamRows), db(method))
    return page(rows.map(toWorkstream), o.limit)
  })

  const update = Effect.fn("WorkstreamStore.update", SPAN)(function*(rawId: WorkstreamId, raw: WorkstreamUpdate) {
    const method = "WorkstreamStore.update"
    const id = yield* decoders.id(method)(rawId)
    const patch = yield* decoders.update(raw)
    yield* guardScratch(method, id, patch.state === "archived")
    return yield* withLock(id)(Effect.gen(function*() {
      const found = yield* selectWorkstream(method, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "workstream", id })
      const next = applyUpdate(found.value, patch, yield* DateTime.now)
      const { key } = yield* requireLogState(method, id)
      yield* db(method)(durably(Effect.zipRight(
        sql`UPDATE arawn_store_workstreams SET title = ${next.title}, summary = ${next.summary ?? null},
              state = ${next.state}, default_model = ${next.defaultModel ?? null}, updated_at = ${next.updatedAt.epochMillis}
            WHERE key = ${key}`,
        patch.tags !== undefined ? replaceTags(key, next.tags) : Effect.void
      )))
      return next
    }))
  })

  const delete_ = Effect.fn("WorkstreamStore.delete", SPAN)(function*(rawId: WorkstreamId) {
    const method = "WorkstreamStore.delete"
    const id = yield* decoders.id(method)(rawId)
    yield* guardScratch(method, id, true)
    yield* withLock(id)(Effect.uninterruptible(Effect.gen(function*() {
      const found = yield* selectLogState(method, id)
      if (Option.isNone(found)) return
      const key = found.value.key
      // The intent is recorded with the metadata removal, so a crash before the directory is gone finishes on open.
      yield* db(method)(durably(Effect.all([
        sql`DELETE FROM arawn_store_workstream_messages WHERE ws_key = ${key}`,
        sql`DELETE FROM arawn_store_workstreams WHERE key = ${key}`,
        sql`INSERT OR REPLACE INTO arawn_store_workstream_deletions (workstream_id) VALUES (${id})`
      ], { discard: true })))
      yield* finishDeletion(method, id)
    })))
  })

  const appendLocked = (method: string, id: WorkstreamId, inputs: ReadonlyArray<typeof NewMessage.Type>) =>
    Effect.gen(function*() {
      const state = yield* lockedState(method, id)
      if (inputs.length === 0) return []
      const { messages, now } = yield* stampMessages(id, state.message_count + 1, inputs)
      const encoded = yield* Effect.try({
        try: () => messages.map(encodeMessage),
        catch: (e) => new InvalidInput({ method, message: `metadata must be JSON-encodable: ${describe(e)}` })
      })
      const bytes = Buffer.from(encoded.join(""), "utf8")
      const entries: Array<IndexEntry> = []
      const start = state.log_bytes
      let offset = start
      for (const [i, m] of messages.entries()) {
        const length = Buffer.byteLength(encoded[i]!, "utf8") - 1
        entries.push({ seq: m.seq, offset, length, timestampMs: m.timestamp.epochMillis, sessionId: m.sessionId ?? null })
        offset += length + 1
      }
      const file = logOf(id)
      // One positioned write at the indexed end and one fsync; a partial write is cut back so the log ends where
      // the index does.
      yield* io(method, async () => {
        if (start === 0) await fs.mkdir(dirOf(id), { recursive: true })
        const lease = (await pool.acquire(file, true))!
        try {
          let written = 0
          try {
            while (written < bytes.length) {
              written += (await lease.fh.write(bytes, written, bytes.length - written, start + written)).bytesWritten
            }
            await lease.fh.sync()
          } catch (e) {
            await lease.fh.truncate(start).catch(() => undefined)
            throw e
          }
        } finally {
          await lease.release()
        }
        if (start === 0) {
          await fsyncDir(dirOf(id))
          await fsyncDir(logsDir)
        }
      }).pipe(Effect.tapError(() => Effect.sync(() => states.delete(id))))
      const last = messages[messages.length - 1]!
      const next: LogState = {
        key: state.key,
        message_count: last.seq,
        log_bytes: offset,
        log_lines: state.log_lines + messages.length,
        last_message_at: last.timestamp.epochMillis
      }
      // A single statement is atomic on its own (see the 0002 trigger), so no transaction is needed.
      const index = entries.length <= INSERT_CHUNK
        ? insertIndex(state.key, entries, now.epochMillis)
        : sql.withTransaction(insertIndex(state.key, entries, now.epochMillis))
      yield* db(method)(index).pipe(
        Effect.tapError(() =>
          Effect.zipRight(
            Effect.sync(() => states.delete(id)),
            Effect.ignore(io(method, async () => {
              const lease = await pool.acquire(file, false)
              if (lease === undefined) return
              try {
                await lease.fh.truncate(start)
                await lease.fh.sync()
              } finally {
                await lease.release()
              }
            }))
          )
        )
      )
      states.set(id, next)
      return messages
    })

  const append = (method: string, rawId: WorkstreamId, raw: ReadonlyArray<NewMessage>) =>
    Effect.gen(function*() {
      const id = yield* decoders.id(method)(rawId)
      const inputs = yield* decodeMessages(method, raw)
      return yield* withLock(id)(Effect.uninterruptible(appendLocked(method, id, inputs)))
    })

  const storeMessage = Effect.fn("WorkstreamStore.storeMessage", SPAN)(function*(id: WorkstreamId, input: NewMessage) {
    const [message] = yield* append("WorkstreamStore.storeMessage", id, [input])
    return message!
  })

  const storeMessages = Effect.fn("WorkstreamStore.storeMessages", SPAN)(
    function*(id: WorkstreamId, inputs: ReadonlyArray<NewMessage>) {
      return yield* append("WorkstreamStore.storeMessages", id, inputs)
    }
  )

  const selectIndex = (method: string, key: number, o: LoadOptionsInput) => {
    const conditions = [sql`ws_key = ${key}`]
    if (o.beforeSeq !== undefined) conditions.push(sql`seq < ${o.beforeSeq}`)
    if (o.afterSeq !== undefined) conditions.push(sql`seq > ${o.afterSeq}`)
    if (o.since !== undefined) conditions.push(sql`timestamp_ms >= ${o.since.epochMillis}`)
    if (o.sessionId !== undefined) conditions.push(sql`session_id = ${o.sessionId}`)
    // Without statistics SQLite prefers walking the primary key and filtering, which scans the whole log for a rare
    // session; the session index finds its last `limit` lines directly.
    const source = o.sessionId === undefined
      ? sql`arawn_store_workstream_messages`
      : sql`arawn_store_workstream_messages INDEXED BY arawn_store_workstream_messages_session`
    const query = o.limit === undefined
      ? sql`SELECT seq, byte_offset, byte_length FROM ${source} WHERE ${sql.and(conditions)} ORDER BY seq ASC`
      : sql`SELECT seq, byte_offset, byte_length FROM ${source} WHERE ${sql.and(conditions)}
            ORDER BY seq DESC LIMIT ${o.limit}`
    return query.pipe(
      Effect.flatMap(decodeIndexRows),
      Effect.map((rows) => o.limit === undefined ? rows : [...rows].reverse()),
      db(method)
    )
  }

  /**
   * Reads the matching messages when the log is exactly as long as the index says; `None` when it is not. Without the
   * lock (`unlocked`), a read that fails is also `None`: a promotion or delete may have cut the log between the size
   * check and the read, and the caller retries under the lock, where a failure is real.
   */
  const readIndexed = (method: string, id: WorkstreamId, state: LogState, o: LoadOptionsInput, unlocked = false) =>
    Effect.acquireUseRelease(
      io(method, () => pool.acquire(logOf(id), false)),
      (lease) =>
        Effect.gen(function*() {
          const size = lease === undefined ? 0 : (yield* io(method, () => lease.fh.stat())).size
          if (size !== state.log_bytes) return Option.none<ReadonlyArray<Message>>()
          if (lease === undefined) return Option.some<ReadonlyArray<Message>>([])
          const rows = yield* selectIndex(method, state.key, o)
          const read = yield* Effect.either(io(method, () =>
            readRanges(lease.fh, rows.map((r) => ({ offset: r.byte_offset, length: r.byte_length })))))
          if (Either.isLeft(read)) {
            if (unlocked) return Option.none<ReadonlyArray<Message>>()
            return yield* read.left
          }
          const buffers = read.right
          const out: Array<Message> = []
          for (const [i, row] of rows.entries()) {
            const parsed = parseLine(buffers[i]!)
            if (Either.isRight(parsed)) out.push(toMessage(parsed.right, id, row.seq))
            else {
              yield* Effect.logWarning("skipped an indexed line that no longer parses; run rebuildIndex")
                .pipe(Effect.annotateLogs({ workstream: id, seq: row.seq, offset: row.byte_offset, reason: parsed.left }))
            }
          }
          return Option.some<ReadonlyArray<Message>>(out)
        }),
      (lease) =>
        lease === undefined
          ? Effect.void
          : Effect.catchAll(io(method, lease.release), (e) => Effect.logWarning("releasing a log handle failed", e.message))
    )

  /** The log state, from the cache when present; readers never fill the cache (a stale fill could race an append). */
  const currentState = (method: string, id: WorkstreamId) =>
    Effect.suspend(() => {
      const cached = states.get(id)
      return cached !== undefined ? Effect.succeed(cached) : requireLogState(method, id)
    })

  const loadMessages = Effect.fn("WorkstreamStore.loadMessages", SPAN)(function*(rawId: WorkstreamId, raw?: LoadOptions) {
    const method = "WorkstreamStore.loadMessages"
    const id = yield* decoders.id(method)(rawId)
    const o = yield* decoders.load(raw ?? {})
    const fast = yield* readIndexed(method, id, yield* currentState(method, id), o, true)
    if (Option.isSome(fast)) return fast.value
    // The log and the index disagree (an append in flight, or a crash left a tail): settle it under the lock.
    return yield* withLock(id)(Effect.gen(function*() {
      yield* reconcile(method, id, false)
      const settled = yield* readIndexed(method, id, yield* lockedState(method, id), o)
      if (Option.isSome(settled)) return settled.value
      return yield* new StorageError({ method, cause: new Error(`the log of ${id} changed while it was being read`) })
    }))
  })

  const promoteScratch = Effect.fn("WorkstreamStore.promoteScratch", SPAN)(function*(raw: PromoteInput) {
    const method = "WorkstreamStore.promoteScratch"
    const input = yield* decoders.promote(raw)
    const hook = yield* PromoteHook
    return yield* withLock(SCRATCH_ID)(Effect.uninterruptible(Effect.gen(function*() {
      let scratch = yield* selectLogState(method, SCRATCH_ID)
      if (Option.isSome(scratch) && (yield* io(method, () => sizeOf(logOf(SCRATCH_ID)))) !== scratch.value.log_bytes) {
        yield* Effect.catchTag(reconcile(method, SCRATCH_ID, false), "NotFound", () => Effect.void)
        scratch = yield* selectLogState(method, SCRATCH_ID)
      }
      if (Option.isNone(scratch) || scratch.value.message_count === 0) {
        return yield* new InvalidInput({ method, message: "the scratch workstream has no messages to promote" })
      }
      const source = scratch.value
      const id = yield* nextId(WorkstreamId)
      const now = yield* DateTime.now
      const targetDir = dirOf(id)
      const temp = path.join(targetDir, "messages.jsonl.tmp")

      yield* db(method)(durably(
        sql`INSERT INTO arawn_store_workstream_promotions (target_id, source_id, state) VALUES (${id}, ${SCRATCH_ID}, 'writing')`
      ))
      yield* hook.reached("intent")

      const rollback = Effect.ignore(Effect.zipRight(
        removeDir(method, id),
        db(method)(sql`DELETE FROM arawn_store_workstream_promotions WHERE target_id = ${id}`)
      ))

      const prepared = yield* Effect.gen(function*() {
        // Copy scratch's log with every message's workstream_id rewritten, indexing as it goes.
        const entries: Array<IndexEntry> = []
        let written = 0
        let lines = 0
        yield* io(method, () => fs.mkdir(targetDir, { recursive: true }))
        yield* withLog(method, SCRATCH_ID, "r", (src) =>
          Effect.acquireUseRelease(
            io(method, () => fs.open(temp, "w")),
            (out) =>
              io(method, async () => {
                if (src === undefined) return
                const scanner = new LineScanner(src, 0, source.log_bytes)
                for (let batch = await scanner.next(); batch !== undefined; batch = await scanner.next()) {
                  const parts: Array<Buffer> = []
                  for (const line of batch) {
                    if (!line.terminated) continue
                    lines++
                    const parsed = isBlank(line.bytes) ? undefined : parseLine(line.bytes)
                    // Malformed lines travel verbatim: they are reported again, never silently dropped.
                    const bytes = parsed !== undefined && Either.isRight(parsed)
                      ? Buffer.from(rewriteWorkstreamId(parsed.right, id), "utf8")
                      : Buffer.concat([line.bytes, Buffer.from("\n")])
                    if (parsed !== undefined && Either.isRight(parsed)) {
                      entries.push({
                        seq: entries.length + 1,
                        offset: written,
                        length: bytes.length - 1,
                        timestampMs: parsed.right.timestampMs,
                        sessionId: parsed.right.line.session_id
                      })
                    }
                    parts.push(bytes)
                    written += bytes.length
                  }
                  const chunk = Buffer.concat(parts)
                  let done = 0
                  while (done < chunk.length) done += (await out.write(chunk, done, chunk.length - done)).bytesWritten
                }
                await out.sync()
              }),
            closeQuietly
          ))
        if (entries.length !== source.message_count) {
          return yield* new StorageError({
            method,
            cause: new Error(`scratch holds ${entries.length} messages but its index ${source.message_count}`)
          })
        }
        yield* hook.reached("written")
        yield* io(method, async () => {
          await fs.rename(temp, logOf(id))
          await fsyncDir(targetDir)
          await fsyncDir(logsDir)
        })
        yield* hook.reached("renamed")
        return { entries, written, lines }
      }).pipe(Effect.tapError(() => rollback))

      const last = prepared.entries[prepared.entries.length - 1]!
      const ws = withAppended(
        buildWorkstream(
          {
            title: input.title,
            state: "active",
            tags: input.tags,
            ...(input.defaultModel !== undefined ? { defaultModel: input.defaultModel } : {})
          },
          id,
          now
        ),
        prepared.entries.length,
        DateTime.unsafeMake(last.timestampMs),
        now
      )
      // The commit point: the new workstream, its index and scratch's emptied state, all at once.
      yield* db(method)(durably(Effect.gen(function*() {
        const key = yield* insertWorkstream(ws, {
          message_count: prepared.entries.length,
          log_bytes: prepared.written,
          log_lines: prepared.lines,
          last_message_at: last.timestampMs
        })
        yield* replaceTags(key, ws.tags)
        yield* insertIndex(key, prepared.entries)
        yield* sql`DELETE FROM arawn_store_workstream_messages WHERE ws_key = ${source.key}`
        yield* sql`UPDATE arawn_store_workstreams SET message_count = 0, log_bytes = 0, log_lines = 0,
              last_message_at = NULL, updated_at = ${now.epochMillis} WHERE key = ${source.key}`
        yield* sql`UPDATE arawn_store_workstream_promotions SET state = 'committed' WHERE target_id = ${id}`
      }))).pipe(Effect.tapError(() => rollback), Effect.ensuring(Effect.sync(() => states.delete(SCRATCH_ID))))
      yield* hook.reached("committed")
      // From here the promotion is done; emptying scratch's log is finished on the next read or open if this fails.
      yield* Effect.catchAll(finishPromotions(method, { source: SCRATCH_ID, quiet: true }), (e) =>
        Effect.logWarning("emptying the scratch log after promotion failed; it will be retried", e.message))
      yield* hook.reached("truncated")
      return ws
    })))
  })

  const rebuild = Effect.fn("WorkstreamStore.rebuildIndex", SPAN)(function*(rawId: WorkstreamId) {
    const method = "WorkstreamStore.rebuildIndex"
    const id = yield* decoders.id(method)(rawId)
    return yield* withLock(id)(Effect.uninterruptible(reconcile(method, id, true)))
  })

  const store: WorkstreamStore["Type"] = {
    create,
    ensureScratch,
    get,
    list,
    update,
    delete: delete_,
    storeMessage,
    storeMessages,
    loadMessages,
    promoteScratch
  }
  const index: WorkstreamIndex["Type"] = { rebuildIndex: rebuild }
  return { store, index }
})

/**
 * The local WorkstreamStore (see `make`) plus `WorkstreamIndex`. Requires nothing; fails with `StorageError` when the
 * directory or database cannot be opened. Caveat: one process per directory (appends are serialised in-process).
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<WorkstreamStore | WorkstreamIndex, StorageError> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ index, store }) => Context.make(WorkstreamStore, store).pipe(Context.add(WorkstreamIndex, index)))
  )

/**
 * `layer` with its options read from `Config`, e.g. `layerConfig({ dir: Config.string("ARAWN_DATA_DIR") })`.
 *
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options>
): Layer.Layer<WorkstreamStore | WorkstreamIndex, StorageError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
