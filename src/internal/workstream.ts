import { DateTime, Option } from "effect"
import type { SessionId, WorkstreamId } from "../Ids.js"
import { normaliseTags } from "./memory.js"
import type { Position } from "./cursor.js"
import { encodeCursor } from "./cursor.js"
import { setOrClear } from "./patch.js"
import { Workstream } from "../Workstream.js"
import type { LoadOptions, NewWorkstream, WorkstreamPage, WorkstreamUpdate } from "../Workstream.js"

export type NewWorkstreamInput = typeof NewWorkstream.Type
export type WorkstreamUpdateInput = typeof WorkstreamUpdate.Type
export type LoadOptionsInput = typeof LoadOptions.Type

export const buildWorkstream = (
  input: NewWorkstreamInput,
  id: WorkstreamId,
  now: DateTime.Utc,
  isScratch = false
): Workstream =>
  new Workstream({
    id,
    title: input.title,
    state: input.state,
    isScratch,
    tags: normaliseTags(input.tags),
    createdAt: now,
    updatedAt: now,
    messageCount: 0,
    ...(input.summary !== undefined ? { summary: input.summary } : {}),
    ...(input.defaultModel !== undefined ? { defaultModel: input.defaultModel } : {})
  })

/** The workstream after `patch`: present fields replace, null clears, `updatedAt` moves to `now`. */
export const applyUpdate = (ws: Workstream, patch: WorkstreamUpdateInput, now: DateTime.Utc): Workstream =>
  new Workstream({
    id: ws.id,
    title: patch.title ?? ws.title,
    state: patch.state ?? ws.state,
    isScratch: ws.isScratch,
    tags: patch.tags !== undefined ? normaliseTags(patch.tags) : ws.tags,
    createdAt: ws.createdAt,
    updatedAt: now,
    messageCount: ws.messageCount,
    ...setOrClear("summary", patch.summary, ws.summary),
    ...setOrClear("defaultModel", patch.defaultModel, ws.defaultModel),
    ...(ws.lastMessageAt !== undefined ? { lastMessageAt: ws.lastMessageAt } : {})
  })

/** The workstream after `count` more messages, the last stamped `last`. */
export const withAppended = (ws: Workstream, count: number, last: DateTime.Utc, now: DateTime.Utc): Workstream =>
  new Workstream({ ...ws, messageCount: ws.messageCount + count, lastMessageAt: last, updatedAt: now })

/** The workstream with an empty log. */
export const emptied = (ws: Workstream, now: DateTime.Utc): Workstream => {
  const { lastMessageAt: _dropped, ...rest } = ws
  return new Workstream({ ...rest, messageCount: 0, updatedAt: now })
}

/** updatedAt desc, then id asc: the order of `list`. */
export const byRecency = (a: Workstream, b: Workstream): number =>
  b.updatedAt.epochMillis - a.updatedAt.epochMillis || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** Whether `ws` comes after the keyset position in `byRecency` order. */
export const after = (ws: Workstream, p: Position): boolean =>
  ws.updatedAt.epochMillis < p.millis || (ws.updatedAt.epochMillis === p.millis && ws.id > p.id)

/** One page from an already filtered, sorted list. */
export const page = (sorted: ReadonlyArray<Workstream>, limit: number): WorkstreamPage => {
  const items = sorted.slice(0, limit)
  const last = items[items.length - 1]
  return {
    items,
    nextCursor: sorted.length > limit && last !== undefined
      ? Option.some(encodeCursor({ millis: last.updatedAt.epochMillis, id: last.id }))
      : Option.none()
  }
}

/** Whether a message passes `loadMessages`' filters (limit aside). */
export const messageMatches = (
  m: { readonly seq: number; readonly timestamp: DateTime.Utc; readonly sessionId?: SessionId | undefined },
  o: LoadOptionsInput
): boolean =>
  (o.beforeSeq === undefined || m.seq < o.beforeSeq) &&
  (o.afterSeq === undefined || m.seq > o.afterSeq) &&
  (o.since === undefined || m.timestamp.epochMillis >= o.since.epochMillis) &&
  (o.sessionId === undefined || m.sessionId === o.sessionId)
