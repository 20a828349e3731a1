/**
 * A second write connection to `workstreams.db`: better-sqlite3 itself, in the caller's thread, with its statements
 * prepared once and kept. An append runs its whole transaction on it (see `Writer.direct`): through @effect/sql each
 * statement pays its compilation, a span, a cache lookup and several runtime steps, together more than a small
 * append's own SQL. It takes the same `BEGIN IMMEDIATE` lock as the store's write connection, never waits for it
 * (busy timeout 0: a refused lock sends the append down the write connection's path, which waits on a schedule),
 * and commits with `synchronous = NORMAL` as that one does. The package ships no types, so what is used of it is
 * checked when it loads.
 */
import { createRequire } from "node:module"
import { Effect } from "effect"
import type { Scope } from "effect"

/** Statements run inside the direct transaction. */
export interface DirectTx {
  readonly run: (sql: string, params: ReadonlyArray<unknown>) => void
  /** The first row, or `undefined`. */
  readonly get: (sql: string, params: ReadonlyArray<unknown>) => unknown
}

export interface DirectConnection {
  /** `BEGIN IMMEDIATE`; false when another connection holds the write lock. */
  readonly begin: () => boolean
  readonly commit: () => void
  /** Rolls back the open transaction, if any (SQLite may have rolled back a failed commit already). */
  readonly rollback: () => void
  readonly tx: DirectTx
}

interface Statement {
  readonly run: (...params: ReadonlyArray<unknown>) => unknown
  readonly get: (...params: ReadonlyArray<unknown>) => unknown
}

interface Native {
  readonly prepare: (sql: string) => unknown
  readonly pragma: (source: string) => unknown
  readonly close: () => unknown
  readonly inTransaction: boolean
}

const hasMethods = <K extends string>(u: unknown, ...names: ReadonlyArray<K>): u is Record<K, (...args: ReadonlyArray<unknown>) => unknown> =>
  typeof u === "object" && u !== null && names.every((n) => typeof Reflect.get(u, n) === "function")

const isNative = (u: unknown): u is Native => hasMethods(u, "prepare", "pragma", "close") && typeof Reflect.get(u, "inTransaction") === "boolean"

const isStatement = (u: unknown): u is Statement => hasMethods(u, "run", "get")

const isBusy = (e: unknown): boolean => {
  const code = typeof e === "object" && e !== null ? Reflect.get(e, "code") : undefined
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
}

const connect = (file: string): DirectConnection & { readonly close: () => void } => {
  const Database: unknown = createRequire(import.meta.url)("better-sqlite3")
  if (typeof Database !== "function") throw new Error("better-sqlite3 did not load as a constructor")
  const db: unknown = Reflect.construct(Database, [file, { fileMustExist: true, timeout: 0 }])
  if (!isNative(db)) throw new Error("better-sqlite3 returned no connection")
  try {
    db.pragma("busy_timeout = 0")
    db.pragma("synchronous = NORMAL")
    db.pragma("foreign_keys = ON")
  } catch (e) {
    db.close()
    throw e
  }
  const cache = new Map<string, Statement>()
  const prepared = (sql: string): Statement => {
    let s = cache.get(sql)
    if (s === undefined) {
      const made = db.prepare(sql)
      if (!isStatement(made)) throw new Error("better-sqlite3 prepared no statement")
      s = made
      cache.set(sql, s)
    }
    return s
  }
  const begin = prepared("BEGIN IMMEDIATE")
  const commit = prepared("COMMIT")
  return {
    begin: () => {
      try {
        begin.run()
        return true
      } catch (e) {
        if (isBusy(e)) return false
        throw e
      }
    },
    commit: () => {
      commit.run()
    },
    rollback: () => {
      if (db.inTransaction) prepared("ROLLBACK").run()
    },
    tx: {
      run: (sql, params) => {
        prepared(sql).run(...params)
      },
      get: (sql, params) => prepared(sql).get(...params)
    },
    close: () => {
      db.close()
    }
  }
}

/**
 * The connection for the life of the scope, or `undefined` when it cannot be opened (appends then take the write
 * connection's path, as a read-only store's do).
 */
export const openDirect = (file: string | undefined): Effect.Effect<DirectConnection | undefined, never, Scope.Scope> =>
  file === undefined ? Effect.succeed(undefined) : Effect.acquireRelease(
    Effect.catchAll(
      Effect.try(() => connect(file)),
      (e) => Effect.as(Effect.logWarning("appends take the slower path: their own connection did not open", String(e)), undefined)
    ),
    (c) => Effect.sync(() => c?.close())
  )
