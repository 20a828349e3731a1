/** Retention policies of the local store (`<prefix>_workstream_retention`) and the age query prune asks for. */
import { Effect, Option } from "effect"
import type { Driver } from "../../WorkstreamStore.js"
import { entryOf, keyOf, policyOf } from "../retentionRow.js"
import { db } from "./files.js"
import type { Local } from "./store.js"

/** The retention primitives over an open store: writes under the write lock, reads without it. */
export const retentionDriver = (local: Local): Pick<Driver, "setRetention" | "getRetention" | "retentionPolicies" | "agedThrough"> => ({
  setRetention: (target, policy) => {
    const m = "WorkstreamStore.setRetention"
    const { kind, target: name } = keyOf(target)
    return local.writer.exclusive(m, Effect.gen(function*() {
      if ("workstreamId" in target && Option.isNone(yield* db(m)(local.q.logState(target.workstreamId)))) return false
      yield* db(m)(policy === null
        ? local.q.clearRetention(kind, name)
        : local.q.setRetention(kind, name, policy.maxAge ?? null, policy.maxMessages ?? null))
      return true
    }), true)
  },
  getRetention: (target) => {
    const { kind, target: name } = keyOf(target)
    return Effect.map(db("WorkstreamStore.getRetention")(local.r.retention({ kind, target: name })), (rows) =>
      Option.map(Option.fromNullable(rows[0]), policyOf))
  },
  retentionPolicies: () => Effect.map(db("WorkstreamStore.prune")(local.r.retention({})), (rows) => rows.map(entryOf)),
  agedThrough: (id, cutoff) =>
    db("WorkstreamStore.prune")(Effect.gen(function*() {
      const state = yield* local.r.logState(id)
      if (Option.isNone(state)) return 0
      const first = yield* local.r.agedThrough(state.value.key, cutoff)
      return Option.match(first, { onNone: () => state.value.message_count, onSome: (seq) => seq - 1 })
    }))
})
