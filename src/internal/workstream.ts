/**
 * The storage-independent rules of `WorkstreamStore`: record construction, patch application, list order and
 * pages, load filters, input decoding and message stamping. Used by the kernel and by drivers alike.
 */
import { DateTime, Effect, Either, Option } from "effect"
import { InvalidInput } from "../Errors.js"
import { IdGenerator, MessageId, WorkstreamId } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import { decodeEither, decodeInput } from "./decode.js"
import { normaliseTags } from "./memoryRules.js"
import type { Position } from "./cursor.js"
import { encodeCursor } from "./cursor.js"
import { setOrClear } from "./patch.js"
import {
  ListOptions,
  LoadOptions,
  Message,
  NewMessage,
  NewWorkstream,
  PromoteInput,
  UpdateOptions,
  Workstream,
  WorkstreamUpdate
} from "../Workstream.js"
import type { WorkstreamPage } from "../Workstream.js"

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
    createdAt: input.createdAt ?? now,
    updatedAt: input.updatedAt ?? input.createdAt ?? now,
    version: input.version ?? 0,
    messageCount: input.prunedThrough ?? 0,
    ...(input.prunedThrough !== undefined && input.prunedThrough > 0 ? { prunedThrough: input.prunedThrough } : {}),
    ...(input.summary !== undefined ? { summary: input.summary } : {}),
    ...(input.defaultModel !== undefined ? { defaultModel: input.defaultModel } : {}),
    ...(input.forkedFrom !== undefined ? { forkedFrom: input.forkedFrom } : {})
  })

/** The workstream after `patch`: present fields replace, null clears, `updatedAt` moves to `now`, `version` up one. */
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
    version: ws.version + 1,
    ...setOrClear("summary", patch.summary, ws.summary),
    ...setOrClear("defaultModel", patch.defaultModel, ws.defaultModel),
    ...(ws.lastMessageAt !== undefined ? { lastMessageAt: ws.lastMessageAt } : {}),
    // Lineage is no field of a patch: a fork stays a fork, a branch keeps sharing its source's messages.
    ...(ws.forkedFrom !== undefined ? { forkedFrom: ws.forkedFrom } : {}),
    ...(ws.prunedThrough !== undefined ? { prunedThrough: ws.prunedThrough } : {})
  })

/** The workstream after `count` more messages, the last stamped `last`. */
export const withAppended = (ws: Workstream, count: number, last: DateTime.Utc, now: DateTime.Utc): Workstream =>
  new Workstream({
    ...ws,
    messageCount: ws.messageCount + count,
    lastMessageAt: last,
    updatedAt: now.epochMillis > ws.updatedAt.epochMillis ? now : ws.updatedAt
  })

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

// --- kernel helpers: decoding and stamping, shared by `WorkstreamStore.make` only ---------------------------------

export const decoders = {
  id: (method: string) => decodeInput(WorkstreamId, method),
  create: decodeInput(NewWorkstream, "WorkstreamStore.create"),
  update: decodeInput(WorkstreamUpdate, "WorkstreamStore.update"),
  updateOptions: decodeInput(UpdateOptions, "WorkstreamStore.update"),
  list: decodeInput(ListOptions, "WorkstreamStore.list"),
  load: decodeInput(LoadOptions, "WorkstreamStore.loadMessages"),
  promote: decodeInput(PromoteInput, "WorkstreamStore.promoteScratch")
}

/** The last `limit` of `matching` (all without a limit). */
export const lastN = <A>(matching: ReadonlyArray<A>, limit: number | undefined): ReadonlyArray<A> =>
  limit === undefined || matching.length <= limit ? matching : matching.slice(matching.length - limit)

const decodeNewMessage = decodeEither(NewMessage)

export type NewMessageInput = typeof NewMessage.Type

/** Decodes a batch of new messages, naming the failing index. */
export const decodeMessages = (method: string, inputs: ReadonlyArray<unknown>) =>
  Effect.suspend(() => {
    // Synchronous per item: appends decode every message, so per-item Effects would dominate a batch's cost.
    const out: Array<NewMessageInput> = []
    for (const [i, input] of inputs.entries()) {
      const decoded = decodeNewMessage(input)
      if (Either.isLeft(decoded)) {
        return Effect.fail(new InvalidInput({ method, message: `message ${i}: ${decoded.left}` }))
      }
      out.push(decoded.right)
    }
    return Effect.succeed<ReadonlyArray<NewMessageInput>>(out)
  })

/** A message with everything but its seq: what the kernel mints before the driver places it in the log. */
export interface Unsealed {
  readonly id: MessageId
  readonly role: NewMessageInput["role"]
  readonly content: string
  readonly timestamp: DateTime.Utc
  readonly sessionId?: SessionId
  readonly metadata?: NewMessageInput["metadata"]
}

/** Gives every input its id (from `IdGenerator` unless given) and timestamp (`now` unless given). */
export const mint = (inputs: ReadonlyArray<NewMessageInput>, now: DateTime.Utc) =>
  Effect.gen(function*() {
    const ids = yield* IdGenerator
    const out: Array<Unsealed> = []
    for (const input of inputs) {
      out.push({
        id: input.id ?? MessageId.make(yield* ids.next, true),
        role: input.role,
        content: input.content,
        timestamp: input.timestamp ?? now,
        ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
        ...(input.metadata !== undefined ? { metadata: input.metadata } : {})
      })
    }
    return out
  })

/** The minted messages as messages of `wsId` at consecutive seqs from `firstSeq`. */
export const seal = (wsId: WorkstreamId, unsealed: ReadonlyArray<Unsealed>, firstSeq: number): ReadonlyArray<Message> =>
  // Every field is already decoded or minted (ids are UUIDs by IdGenerator's contract), so validating again would
  // only add ~5us a message to every append.
  unsealed.map((u, i) => new Message({ ...u, workstreamId: wsId, seq: firstSeq + i }, true))

/** The first id that appears twice in the batch, if any. */
export const repeatedId = (unsealed: ReadonlyArray<Unsealed>): MessageId | undefined => {
  const seen = new Set<string>()
  for (const u of unsealed) {
    if (seen.has(u.id)) return u.id
    seen.add(u.id)
  }
  return undefined
}
