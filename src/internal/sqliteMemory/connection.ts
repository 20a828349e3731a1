/**
 * A read-only better-sqlite3 connection to the store's file in the caller's thread, for `directReads`. The package
 * ships no types (it comes with @effect/sql-sqlite-node), so what is used of it is checked when it loads.
 */
import { createRequire } from "node:module"
import { Effect } from "effect"
import type { Scope } from "effect"
import { getLoadablePath } from "sqlite-vec"
import { makeScoreFunction, SCORE_FUNCTION, VECTOR_SCORE_FUNCTION } from "./scoreFunction.js"

/** A prepared statement: what `directReads` runs. */
export interface Prepared {
  readonly all: (...params: ReadonlyArray<unknown>) => ReadonlyArray<unknown>
}

/** The slice of a better-sqlite3 connection the store reads through. */
export interface Connection {
  readonly prepare: (sql: string) => Prepared
}

interface Native {
  readonly prepare: (sql: string) => unknown
  readonly pragma: (source: string) => unknown
  readonly loadExtension: (path: string) => unknown
  readonly close: () => unknown
  readonly function: (name: string, options: { readonly deterministic: boolean; readonly varargs: boolean }, fn: (...args: ReadonlyArray<unknown>) => unknown) => unknown
}

const hasMethods = <K extends string>(u: unknown, ...names: ReadonlyArray<K>): u is Record<K, (...args: ReadonlyArray<unknown>) => unknown> =>
  typeof u === "object" && u !== null && names.every((n) => typeof Reflect.get(u, n) === "function")

const isNative = (u: unknown): u is Native => hasMethods(u, "prepare", "pragma", "loadExtension", "close", "function")

/** A better-sqlite3 connection with sqlite-vec loaded and `setup` applied, closed again if either fails. */
const open = (filename: string, flags: Readonly<Record<string, unknown>>, setup: (db: Native) => void): Native => {
  const Database: unknown = createRequire(import.meta.url)("better-sqlite3")
  if (typeof Database !== "function") throw new Error("better-sqlite3 did not load as a constructor")
  const db: unknown = Reflect.construct(Database, [filename, flags])
  if (!isNative(db)) throw new Error("better-sqlite3 returned no connection")
  try {
    db.loadExtension(getLoadablePath())
    setup(db)
    return db
  } catch (e) {
    db.close()
    throw e
  }
}

const connect = (filename: string, options: { readonly busyMs: number; readonly mmapSize: number }): Native =>
  open(filename, { readonly: true, fileMustExist: true }, (db) => {
    // Both values are numbers computed by the store.
    db.pragma(`busy_timeout = ${options.busyMs}`)
    db.pragma(`mmap_size = ${options.mmapSize}`)
    // Only this connection has it: a statement that calls it never goes to a reader thread or the store's client.
    const score = makeScoreFunction()
    db.function(SCORE_FUNCTION, { deterministic: true, varargs: true }, score.any)
    db.function(VECTOR_SCORE_FUNCTION, { deterministic: true, varargs: true }, score.vector)
  })

/** A connection `make` opens, closed with the scope, seen through `view`. */
const scoped = <A>(make: () => Native, view: (db: Native) => A): Effect.Effect<A, unknown, Scope.Scope> =>
  Effect.map(Effect.acquireRelease(Effect.try(make), (db) => Effect.sync(() => db.close())), view)

/**
 * Opens the connection for the life of the scope, or fails (the store then reads through its own connection). The
 * file must exist: the store has opened and migrated it first.
 */
export const openConnection = (
  filename: string,
  options: { readonly busyMs: number; readonly mmapSize: number }
): Effect.Effect<Connection, unknown, Scope.Scope> =>
  scoped(
    () => connect(filename, options),
    (db): Connection => ({
      prepare: (sql) => {
        const statement = db.prepare(sql)
        if (!hasMethods(statement, "all")) throw new Error("better-sqlite3 prepared no statement")
        return { all: (...params) => toArray(statement.all(...params)) }
      }
    })
  )

const toArray = (rows: unknown): ReadonlyArray<unknown> => {
  if (!Array.isArray(rows)) throw new Error("better-sqlite3 returned no rows")
  return rows
}

/** A statement the store writes through: run with positional parameters, or read its first row (`undefined`: none). */
export interface WriteStatement {
  readonly run: (...params: ReadonlyArray<unknown>) => void
  readonly get: (...params: ReadonlyArray<unknown>) => unknown
}

/** The slice of a better-sqlite3 connection the store writes through (see `directWrites.ts`). */
export interface WriteConnection {
  readonly prepare: (sql: string) => WriteStatement
  /** Whether a transaction is open (SQLite may have rolled one back on its own, e.g. after a failed commit). */
  readonly inTransaction: () => boolean
  readonly close: () => void
}

const connectWriter = (filename: string, options: { readonly mmapSize: number }): Native =>
  // Timeout 0: a write lock held elsewhere is never waited for here (the caller takes the store's own path then).
  open(filename, { fileMustExist: true, timeout: 0 }, (db) => {
    db.pragma("busy_timeout = 0")
    // The store's own connection commits with the same setting: both write one file under one durability promise.
    db.pragma("synchronous = NORMAL")
    // A number computed by the store.
    db.pragma(`mmap_size = ${options.mmapSize}`)
  })

/**
 * A read-write connection to the store's file in the caller's thread, for the life of the scope, or a failure (the
 * store then writes through its own connection only). The file must exist, migrated: the store opened it first.
 */
export const openWriteConnection = (
  filename: string,
  options: { readonly mmapSize: number }
): Effect.Effect<WriteConnection, unknown, Scope.Scope> =>
  scoped(
    () => connectWriter(filename, options),
    (db): WriteConnection => ({
      prepare: (sql) => {
        const statement = db.prepare(sql)
        if (!hasMethods(statement, "run", "get")) throw new Error("better-sqlite3 prepared no statement")
        return {
          run: (...params) => {
            statement.run(...params)
          },
          get: (...params) => statement.get(...params)
        }
      },
      inTransaction: () => Reflect.get(db, "inTransaction") === true,
      close: () => {
        db.close()
      }
    })
  )
