import * as Reactivity from "@effect/experimental/Reactivity"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect } from "effect"
import { StorageError } from "../Errors.js"

/**
 * Opens a SQLite connection, scoped. `SqliteClient.make` opens the file and sets its pragmas outside any error
 * channel, so a file that is not a database, a directory at the path or a missing permission would surface as a
 * defect: here it is the StorageError the caller's layer promises.
 */
export const openSqlite = (method: string, config: SqliteClient.SqliteClientConfig) =>
  SqliteClient.make(config).pipe(
    Effect.provide(Reactivity.layer),
    Effect.catchAllDefect((cause) => Effect.fail(new StorageError({ method, cause }))),
    Effect.mapError((cause) => cause instanceof StorageError ? cause : new StorageError({ method, cause }))
  )
