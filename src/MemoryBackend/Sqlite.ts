/**
 * The embedded MemoryBackend: one SQLite file holding rows, tags, a full-text index (FTS5), exact float vectors and
 * a sqlite-vec bit index for fast vector search.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Config, Duration, Effect, Layer, Option } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { getLoadablePath } from "sqlite-vec"
import { Embedder } from "../Embedder.js"
import { EmbeddingSpace, InvalidInput, StorageError } from "../Errors.js"
import { openSqlite } from "../internal/sqlite.js"
import { single, transaction } from "../internal/sql.js"
import { openConnection, openWriteConnection } from "../internal/sqliteMemory/connection.js"
import { makeDirectInsert, withDirectInsert } from "../internal/sqliteMemory/directWrites.js"
import { clientReads, directReads } from "../internal/sqliteMemory/read.js"
import { makeReadPool } from "../internal/sqliteMemory/readPool.js"
import { sqliteDialect } from "../internal/sqliteMemory/dialect.js"
import { makeDriver } from "../internal/sqlMemory/driver.js"
import { readGeneration, recordGeneration } from "../internal/sqlMemory/state.js"
import { isPrefix, migrations, tableNames } from "../internal/sqliteMemory/schema.js"
import type { Store } from "../internal/sqliteMemory/vectors.js"
import { createGeneration } from "../internal/sqliteMemory/vectors.js"
import { makeCoder } from "../internal/simhash.js"
import type { Options as KernelOptions } from "../MemoryBackend.js"
import { make as makeService, MemoryBackend } from "../MemoryBackend.js"

/**
 * Tuning and naming shared by every way of opening the store.
 *
 * @category options
 */
export interface Options extends KernelOptions {
  /** Prefix of every table (letters, digits, `_`); default `"arawn_store"`. */
  readonly prefix?: string | undefined
  /** How long a writer waits for another process's write lock before failing; default 5 seconds. */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /** Bytes of the file SQLite may memory-map (vector scans are 2-3x faster mapped); default 1 GiB. */
  readonly mmapSize?: number | undefined
  /**
   * A vector search whose filter matches at most this many memories scores all of them exactly instead of asking
   * the bit index; default 2048. With 0 every search asks the index first (tests use it to exercise that path); a
   * search whose filter then keeps too few candidates scans the filtered memories exactly in any case.
   */
  readonly exactScanLimit?: number | undefined
}

/**
 * Options for a store that opens its own SQLite connection on `filename` (a path, or `:memory:`).
 *
 * @category options
 */
export interface FileOptions extends Options {
  readonly filename: string
  /**
   * Reader threads for search (default 2; 0: none). Reads run on a read-only connection of the store's own in the
   * caller's thread; a statement that has been taking longer than a reader thread's round trip (about half a
   * millisecond) goes to a reader thread instead, so a large store's scans keep the caller's event loop free and
   * the vector and text halves of a hybrid search run at the same time. Not used for `:memory:`, which no second
   * connection can see (its reads run on the store's connection).
   */
  readonly readers?: number | undefined
  /**
   * Opens the file read-only (default false): for a store this process may not write. It must exist and be
   * migrated; every write fails with a StorageError, and reads need `<filename>-shm` to exist or be creatable.
   */
  readonly readonly?: boolean | undefined
}

const OPEN = "MemoryBackend.open"

/** The number of the last migration in a `migrations` record (its keys start with the number). */
const latestMigration = (record: Record<string, unknown>) => Math.max(...Object.keys(record).map((key) => parseInt(key, 10)))

const busyMillis = (options: Options) => Math.max(0, Math.round(Duration.toMillis(options.busyTimeout ?? Duration.seconds(5))))
const mmapBytes = (options: Options) => Math.max(0, Math.floor(options.mmapSize ?? 2 ** 30))

/** Loads sqlite-vec, sets the pragmas, and migrates and records the embedding space under the write lock. */
const open = (client: SqliteClient.SqliteClient, s: Store, options: Options) =>
  Effect.gen(function*() {
    const sql = s.sql
    yield* client.loadExtension(getLoadablePath())
    // Pragmas take no bound parameters; both values are numbers computed here.
    yield* sql.unsafe(`PRAGMA busy_timeout = ${busyMillis(options)}`)
    yield* sql.unsafe(`PRAGMA mmap_size = ${mmapBytes(options)}`)
    yield* sql`PRAGMA synchronous = NORMAL`
    // A store that is migrated and has its space recorded opens without the write lock, so opening never waits on
    // (or delays) another process's writes; otherwise the write lock keeps two processes from both creating it.
    const ready = yield* Effect.orElseSucceed(
      Effect.map(
        Effect.all([single(sql`SELECT coalesce(max(migration_id), 0) AS n FROM ${sql(s.t.migrations)}`), readGeneration(sql, s.t.meta)]),
        ([latest, space]) => latest >= latestMigration(migrations(sql, s.t)) && Option.isSome(space)
      ),
      () => false
    )
    if (ready) return
    yield* transaction(sql, "BEGIN IMMEDIATE")(Effect.gen(function*() {
      yield* Effect.provideService(
        Migrator.make({})({ loader: Migrator.fromRecord(migrations(sql, s.t)), table: s.t.migrations }),
        SqlClient.SqlClient,
        sql
      )
      if (Option.isNone(yield* readGeneration(sql, s.t.meta))) {
        yield* recordGeneration(sql, s.t.meta, "space", { space: s.current, generation: 1 })
        yield* createGeneration(s, 1)
      }
    }))
  }).pipe(Effect.mapError((cause) => new StorageError({ method: OPEN, cause })))

/**
 * Where a store on a file reads: its own read connection in this thread, and the reader threads asked for. They
 * open once the file exists and is migrated. A file the read connection cannot open is read through the store's
 * own connection, as `:memory:` is.
 */
const fileReads = (options: Options, file: Option.Option<FileReads>) =>
  Option.match(file, {
    onNone: () => Effect.succeed(clientReads),
    onSome: ({ filename, readers }) => {
      const tuning = { busyMs: busyMillis(options), mmapSize: mmapBytes(options) }
      return Effect.gen(function*() {
        const db = yield* openConnection(filename, tuning)
        const pool = readers === 0 ? Option.none() : Option.some(yield* makeReadPool(filename, { ...tuning, size: readers }))
        return directReads(db, pool)
      }).pipe(Effect.orElseSucceed(() => clientReads))
    }
  })

/** The file a store opened itself, how many reader threads it asked for, and whether it may write. */
interface FileReads {
  readonly filename: string
  readonly readers: number
  readonly writable: boolean
}

/**
 * The store's plain inserts on a write connection of its own (see `directWrites.ts`), for a file it may write; a
 * connection that does not open leaves every insert on the store's connection.
 */
const directInsert = (options: Options, file: Option.Option<FileReads>, store: Store) =>
  Option.match(Option.filter(file, (f) => f.writable), {
    onNone: () => Effect.succeed(undefined),
    onSome: ({ filename }) =>
      Effect.flatMap(openWriteConnection(filename, { mmapSize: mmapBytes(options) }), (db) => Effect.try(() => makeDirectInsert(store, db))).pipe(
        Effect.catchAll((e) => Effect.as(Effect.logWarning("inserts take the slower path: their own connection did not open", String(e)), undefined))
      )
  })

const build = (options: Options, file: Option.Option<FileReads>) =>
  Effect.gen(function*() {
    const prefix = options.prefix ?? "arawn_store"
    if (!isPrefix(prefix)) {
      return yield* new InvalidInput({ method: OPEN, message: `table prefix ${JSON.stringify(prefix)} must be an SQL identifier` })
    }
    const client = yield* SqliteClient.SqliteClient
    const embedder = yield* Embedder
    const base = {
      sql: client,
      t: tableNames(prefix),
      current: new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions }),
      code: makeCoder(embedder.dimensions),
      reads: clientReads
    } satisfies Store
    yield* open(client, base, options)
    const store: Store = { ...base, reads: yield* fileReads(options, file) }
    const driver = makeDriver(sqliteDialect(store, Math.max(0, Math.floor(options.exactScanLimit ?? 2048))))
    const insert = yield* directInsert(options, file, store)
    return yield* makeService(insert === undefined ? driver : withDirectInsert(driver, insert), options)
  })

/**
 * Builds the SQLite MemoryBackend on the `SqliteClient` in context: loads sqlite-vec into that connection, sets
 * `busy_timeout` and `mmap_size`, runs this store's own migrations (table `<prefix>_memory_migrations`) and records
 * the Embedder's identity when the store is new. Searches run on that connection. Requires `SqliteClient` and
 * `Embedder`.
 *
 * @category constructors
 */
export const make = (options: Options = {}) => Effect.scoped(build(options, Option.none()))

/**
 * The SQLite MemoryBackend. With `filename` (a path, whose directory is created, or `:memory:`) it opens and owns its
 * connection; without, it uses the `SqliteClient` in context, on which it loads sqlite-vec and sets `busy_timeout`,
 * `mmap_size` and `synchronous = NORMAL` (WAL is the client's default). Requires an `Embedder`: the store records the
 * embedder's model and dimensions on first open and refuses vector writes and vector/hybrid search from another one
 * until `reindex` (text search, get, list, count and delete keep working).
 *
 * Caveats: vector search ranks the bit index's candidates exactly, so it is approximate on large unfiltered stores
 * (recall@10 about 0.99 at 100k); on stores of 10,000 memories or more, text search leaves out query words found in
 * more than a tenth of the memories when the query has a rarer word.
 *
 * @category layers
 */
export function layer(options: FileOptions): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder>
export function layer(
  options?: Options
): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder | SqliteClient.SqliteClient>
export function layer(
  options?: Options | FileOptions
): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder | SqliteClient.SqliteClient> {
  if (options === undefined || !("filename" in options)) return Layer.effect(MemoryBackend, make(options))
  const filename = options.filename
  return Layer.scoped(
    MemoryBackend,
    Effect.gen(function*() {
      if (options.readonly !== true && filename !== ":memory:" && filename !== "" && !filename.startsWith("file:")) {
        yield* Effect.try({
          try: () => mkdirSync(dirname(filename), { recursive: true }),
          catch: (cause) => new StorageError({ method: OPEN, cause })
        })
      }
      const client = yield* openSqlite(OPEN, { filename, readonly: options.readonly === true })
      // `:memory:`, a temporary file ("") and URIs name no file a second connection would open to the same data.
      const shared = filename !== ":memory:" && filename !== "" && !filename.startsWith("file:")
      const file = shared
        ? Option.some({ filename, readers: Math.max(0, Math.floor(options.readers ?? 2)), writable: options.readonly !== true })
        : Option.none()
      return yield* Effect.provideService(build(options, file), SqliteClient.SqliteClient, client)
    })
  )
}

/**
 * `layer` with its options read from `Config` (e.g. `Config.string("MEMORY_DB")` for the filename).
 *
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<FileOptions>
): Layer.Layer<MemoryBackend, StorageError | InvalidInput | ConfigError, Embedder> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (options) => layer(options)))
