/**
 * Long-lived conversation threads and their append-only message logs.
 *
 * @since 0.1.0
 */
import { Context, DateTime, Effect, Either, Layer, Option } from "effect"
import type { StorageError } from "./Errors.js"
import { InvalidInput, NotFound } from "./Errors.js"
import { IdGenerator, MessageId, nextId, SCRATCH_ID, WorkstreamId } from "./Ids.js"
import { decodeCursor } from "./internal/cursor.js"
import { decodeEither, decodeInput } from "./internal/decode.js"
import {
  after,
  applyUpdate,
  buildWorkstream,
  byRecency,
  emptied,
  messageMatches,
  page,
  withAppended
} from "./internal/workstream.js"
import type { WorkstreamPage } from "./Workstream.js"
import {
  ListOptions,
  LoadOptions,
  Message,
  NewMessage,
  NewWorkstream,
  PromoteInput,
  Workstream,
  WorkstreamUpdate
} from "./Workstream.js"

/** @category services */
export class WorkstreamStore extends Context.Tag("arawn-store/WorkstreamStore")<WorkstreamStore, {
  /** Creates a workstream (id generated unless given; a taken id or `scratch` is InvalidInput). */
  readonly create: (input: NewWorkstream) => Effect.Effect<Workstream, InvalidInput | StorageError>
  /** Returns the `scratch` workstream, creating it on first use; idempotent. */
  readonly ensureScratch: () => Effect.Effect<Workstream, StorageError>
  /** `None` when no workstream has this id. */
  readonly get: (id: WorkstreamId) => Effect.Effect<Option.Option<Workstream>, InvalidInput | StorageError>
  /** One page ordered by updatedAt desc then id; `nextCursor` reads the next page without repeats. */
  readonly list: (options?: ListOptions) => Effect.Effect<WorkstreamPage, InvalidInput | StorageError>
  /** Applies the update (null clears; tags replace) and bumps updatedAt; NotFound when unknown; scratch cannot be archived. */
  readonly update: (id: WorkstreamId, update: WorkstreamUpdate) => Effect.Effect<Workstream, NotFound | InvalidInput | StorageError>
  /** Hard-deletes metadata, tags and the log; idempotent; deleting scratch is InvalidInput. */
  readonly delete: (id: WorkstreamId) => Effect.Effect<void, InvalidInput | StorageError>
  /** Appends one message (id, next seq, timestamp assigned); durable when it succeeds; NotFound when unknown. */
  readonly storeMessage: (id: WorkstreamId, input: NewMessage) => Effect.Effect<Message, NotFound | InvalidInput | StorageError>
  /** Appends all or none, with consecutive seqs in input order; an empty batch is a no-op. */
  readonly storeMessages: (
    id: WorkstreamId,
    inputs: ReadonlyArray<NewMessage>
  ) => Effect.Effect<ReadonlyArray<Message>, NotFound | InvalidInput | StorageError>
  /** The LAST `limit` matching messages (all without a limit), oldest to newest; NotFound when unknown. */
  readonly loadMessages: (
    id: WorkstreamId,
    options?: LoadOptions
  ) => Effect.Effect<ReadonlyArray<Message>, NotFound | InvalidInput | StorageError>
  /** Moves every scratch message into a new workstream (rewriting workstreamId, same seqs); scratch is left empty. */
  readonly promoteScratch: (input: PromoteInput) => Effect.Effect<Workstream, InvalidInput | StorageError>
}>() {}

/** @internal */
export const decoders = {
  id: (method: string) => decodeInput(WorkstreamId, method),
  create: decodeInput(NewWorkstream, "WorkstreamStore.create"),
  update: decodeInput(WorkstreamUpdate, "WorkstreamStore.update"),
  list: decodeInput(ListOptions, "WorkstreamStore.list"),
  message: (method: string) => decodeInput(NewMessage, method),
  load: decodeInput(LoadOptions, "WorkstreamStore.loadMessages"),
  promote: decodeInput(PromoteInput, "WorkstreamStore.promoteScratch")
}

/** Scratch is the fallback thread: it can be neither archived nor deleted. @internal */
export const guardScratch = (method: string, id: WorkstreamId, archiving: boolean) =>
  id === SCRATCH_ID && archiving
    ? Effect.fail(new InvalidInput({ method, message: "the scratch workstream cannot be archived or deleted" }))
    : Effect.void

/** The last `limit` of `matching` (all without a limit). @internal */
export const lastN = <A>(matching: ReadonlyArray<A>, limit: number | undefined): ReadonlyArray<A> =>
  limit === undefined || matching.length <= limit ? matching : matching.slice(matching.length - limit)

/** Decodes a batch of new messages, naming the failing index. @internal */
export const decodeMessages = (method: string, inputs: ReadonlyArray<NewMessage>) =>
  Effect.suspend(() => {
    // Synchronous per item: appends decode every message, so per-item Effects would dominate a batch's cost.
    const out: Array<typeof NewMessage.Type> = []
    for (const [i, input] of inputs.entries()) {
      const decoded = decodeNewMessage(input)
      if (Either.isLeft(decoded)) {
        return Effect.fail(new InvalidInput({ method, message: `message ${i}: ${decoded.left}` }))
      }
      out.push(decoded.right)
    }
    return Effect.succeed(out)
  })

const decodeNewMessage = decodeEither(NewMessage)

/** Stamps decoded inputs as messages of `wsId` starting at `firstSeq`. @internal */
export const stampMessages = (
  wsId: WorkstreamId,
  firstSeq: number,
  inputs: ReadonlyArray<typeof NewMessage.Type>
) =>
  Effect.gen(function*() {
    const now = yield* DateTime.now
    const ids = yield* IdGenerator
    const out: Array<Message> = []
    for (const [i, input] of inputs.entries()) {
      out.push(
        // Every field is already decoded (the input) or minted here (ids are UUIDs by IdGenerator's contract), so
        // validating again would only add ~5us a message to every append.
        new Message(
          {
            id: input.id ?? MessageId.make(yield* ids.next, true),
            workstreamId: wsId,
            seq: firstSeq + i,
            role: input.role,
            content: input.content,
            timestamp: input.timestamp ?? now,
            ...(input.sessionId !== undefined ? { sessionId: input.sessionId } : {}),
            ...(input.metadata !== undefined ? { metadata: input.metadata } : {})
          },
          true
        )
      )
    }
    return { messages: out, now }
  })

/**
 * An in-process WorkstreamStore over `Map`s: the test double for callers' own specs. Time comes from `Clock`, ids
 * from `IdGenerator`; it passes the same conformance suite as the local JSONL backend.
 *
 * @category constructors
 */
export const makeMemory: Effect.Effect<WorkstreamStore["Type"]> = Effect.sync(() => {
  const workstreams = new Map<WorkstreamId, Workstream>()
  const logs = new Map<WorkstreamId, Array<Message>>()

  const requireWorkstream = (id: WorkstreamId) => {
    const ws = workstreams.get(id)
    return ws === undefined ? Effect.fail(new NotFound({ entity: "workstream", id })) : Effect.succeed(ws)
  }

  const create = Effect.fn("WorkstreamStore.create")(function*(raw: NewWorkstream) {
    const input = yield* decoders.create(raw)
    if (input.id === SCRATCH_ID) {
      return yield* new InvalidInput({ method: "WorkstreamStore.create", message: "use ensureScratch for the scratch workstream" })
    }
    if (input.id !== undefined && workstreams.has(input.id)) {
      return yield* new InvalidInput({ method: "WorkstreamStore.create", message: `workstream ${input.id} already exists` })
    }
    const id = input.id ?? (yield* nextId(WorkstreamId))
    const ws = buildWorkstream(input, id, yield* DateTime.now)
    workstreams.set(id, ws)
    logs.set(id, [])
    return ws
  })

  const ensureScratch = Effect.fn("WorkstreamStore.ensureScratch")(function*() {
    const existing = workstreams.get(SCRATCH_ID)
    if (existing !== undefined) return existing
    const ws = buildWorkstream({ title: "Scratch", state: "active", tags: [] }, SCRATCH_ID, yield* DateTime.now, true)
    workstreams.set(SCRATCH_ID, ws)
    logs.set(SCRATCH_ID, [])
    return ws
  })

  const get = Effect.fn("WorkstreamStore.get")(function*(rawId: WorkstreamId) {
    const id = yield* decoders.id("WorkstreamStore.get")(rawId)
    return Option.fromNullable(workstreams.get(id))
  })

  const list = Effect.fn("WorkstreamStore.list")(function*(raw?: typeof ListOptions.Encoded) {
    const o = yield* decoders.list(raw ?? {})
    const position = o.cursor === undefined ? undefined : yield* decodeCursor("WorkstreamStore.list", o.cursor)
    const sorted = Array.from(workstreams.values())
      .filter((ws) =>
        (o.state === undefined || ws.state === o.state) &&
        (o.tag === undefined || ws.tags.includes(o.tag)) &&
        (position === undefined || after(ws, position))
      )
      .sort(byRecency)
    return page(sorted, o.limit)
  })

  const update = Effect.fn("WorkstreamStore.update")(function*(rawId: WorkstreamId, raw: WorkstreamUpdate) {
    const id = yield* decoders.id("WorkstreamStore.update")(rawId)
    const patch = yield* decoders.update(raw)
    yield* guardScratch("WorkstreamStore.update", id, patch.state === "archived")
    const ws = yield* requireWorkstream(id)
    const next = applyUpdate(ws, patch, yield* DateTime.now)
    workstreams.set(id, next)
    return next
  })

  const delete_ = Effect.fn("WorkstreamStore.delete")(function*(rawId: WorkstreamId) {
    const id = yield* decoders.id("WorkstreamStore.delete")(rawId)
    yield* guardScratch("WorkstreamStore.delete", id, true)
    workstreams.delete(id)
    logs.delete(id)
  })

  const append = (method: string, rawId: WorkstreamId, raw: ReadonlyArray<NewMessage>) =>
    Effect.gen(function*() {
      const id = yield* decoders.id(method)(rawId)
      const inputs = yield* decodeMessages(method, raw)
      const ws = yield* requireWorkstream(id)
      if (inputs.length === 0) return []
      const log = logs.get(id) ?? []
      const { messages, now } = yield* stampMessages(id, log.length + 1, inputs)
      log.push(...messages)
      logs.set(id, log)
      workstreams.set(id, withAppended(ws, messages.length, messages[messages.length - 1]!.timestamp, now))
      return messages
    })

  const storeMessage = Effect.fn("WorkstreamStore.storeMessage")(function*(id: WorkstreamId, input: NewMessage) {
    const [message] = yield* append("WorkstreamStore.storeMessage", id, [input])
    return message!
  })

  const storeMessages = Effect.fn("WorkstreamStore.storeMessages")(
    function*(id: WorkstreamId, inputs: ReadonlyArray<NewMessage>) {
      return yield* append("WorkstreamStore.storeMessages", id, inputs)
    }
  )

  const loadMessages = Effect.fn("WorkstreamStore.loadMessages")(function*(rawId: WorkstreamId, raw?: LoadOptions) {
    const id = yield* decoders.id("WorkstreamStore.loadMessages")(rawId)
    const o = yield* decoders.load(raw ?? {})
    yield* requireWorkstream(id)
    return lastN((logs.get(id) ?? []).filter((m) => messageMatches(m, o)), o.limit)
  })

  const promoteScratch = Effect.fn("WorkstreamStore.promoteScratch")(function*(raw: PromoteInput) {
    const input = yield* decoders.promote(raw)
    const scratch = workstreams.get(SCRATCH_ID)
    const moved = logs.get(SCRATCH_ID) ?? []
    if (scratch === undefined || moved.length === 0) {
      return yield* new InvalidInput({
        method: "WorkstreamStore.promoteScratch",
        message: "the scratch workstream has no messages to promote"
      })
    }
    const id = yield* nextId(WorkstreamId)
    const now = yield* DateTime.now
    const messages = moved.map((m) => new Message({ ...m, workstreamId: id }))
    const ws = withAppended(
      buildWorkstream({ title: input.title, state: "active", tags: input.tags, ...(input.defaultModel !== undefined ? { defaultModel: input.defaultModel } : {}) }, id, now),
      messages.length,
      messages[messages.length - 1]!.timestamp,
      now
    )
    workstreams.set(id, ws)
    logs.set(id, messages)
    logs.set(SCRATCH_ID, [])
    workstreams.set(SCRATCH_ID, emptied(scratch, now))
    return ws
  })

  return {
    create,
    ensureScratch,
    get,
    list,
    update,
    delete: delete_,
    storeMessage,
    storeMessages,
    loadMessages,
    promoteScratch
  } satisfies WorkstreamStore["Type"]
})

/**
 * The in-memory WorkstreamStore (see `makeMemory`), fresh and empty each time the layer is built.
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<WorkstreamStore> = Layer.effect(WorkstreamStore, makeMemory)
