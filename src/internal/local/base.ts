/**
 * A branch's base on the local store: how many messages of its path come before its log's first line, and the
 * counters of its log when that holds nothing yet (after a fork, or when its index is rebuilt from an empty log).
 */
import { Effect, Option } from "effect"
import type { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import { db } from "./files.js"
import type { LogCounters, LogState } from "./schema.js"
import type { Local } from "./store.js"

/** The timestamp of message `seq` of `id`'s path, read through its index and its ancestors'; `None` when there is none. */
export const timestampOnPath = (local: Local, method: string, id: WorkstreamId, seq: number) =>
  Effect.gen(function*() {
    let at: WorkstreamId = id
    for (let depth = 0; depth < 100_000; depth++) {
      const state = yield* db(method)(local.q.logState(at))
      if (Option.isNone(state)) return Option.none<number>()
      if (seq > state.value.base) return yield* db(method)(local.q.timestampAt(state.value.key, seq))
      // Pruned away, or below a root's first message.
      if (state.value.inherits_from === null || seq > state.value.fork_seq) return Option.none<number>()
      at = state.value.inherits_from
    }
    return Option.none<number>()
  })

/**
 * The counters of a log with no line of its own: a branch's base (its last shared message's time), a pruned log's
 * (the time it had, which no line tells any more), or nothing.
 */
export const emptyCounters = (local: Local, method: string, state: LogState) =>
  Effect.gen(function*(): Effect.fn.Return<LogCounters, StorageError> {
    if (state.base === 0) return { message_count: 0, log_bytes: 0, log_lines: 0, last_message_at: null }
    if (state.inherits_from === null || state.base > state.fork_seq) {
      return { message_count: state.base, log_bytes: 0, log_lines: 0, last_message_at: state.last_message_at }
    }
    const last = yield* timestampOnPath(local, method, state.inherits_from, state.base)
    return { message_count: state.base, log_bytes: 0, log_lines: 0, last_message_at: Option.getOrNull(last) }
  })

