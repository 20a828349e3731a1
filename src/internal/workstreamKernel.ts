/**
 * The record and message methods of the WorkstreamStore kernel (`WorkstreamStore.make`): decoding, ids, time,
 * versions and errors, over a driver's primitives. The fork and search methods are in `workstreamBranch.ts`.
 */
import { DateTime, Effect, Either, Option } from "effect"
import { Conflict, InvalidInput, NotFound, StorageError } from "../Errors.js"
import { nextId, SCRATCH_ID, WorkstreamId } from "../Ids.js"
import type { JsonValue } from "../Json.js"
import { DeleteOptions, NewScratch } from "../Workstream.js"
import type {
  DeleteOptions as DeleteOptionsInput,
  ListOptions,
  LoadOptions,
  Message,
  NewMessage,
  NewScratch as NewScratchInput,
  NewWorkstream,
  PromoteInput,
  UpdateOptions,
  WorkstreamUpdate
} from "../Workstream.js"
import type { Driver } from "./workstreamDriver.js"
import { decodeCursor } from "./cursor.js"
import { decodeInput } from "./decode.js"
import { conversation, madeConversation, resultCount, resultRecord, tracing } from "./semconv.js"
import { applyUpdate, buildWorkstream, decodeMessages, decoders, mint, page, repeatedId, seal, withAppended } from "./workstream.js"
import type { NewMessageInput, Unsealed } from "./workstream.js"
import { createBranch } from "./workstreamBranch.js"
import { branchRefusal, hasBranches, loadPath, sharedPoint } from "./workstreamTree.js"

const decodeScratch = decodeInput(NewScratch, "WorkstreamStore.ensureScratch")
const decodeDelete = decodeInput(DeleteOptions, "WorkstreamStore.delete")

const scratchRecord = (input: typeof NewScratch.Type, now: DateTime.Utc) =>
  buildWorkstream({ ...input, title: input.title ?? "Scratch", state: "active", tags: input.tags ?? [] }, SCRATCH_ID, now, true)

type Span = { readonly attributes: { readonly "arawn.backend": string } }

const notFound = (id: WorkstreamId) => new NotFound({ entity: "workstream", id })

/** create, ensureScratch, get, list, update and delete over `driver`. */
export const workstreamMethods = (driver: Driver, span: Span) => {
  const { fn } = tracing(span, span.attributes["arawn.backend"])
  const conv = conversation(span.attributes["arawn.backend"])
  const made = madeConversation(span.attributes["arawn.backend"])
  const create = fn("WorkstreamStore.create")(function*(raw: NewWorkstream) {
    const method = "WorkstreamStore.create"
    const input = yield* decoders.create(raw)
    if (input.id === SCRATCH_ID) {
      return yield* new InvalidInput({ method, message: "use ensureScratch for the scratch workstream" })
    }
    const id = input.id ?? (yield* nextId(WorkstreamId))
    const record = buildWorkstream(input, id, yield* DateTime.now)
    // A copy of a store recreates a branch as a branch: it shares its source's messages, which must be there.
    const point = sharedPoint(record)
    if (point !== undefined && record.prunedThrough !== undefined) {
      return yield* new InvalidInput({ method, message: "a branch cannot be created pruned: import its messages whole" })
    }
    if (point !== undefined) {
      const branched = yield* createBranch(driver, method, record, record.updatedAt)
      return branched._tag === "Branched" ? branched.workstream : yield* branchRefusal(method, point.workstreamId, point.seq, branched)
    }
    const stored = yield* driver.insert(record)
    if (Option.isNone(stored)) return yield* new InvalidInput({ method, message: `workstream ${id} already exists` })
    return stored.value
  }, made)

  const ensureScratch = fn("WorkstreamStore.ensureScratch")(function*(raw?: NewScratchInput) {
    const input = yield* decodeScratch(raw ?? {})
    const existing = yield* driver.get(SCRATCH_ID)
    if (Option.isSome(existing)) return existing.value
    const created = yield* driver.insert(scratchRecord(input, yield* DateTime.now))
    if (Option.isSome(created)) return created.value
    // Another caller created it between the two reads; scratch is never deleted, so it is there now.
    const raced = yield* driver.get(SCRATCH_ID)
    if (Option.isSome(raced)) return raced.value
    return yield* new StorageError({ method: "WorkstreamStore.ensureScratch", cause: new Error("scratch was taken but cannot be read") })
  }, made)

  const get = fn("WorkstreamStore.get")(function*(rawId: WorkstreamId) {
    return yield* driver.get(yield* decoders.id("WorkstreamStore.get")(rawId))
  }, conv)

  const list = fn("WorkstreamStore.list")(function*(raw?: ListOptions) {
    const o = yield* decoders.list(raw ?? {})
    const at = o.cursor === undefined ? undefined : yield* decodeCursor("WorkstreamStore.list", o.cursor)
    const rows = yield* driver.list({
      state: o.state,
      archived: o.archived,
      tag: o.tag,
      forkedFrom: o.forkedFrom,
      after: at === undefined ? undefined : { updatedAtMillis: at.millis, id: at.id },
      limit: o.limit + 1
    })
    return page(rows, o.limit)
  })

  const update = fn("WorkstreamStore.update")(function*(rawId: WorkstreamId, raw: WorkstreamUpdate, rawOptions?: UpdateOptions) {
    const method = "WorkstreamStore.update"
    const id = yield* decoders.id(method)(rawId)
    const patch = yield* decoders.update(raw)
    const { expected } = yield* decoders.updateOptions(rawOptions ?? {})
    if (id === SCRATCH_ID && patch.state === "archived") {
      return yield* new InvalidInput({ method, message: "the scratch workstream cannot be archived or deleted" })
    }
    const now = yield* DateTime.now
    // The driver runs `modify` on the record it holds locked, so the version check and the write are one step.
    const updated = yield* driver.update(id, (current) =>
      expected === undefined || current.version === expected
        ? Either.right(applyUpdate(current, patch, now))
        : Either.left(new Conflict({ entity: "workstream", id, expected: String(expected), actual: String(current.version) })))
    if (Option.isNone(updated)) return yield* notFound(id)
    return updated.value
  }, conv)

  const delete_ = fn("WorkstreamStore.delete")(function*(rawId: WorkstreamId, rawOptions?: DeleteOptionsInput) {
    const method = "WorkstreamStore.delete"
    const id = yield* decoders.id(method)(rawId)
    const { subtree } = yield* decodeDelete(rawOptions ?? {})
    if (id === SCRATCH_ID) {
      return yield* new InvalidInput({ method, message: "the scratch workstream cannot be archived or deleted" })
    }
    const result = yield* driver.delete(id, subtree)
    if (result._tag === "HasBranches") {
      return yield* hasBranches(method, id, result.branches, "delete them first, or delete with its subtree (`{ subtree: true }`, `--subtree`) to delete them too")
    }
  }, conv)

  const archive = fn("WorkstreamStore.archive")(function*(rawId: WorkstreamId) {
    return yield* update(rawId, { state: "archived" })
  }, conv)

  const unarchive = fn("WorkstreamStore.unarchive")(function*(rawId: WorkstreamId) {
    return yield* update(rawId, { state: "active" })
  }, conv)

  return { create, ensureScratch, get, list, update, delete: delete_, archive, unarchive }
}

const isList = (v: JsonValue): v is ReadonlyArray<JsonValue> => Array.isArray(v)

/** Whether two JSON values are equal, object keys in any order (a store may keep metadata's keys reordered). */
export const sameJson = (a: JsonValue | undefined, b: JsonValue | undefined): boolean => {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (isList(a) || isList(b)) {
    return isList(a) && isList(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
  }
  const keys = Object.keys(a)
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]))
}

/**
 * Whether `stored` is what appending `input` (as minted: `u`) would have stored: the caller's fields, and the
 * timestamp only when the caller gave one (the store's own clock differs between a write and its retry).
 */
const sameWrite = (input: NewMessageInput, u: Unsealed, stored: Message): boolean =>
  stored.role === u.role && stored.content === u.content && stored.sessionId === u.sessionId &&
  sameJson(stored.metadata, u.metadata) &&
  (input.timestamp === undefined || stored.timestamp.epochMillis === input.timestamp.epochMillis)

/**
 * A batch that names ids the workstream holds: the stored messages when it is a retry of what is stored (every
 * message of it stored, each the same write), InvalidInput otherwise.
 */
const retried = (
  method: string,
  id: WorkstreamId,
  inputs: ReadonlyArray<NewMessageInput>,
  unsealed: ReadonlyArray<Unsealed>,
  taken: ReadonlyArray<Message>
) =>
  Effect.suspend(() => {
    const byId = new Map(taken.map((m) => [m.id, m]))
    const out: Array<Message> = []
    for (const [i, u] of unsealed.entries()) {
      const stored = byId.get(u.id)
      if (stored === undefined) continue
      if (!sameWrite(inputs[i]!, u, stored)) {
        return Effect.fail(new InvalidInput({ method, message: `message id ${u.id} already exists in workstream ${id} with different fields` }))
      }
      out.push(stored)
    }
    if (out.length === unsealed.length) return Effect.succeed<ReadonlyArray<Message>>(out)
    const held = out[0]?.id ?? taken[0]?.id
    return Effect.fail(new InvalidInput({
      method,
      message: `message id ${held} already exists in workstream ${id}, and the batch also holds messages it does not (a batch is stored whole or not at all)`
    }))
  })

/** The message methods and promoteScratch over `driver`. */
export const messageMethods = (driver: Driver, span: Span) => {
  const { fn } = tracing(span, span.attributes["arawn.backend"])
  const conv = conversation(span.attributes["arawn.backend"])
  const made = madeConversation(span.attributes["arawn.backend"])
  const append = (method: string, rawId: WorkstreamId, raw: ReadonlyArray<NewMessage>) =>
    Effect.gen(function*() {
      const id = yield* decoders.id(method)(rawId)
      const inputs = yield* decodeMessages(method, raw)
      if (inputs.length === 0) {
        if (Option.isNone(yield* driver.get(id))) return yield* notFound(id)
        return []
      }
      const clock = yield* DateTime.now
      const unsealed = yield* mint(inputs, clock)
      // An import (every message stamped by its source) is dated by its messages, so a copied workstream keeps
      // the updatedAt it had; anything else is dated by the Clock.
      const now = inputs.every((input) => input.timestamp !== undefined)
        ? unsealed.reduce((latest, u) => (u.timestamp.epochMillis > latest.epochMillis ? u.timestamp : latest), unsealed[0]!.timestamp)
        : clock
      const repeated = repeatedId(unsealed)
      if (repeated !== undefined) {
        return yield* new InvalidInput({ method, message: `message id ${repeated} appears twice in the batch` })
      }
      const result = yield* driver.append(id, {
        ids: unsealed.map((u) => u.id),
        given: inputs.flatMap((input) => (input.id !== undefined ? [input.id] : [])),
        seal: (firstSeq) => seal(id, unsealed, firstSeq),
        now
      })
      switch (result._tag) {
        case "Appended":
          return result.messages
        case "NotFound":
          return yield* notFound(id)
        case "Taken":
          return yield* retried(method, id, inputs, unsealed, result.messages)
      }
    })

  const storeMessage = fn("WorkstreamStore.storeMessage")(function*(id: WorkstreamId, input: NewMessage) {
    const [message] = yield* append("WorkstreamStore.storeMessage", id, [input])
    return message!
  }, conv, resultRecord)

  const storeMessages = fn("WorkstreamStore.storeMessages")(
    function*(id: WorkstreamId, inputs: ReadonlyArray<NewMessage>) {
      return yield* append("WorkstreamStore.storeMessages", id, inputs)
    },
    conv, resultCount
  )

  const loadMessages = fn("WorkstreamStore.loadMessages")(function*(rawId: WorkstreamId, raw?: LoadOptions) {
    const id = yield* decoders.id("WorkstreamStore.loadMessages")(rawId)
    const query = yield* decoders.load(raw ?? {})
    const loaded = yield* loadPath("WorkstreamStore.loadMessages", driver, id, query)
    if (Option.isNone(loaded)) return yield* notFound(id)
    return loaded.value
  }, conv, resultCount)

  const promoteScratch = fn("WorkstreamStore.promoteScratch")(function*(raw: PromoteInput) {
    const input = yield* decoders.promote(raw)
    const id = yield* nextId(WorkstreamId)
    const now = yield* DateTime.now
    const fields = {
      title: input.title,
      state: "active" as const,
      tags: input.tags,
      ...(input.defaultModel !== undefined ? { defaultModel: input.defaultModel } : {})
    }
    const promoted = yield* driver.promote({
      source: SCRATCH_ID,
      now,
      target: (moved) => withAppended(buildWorkstream(fields, id, now), moved.count, moved.lastMessageAt, now)
    })
    switch (promoted._tag) {
      case "Promoted":
        return promoted.workstream
      case "Empty":
        return yield* new InvalidInput({ method: "WorkstreamStore.promoteScratch", message: "the scratch workstream has no messages to promote" })
      case "HasBranches":
        return yield* hasBranches("WorkstreamStore.promoteScratch", SCRATCH_ID, promoted.branches, "promoting would move them from under the branches; delete the branches first")
    }
  }, made)

  return { storeMessage, storeMessages, loadMessages, promoteScratch }
}

