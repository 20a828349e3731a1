/**
 * The local WorkstreamStore: metadata, tags and a message index in SQLite at `<dir>/workstreams.db`, and each
 * workstream's messages in `<dir>/workstreams/<id>/messages.jsonl`, one JSON object per line in the original
 * runtime's format. The JSONL is the source of truth; the index (workstream, seq, byte offset, byte length,
 * timestamp, session, role) is rebuilt from it whenever it falls behind, so tail reads cost O(limit) whatever the
 * log's length. Beside it, an FTS5 index of the messages' text serves `searchMessages`; it changes in the same
 * transaction as the message index and is rebuilt with it. A fork's log is written to a staging directory and
 * committed with its record, so a crash leaves no fork or a whole one. This module is the driver's wiring; each
 * concern lives in `src/internal/local/`.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Context, Duration, Effect, Either, Layer, Option } from "effect"
import type { ConfigError } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { InvalidInput, NotFound, StorageError } from "../Errors.js"
import { WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import { append } from "../internal/local/append.js"
import { finishDeletion } from "../internal/local/cleanup.js"
import { branch, remove } from "../internal/local/tree.js"
import { db, io, paths } from "../internal/local/files.js"
import { fork } from "../internal/local/fork.js"
import { makeHandles } from "../internal/local/handles.js"
import { promote } from "../internal/local/promote.js"
import { makeQueries } from "../internal/local/queries.js"
import { load } from "../internal/local/read.js"
import { reconcile } from "../internal/local/reconcile.js"
import { saveAllRecords, saveRecord } from "../internal/local/record.js"
import type { MalformedLine, RebuildReport } from "../internal/local/reconcile.js"
import { recoverOnOpen } from "../internal/local/recovery.js"
import { search } from "../internal/local/search.js"
import { prune } from "../internal/local/prune.js"
import { retentionDriver } from "../internal/local/retention.js"
import { isValidPrefix, migrations, tables } from "../internal/local/schema.js"
import type { Local } from "../internal/local/store.js"
import { makeWriter } from "../internal/local/writer.js"
import { sizeOf } from "../internal/logfile.js"
import { openSqlite } from "../internal/sqlite.js"
import { summariesOf, writeSummary } from "../internal/local/summaries.js"
import type { Driver } from "../WorkstreamStore.js"
import { make as makeStore, WorkstreamStore } from "../WorkstreamStore.js"

export type { MalformedLine, RebuildReport }

/** Where the local store keeps its files, its tables' prefix, and how long SQLite waits on a lock. @category models */
export interface Options {
  /** Data directory: holds `workstreams.db` and `workstreams/<id>/messages.jsonl`; created when missing. */
  readonly dir: string
  /** How long a statement waits for a lock held by another connection (default 5 seconds). */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /** Table names start with this SQL identifier and `_` (default `"arawn_store"`, as in stores made before it existed). */
  readonly prefix?: string | undefined
  /**
   * Opens the store read-only (default false), for a directory this process may not write: no migrations, no
   * recovery; the store must exist and be migrated, every write fails with a StorageError, and reads need
   * `workstreams.db-shm` to exist or be creatable.
   */
  readonly readonly?: boolean | undefined
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

const BACKEND = "local"
const SPAN = { attributes: { "arawn.backend": BACKEND } }
const decodeId = decodeInput(WorkstreamId, "WorkstreamStore.rebuildIndex")

/** The write connection (busy timeout 0: the write lock waits on a timer, see `writer.ts`) and the read connection. */
const connect = (method: string, file: string, busyMs: number, readonly: boolean) =>
  Effect.gen(function*() {
    // WAL comes after auto_vacuum: SQLite takes that setting only before the file's first page is written, so a new
    // store gives the pages prune frees back (`incremental_vacuum`); an older one keeps reusing them in place.
    // Only a new file is opened without WAL first: an existing one opens as before, which a full disk allows.
    const fresh = !readonly && (yield* io(method, () => sizeOf(file))) === 0
    const sql = yield* openSqlite(method, { filename: file, readonly, disableWAL: fresh })
    if (fresh) {
      yield* db(method)(Effect.zipRight(sql.unsafe("PRAGMA auto_vacuum = INCREMENTAL"), sql.unsafe("PRAGMA journal_mode = WAL")))
    }
    const reader = yield* openSqlite(method, { filename: file, readonly })
    yield* db(method)(Effect.all([
      // Pragmas take no bound parameters; the values are integers computed here.
      sql.unsafe("PRAGMA busy_timeout = 0"),
      // The index is rebuilt from the fsynced JSONL, so its commits need not fsync; metadata commits switch to
      // `synchronous = FULL` for their transaction (see `writer.ts`).
      sql`PRAGMA synchronous = NORMAL`,
      sql`PRAGMA foreign_keys = ON`,
      // A reader waits only in SQLite's rare WAL recovery after a crash, never on a writer.
      reader.unsafe(`PRAGMA busy_timeout = ${busyMs}`),
      reader`PRAGMA foreign_keys = ON`
    ]))
    return { sql, reader }
  })

/** Opens the database, runs the migrations and recovers what a crash interrupted. */
const open = Effect.fnUntraced(function*(options: Options) {
  const method = "WorkstreamStore.open"
  const prefix = options.prefix ?? "arawn_store"
  if (!isValidPrefix(prefix)) {
    return yield* new InvalidInput({ method, message: `table prefix ${JSON.stringify(prefix)} must be an SQL identifier` })
  }
  const t = tables(prefix)
  const p = paths(options.dir)
  const readonly = options.readonly === true
  if (!readonly) yield* io(method, () => fs.mkdir(p.logsDir, { recursive: true }))
  const busyMs = Math.max(0, Math.round(Duration.toMillis(Duration.decode(options.busyTimeout ?? Duration.seconds(5)))))
  const file = path.join(p.root, "workstreams.db")
  const { reader, sql } = yield* connect(method, file, busyMs, readonly)
  const states: Local["states"] = new Map()
  const writer = yield* makeWriter(sql, busyMs, () => states.clear(), readonly ? undefined : file)
  const handles = yield* makeHandles(64, readonly)
  const local: Local = { sql, q: makeQueries(sql, t), r: makeQueries(reader, t), paths: p, prefix, handles, writer, states }
  // Under the write lock: two processes opening a new directory at once must not both run the migrations.
  if (!readonly) {
    yield* writer.exclusive(
      method,
      Migrator.make({})({ loader: Migrator.fromRecord(migrations(sql, t, saveAllRecords(local, method))), table: t.migrations }).pipe(
        Effect.provideService(SqlClient.SqlClient, sql),
        db(method)
      ),
      true
    )
    yield* recoverOnOpen(local, method)
  }
  return local
})

const method = (name: string) => `WorkstreamStore.${name}`

/** The driver's primitives over an open store: every write under the write lock, every read without it. */
const driver = (local: Local): Driver => {
  const { q, r, writer } = local
  const insert: Driver["insert"] = (ws) => {
    const m = method(ws.isScratch ? "ensureScratch" : "create")
    return writer.exclusive(m, Effect.gen(function*() {
      if (yield* db(m)(q.isDeleting(ws.id))) yield* finishDeletion(local, m, ws.id)
      if (Option.isSome(yield* db(m)(q.logState(ws.id)))) return Option.none()
      local.states.delete(ws.id)
      yield* db(m)(q.insertWorkstream(ws))
      yield* saveRecord(local, m, ws)
      // A log already at this path (e.g. one the original runtime wrote) is adopted, not overwritten.
      if ((yield* io(m, () => sizeOf(local.paths.logOf(ws.id)))) === 0) return Option.some(ws)
      yield* Effect.catchTag(reconcile(local, m, ws.id, false), "NotFound", () => Effect.void)
      return Option.some(Option.getOrElse(yield* db(m)(q.workstream(ws.id)), () => ws))
    }), true)
  }

  const update: Driver["update"] = (id, modify) =>
    writer.exclusive(method("update"), Effect.gen(function*() {
      const m = method("update")
      const found = yield* db(m)(q.row(id))
      if (Option.isNone(found)) return Option.none()
      const { key, workstream: current } = found.value
      const next = modify(current)
      if (Either.isLeft(next)) return yield* Effect.fail(next.left)
      const sameTags = next.right.tags.join("\u0000") === current.tags.join("\u0000")
      yield* db(m)(Effect.zipRight(q.updateMetadata(key, next.right), sameTags ? Effect.void : q.replaceTags(key, next.right.tags)))
      yield* saveRecord(local, m, next.right)
      return Option.some(next.right)
    }), true)

  return {
    backend: BACKEND,
    insert,
    get: (id) => db(method("get"))(r.workstream(id)),
    list: (query) => db(method("list"))(r.list(query)),
    update,
    delete: (id, subtree) => remove(local, method("delete"), id, subtree),
    append: (id, request) =>
      append(local, method("storeMessages"), id, request).pipe(
        Effect.catchTag("NotFound", () => Effect.succeed({ _tag: "NotFound" } as const))
      ),
    load: (id, query) =>
      load(local, method("loadMessages"), id, query).pipe(
        Effect.map(Option.some),
        Effect.catchTag("NotFound", () => Effect.succeed(Option.none()))
      ),
    promote: (request) => promote(local, method("promoteScratch"), request),
    fork: (request) => fork(local, method("fork"), request),
    branch: (request) => branch(local, method("fork"), request),
    search: (query) => search(local, method("searchMessages"), query),
    writeSummary: (summary) => writeSummary(local, method("summarize"), summary),
    summaries: (ids) => summariesOf(local, method("listSummaries"), ids),
    ...retentionDriver(local),
    prune: (request) => prune(local, method("prune"), request)
  }
}

/**
 * Opens (creating when missing) the store in `options.dir`: runs its migrations, finishes or rolls back any
 * promotion or delete a crash interrupted, and catches every index up with its log (repairing torn tails). The
 * SQLite connection lives as long as the surrounding scope. Several processes may open one directory: every write
 * runs under its one write lock (see `internal/local/writer.ts`).
 *
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const local = yield* open(options)
  const rebuild = Effect.fn("WorkstreamStore.rebuildIndex", SPAN)(function*(rawId: WorkstreamId) {
    const id = yield* decodeId(rawId)
    return yield* local.writer.exclusive("WorkstreamStore.rebuildIndex", reconcile(local, "WorkstreamStore.rebuildIndex", id, true))
  })
  const index: WorkstreamIndex["Type"] = { rebuildIndex: rebuild }
  return { store: makeStore(driver(local)), index }
})

/**
 * The local WorkstreamStore (see `make`) plus `WorkstreamIndex`. Requires nothing; fails with `StorageError` when the
 * directory or database cannot be opened, `InvalidInput` for a prefix that is not an SQL identifier. Several
 * processes may share a directory (appends are serialised by its write lock, across processes too).
 *
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<WorkstreamStore | WorkstreamIndex, StorageError | InvalidInput> =>
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
): Layer.Layer<WorkstreamStore | WorkstreamIndex, StorageError | InvalidInput | ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), layer))
