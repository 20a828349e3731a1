/**
 * The log state (key, counters, indexed bytes) of a workstream: read from SQLite, and cached for workstreams this
 * process appends to, where every change passes under the workstream's lock.
 */
import { Effect, Option } from "effect"
import { NotFound } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { sizeOf } from "../logfile.js"
import { db, io } from "./files.js"
import { reconcile } from "./reconcile.js"
import type { Local } from "./store.js"

/** The log state from SQLite; NotFound when the workstream does not exist. */
export const requireLogState = (local: Local, method: string, id: WorkstreamId) =>
  Effect.flatMap(db(method)(local.q.logState(id)), Option.match({
    onNone: () => Effect.fail(new NotFound({ entity: "workstream", id })),
    onSome: Effect.succeed
  }))

/** The log state, from the cache when present; readers never fill the cache (a stale fill could race an append). */
export const currentState = (local: Local, method: string, id: WorkstreamId) =>
  Effect.suspend(() => {
    const cached = local.states.get(id)
    return cached !== undefined ? Effect.succeed(cached) : requireLogState(local, method, id)
  })

/**
 * The log state for a caller holding the lock: cached, or read and cached after checking that the log is exactly
 * as long as the index (catching up first when it is not).
 */
export const lockedState = (local: Local, method: string, id: WorkstreamId) =>
  Effect.gen(function*() {
    const cached = local.states.get(id)
    if (cached !== undefined) return cached
    let state = yield* requireLogState(local, method, id)
    if ((yield* io(method, () => sizeOf(local.paths.logOf(id)))) !== state.log_bytes) {
      yield* reconcile(local, method, id, false)
      state = yield* requireLogState(local, method, id)
    }
    local.states.set(id, state)
    return state
  })
