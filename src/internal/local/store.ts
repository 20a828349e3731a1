/**
 * What every module of the local store works with: the write connection (used only under the write lock) and a
 * read connection with their statements, the paths, the log handles and the write lock.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { WorkstreamId } from "../../Ids.js"
import type { Paths } from "./files.js"
import type { Handles } from "./handles.js"
import type { Queries } from "./queries.js"
import type { LogState } from "./schema.js"
import type { Writer } from "./writer.js"

export interface Local {
  /** The write connection: every statement on it runs inside `writer.exclusive`. */
  readonly sql: SqlClient.SqlClient
  /** Statements on the write connection (inside the write lock, so state read through them is current). */
  readonly q: Queries
  /** Statements on the read connection: a WAL snapshot, never blocked by a writer, never writing. */
  readonly r: Queries
  readonly paths: Paths
  /** The tables' prefix: several stores may share one directory, each under its own (see `record.ts`). */
  readonly prefix: string
  /** Open log handles, shared by every call. */
  readonly handles: Handles
  readonly writer: Writer
  /**
   * Log states of workstreams this process appended to, read and written only under the write lock, and valid
   * only while no other connection has committed: the writer empties it whenever `PRAGMA data_version` moves, or
   * a transaction of its own rolls back; every write that changes a log state but an append drops its entry.
   */
  readonly states: Map<WorkstreamId, LogState>
}
