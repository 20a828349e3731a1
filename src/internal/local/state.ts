/**
 * The log state (key, counters, indexed bytes) of a workstream, read inside the write lock where it is current:
 * nothing cached in process is trusted, since another process may have written since.
 */
import { Effect, Option } from "effect"
import { NotFound } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { sizeOf } from "../logfile.js"
import { db, io } from "./files.js"
import { reconcile } from "./reconcile.js"
import type { Local } from "./store.js"

/** The log state through `queries`; NotFound when the workstream does not exist. */
export const requireLogState = (local: Local, method: string, id: WorkstreamId, queries = local.q) =>
  Effect.flatMap(db(method)(queries.logState(id)), Option.match({
    onNone: () => Effect.fail(new NotFound({ entity: "workstream", id })),
    onSome: Effect.succeed
  }))

/**
 * The log state once the index is level with the log (catching up first when a crashed writer left lines past the
 * indexed end). Call under the write lock.
 */
export const settledState = (local: Local, method: string, id: WorkstreamId) =>
  Effect.gen(function*() {
    const state = yield* requireLogState(local, method, id)
    if ((yield* io(method, () => sizeOf(local.paths.logOf(id)))) === state.log_bytes) return state
    yield* reconcile(local, method, id, false)
    return yield* requireLogState(local, method, id)
  })
