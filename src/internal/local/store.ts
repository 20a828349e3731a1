/**
 * What every module of the local store works with: the connection and its statements, the paths, the log handle
 * pool, the per-workstream locks and the log-state cache.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import type { WorkstreamId } from "../../Ids.js"
import type { HandlePool } from "../logfile.js"
import type { Paths } from "./files.js"
import type { Locks } from "./locks.js"
import type { Queries } from "./queries.js"
import type { LogState } from "./schema.js"

export interface Local {
  readonly sql: SqlClient.SqlClient
  readonly q: Queries
  readonly paths: Paths
  readonly pool: HandlePool
  readonly locks: Locks
  /**
   * Log states (count, indexed bytes) of workstreams appended to, valid while the store is open: every change goes
   * through this process under the workstream's lock, which is also the only place the cache is filled.
   */
  readonly states: Map<WorkstreamId, LogState>
}

/** Commits `self` and makes it survive power loss (a checkpoint syncs the WAL first). */
export const durably = (local: Local) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.zipLeft(local.sql.withTransaction(self), local.sql`PRAGMA wal_checkpoint(PASSIVE)`)
