/**
 * The log state (key, counters, indexed bytes) of a workstream, read inside the write lock where it is current:
 * nothing cached in process is trusted, since another process may have written since.
 */
import { Effect, Option } from "effect"
import { NotFound } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { db } from "./files.js"
import type { Local } from "./store.js"

/** The log state through `queries`; NotFound when the workstream does not exist. */
export const requireLogState = (local: Local, method: string, id: WorkstreamId, queries = local.q) =>
  Effect.flatMap(db(method)(queries.logState(id)), Option.match({
    onNone: () => Effect.fail(new NotFound({ entity: "workstream", id })),
    onSome: Effect.succeed
  }))
