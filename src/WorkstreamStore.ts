/**
 * Long-lived conversation threads and their append-only message logs.
 *
 * The module holds the contract (`WorkstreamStore`), the `Driver` a backend implements, and `make(driver)`, the
 * kernel that turns a driver into the service: it decodes every input once, mints ids and timestamps (from
 * `IdGenerator` and `Clock`), applies the scratch rules and update patches, builds the promoted workstream, pages
 * lists, and wraps every method in its span. A driver only stores decoded values.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option } from "effect"
import { Conflict, InvalidInput, NotFound, StorageError } from "./Errors.js"
import type { WorkstreamId } from "./Ids.js"
import { branchMethods } from "./internal/workstreamBranch.js"
import { messageMethods, workstreamMethods } from "./internal/workstreamKernel.js"
import { makeInProcessDriver } from "./internal/workstreamInProcess.js"
import type {
  ForkInput,
  ListOptions,
  LoadOptions,
  Message,
  MessageHit,
  NewMessage,
  NewScratch,
  NewWorkstream,
  PromoteInput,
  UpdateOptions,
  SearchMessagesOptions,
  Workstream,
  WorkstreamPage,
  WorkstreamUpdate
} from "./Workstream.js"

/** @category services */
export class WorkstreamStore extends Context.Tag("arawn-store/WorkstreamStore")<WorkstreamStore, {
  /** Creates a workstream (id generated unless given; a taken id or `scratch` is InvalidInput). */
  readonly create: (input: NewWorkstream) => Effect.Effect<Workstream, InvalidInput | StorageError>
  /**
   * Returns the `scratch` workstream, creating it on first use (with `input`'s fields, for a copy of a store);
   * idempotent: once it exists, `input` is ignored.
   */
  readonly ensureScratch: (input?: NewScratch) => Effect.Effect<Workstream, InvalidInput | StorageError>
  /** `None` when no workstream has this id. */
  readonly get: (id: WorkstreamId) => Effect.Effect<Option.Option<Workstream>, InvalidInput | StorageError>
  /** One page ordered by updatedAt desc then id; `nextCursor` reads the next page without repeats. */
  readonly list: (options?: ListOptions) => Effect.Effect<WorkstreamPage, InvalidInput | StorageError>
  /**
   * Applies the update (null clears; tags replace), bumps updatedAt and version; NotFound when unknown; scratch cannot
   * be archived. With `expected`, a compare-and-set: when the stored `version` differs, Conflict and nothing is
   * written (the check and the write are one atomic step, so of concurrent updates expecting one version, one wins).
   */
  readonly update: (
    id: WorkstreamId,
    update: WorkstreamUpdate,
    options?: UpdateOptions
  ) => Effect.Effect<Workstream, NotFound | InvalidInput | Conflict | StorageError>
  /** Hard-deletes metadata, tags and the log; idempotent; deleting scratch is InvalidInput. */
  readonly delete: (id: WorkstreamId) => Effect.Effect<void, InvalidInput | StorageError>
  /**
   * Appends one message (id, next seq, timestamp assigned); durable when it succeeds, not stored when it fails;
   * NotFound when unknown. A retry is safe: given an id the workstream already holds, it returns the stored message
   * when that is the same write (same role, content, sessionId, metadata as JSON, and timestamp when one is given),
   * and is InvalidInput when it differs; nothing is written either way.
   */
  readonly storeMessage: (id: WorkstreamId, input: NewMessage) => Effect.Effect<Message, NotFound | InvalidInput | StorageError>
  /**
   * Appends all or none, with consecutive seqs in input order; an empty batch is a no-op. Message ids are unique per
   * workstream (another workstream may hold the same id, e.g. a copy of an imported log): an id given twice in the
   * batch is InvalidInput. A batch naming ids the workstream holds writes nothing: when every message of it is
   * stored and each is the same write (as for `storeMessage`), it returns them as stored, in batch order (a retry);
   * otherwise (one differs, or the batch mixes stored and new messages) it is InvalidInput.
   */
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
  /**
   * A new workstream holding copies of messages 1..atSeq of `id` (default: all it holds now) with fresh message ids
   * and the same seqs, timestamps, sessions and metadata, recording `forkedFrom: { workstreamId: id, seq: atSeq }`;
   * the source is untouched. All or nothing. NotFound when `id` is unknown; atSeq above the source's count is
   * InvalidInput (0 makes an empty fork). The fork takes the source's defaultModel unless given; it is active.
   */
  readonly fork: (id: WorkstreamId, input: ForkInput) => Effect.Effect<Workstream, NotFound | InvalidInput | StorageError>
  /**
   * Full-text search over message content across workstreams: any query word may match (stemmed; English function
   * words are dropped unless the query has nothing else), best first by BM25, ties by timestamp desc, then
   * workstream id and seq ascending. `score = bm25 / (bm25 + 4)` in [0,1); a score of 0 is no hit. Filters apply
   * before `limit` (default 10). The query is plain text, never query syntax; a query without words finds nothing.
   */
  readonly searchMessages: (
    query: string,
    options?: SearchMessagesOptions
  ) => Effect.Effect<ReadonlyArray<MessageHit>, InvalidInput | StorageError>
}>() {}

import type { Driver } from "./internal/workstreamDriver.js"
export type { ListQuery, LoadQuery, AppendRequest, AppendResult, PromoteRequest, ForkRequest, ForkResult, SearchQuery, SearchHit, Driver } from "./internal/workstreamDriver.js"

/**
 * The WorkstreamStore over `driver`: every rule of the contract that does not depend on storage lives here, once.
 *
 * @category constructors
 */
export const make = (driver: Driver): WorkstreamStore["Type"] => {
  const span = { attributes: { "arawn.backend": driver.backend } }
  return { ...workstreamMethods(driver, span), ...messageMethods(driver, span), ...branchMethods(driver, span) }
}

/**
 * An in-process WorkstreamStore over `Map`s (`make` over an in-memory driver): the test double for callers' own
 * specs, fresh and empty each time. Time comes from `Clock`, ids from `IdGenerator`; it passes the same
 * conformance suite as the local JSONL backend.
 *
 * @category constructors
 */
export const makeMemory: Effect.Effect<WorkstreamStore["Type"]> = Effect.sync(() => make(makeInProcessDriver()))

/**
 * The in-memory WorkstreamStore (see `makeMemory`), fresh and empty each time the layer is built.
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<WorkstreamStore> = Layer.effect(WorkstreamStore, makeMemory)
