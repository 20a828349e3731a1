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
import { Context, DateTime, Effect, Either, Layer, Option } from "effect"
import { Conflict, InvalidInput, NotFound, StorageError } from "./Errors.js"
import type { MessageId, SessionId } from "./Ids.js"
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
  MessageRole,
  NewMessage,
  NewScratch,
  NewWorkstream,
  PromoteInput,
  UpdateOptions,
  SearchMessagesOptions,
  Workstream,
  WorkstreamPage,
  WorkstreamState,
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

/** What `Driver.list` reads: matching workstreams in list order, strictly after `after`, at most `limit`. @category drivers */
export interface ListQuery {
  readonly state?: WorkstreamState | undefined
  readonly tag?: string | undefined
  /** Only workstreams whose `forkedFrom.workstreamId` is this. */
  readonly forkedFrom?: WorkstreamId | undefined
  /** The last item of the previous page: only workstreams after it in (updatedAt desc, id asc) order. */
  readonly after?: { readonly updatedAtMillis: number; readonly id: string } | undefined
  readonly limit: number
}

/** What `Driver.load` reads (decoded `LoadOptions`): the last `limit` matching messages, oldest to newest. @category drivers */
export type LoadQuery = typeof LoadOptions.Type

/** One batch for `Driver.append`; ids and timestamps are final, seqs are the driver's to assign. @category drivers */
export interface AppendRequest {
  /** The batch's message ids, in order and distinct. */
  readonly ids: ReadonlyArray<MessageId>
  /**
   * The ids among them the caller chose: a driver refuses the batch when the workstream holds any of them, with
   * the messages holding them. The others were minted by `IdGenerator` for this batch, fresh by its contract, so a
   * driver may skip looking them up.
   */
  readonly given: ReadonlyArray<MessageId>
  /** The batch as messages of this workstream at consecutive seqs from `firstSeq` (pure). */
  readonly seal: (firstSeq: number) => ReadonlyArray<Message>
  /**
   * The time the batch was made (for a batch whose every message carries its own timestamp, an import, the latest
   * of them): the workstream's new `updatedAt`, unless that is already later (it never moves back).
   */
  readonly now: DateTime.Utc
}

/** @category drivers */
export type AppendResult =
  | { readonly _tag: "Appended"; readonly messages: ReadonlyArray<Message> }
  | { readonly _tag: "NotFound" }
  /** Messages of the workstream already have some of the given ids: nothing was written; these are they (any order). */
  | { readonly _tag: "Taken"; readonly messages: ReadonlyArray<Message> }

/** One `Driver.promote`: move the whole log of `source` into a new workstream. @category drivers */
export interface PromoteRequest {
  readonly source: WorkstreamId
  /** The new workstream's record, given what moved (pure; its id is fresh). */
  readonly target: (moved: { readonly count: number; readonly lastMessageAt: DateTime.Utc }) => Workstream
  /** The source's new `updatedAt`. */
  readonly now: DateTime.Utc
}

/** One `Driver.fork`: copy the first `atSeq` messages of `source` into a new workstream. @category drivers */
export interface ForkRequest {
  readonly source: WorkstreamId
  /** The fork's id (fresh): the id of every record `target` returns. */
  readonly id: WorkstreamId
  readonly atSeq: number
  /** The copies' ids, in seq order: `atSeq` fresh ids. */
  readonly ids: ReadonlyArray<MessageId>
  /** The new workstream's record, given the timestamp of the last message copied (pure; its id is fresh). */
  readonly target: (lastMessageAt: Option.Option<DateTime.Utc>) => Workstream
}

/** @category drivers */
export type ForkResult =
  | { readonly _tag: "Forked"; readonly workstream: Workstream }
  | { readonly _tag: "NotFound" }
  /** The source holds fewer than `atSeq` messages: nothing was written. */
  | { readonly _tag: "OutOfRange"; readonly count: number }

/** What `Driver.search` reads: the best `limit` messages matching any of `terms` that pass every filter. @category drivers */
export interface SearchQuery {
  /** Distinct lowercase words, at least one; each matches its stemmed forms. */
  readonly terms: ReadonlyArray<string>
  /** Non-empty when present. */
  readonly workstreamIds?: ReadonlyArray<WorkstreamId> | undefined
  readonly sessionId?: SessionId | undefined
  /** Non-empty when present. */
  readonly roles?: ReadonlyArray<MessageRole> | undefined
  readonly since?: DateTime.Utc | undefined
  readonly until?: DateTime.Utc | undefined
  readonly limit: number
}

/** One `Driver.search` result: the message and its BM25 score (positive, higher is better). @category drivers */
export interface SearchHit {
  readonly message: Message
  readonly bm25: number
}

/**
 * The storage primitives a WorkstreamStore backend supplies, over decoded values only. Each primitive is atomic on
 * its own: `append` assigns seqs under the same lock (or transaction) that writes the batch, `update` runs
 * `modify` as one read-modify-write, and `promote` moves a log all or nothing.
 *
 * @category drivers
 */
export interface Driver {
  /** The backend's name, the `arawn.backend` attribute of every span. */
  readonly backend: string
  /** Stores a new workstream with an empty log (or the log it adopts) and returns it as stored; `None` when the id is taken. */
  readonly insert: (workstream: Workstream) => Effect.Effect<Option.Option<Workstream>, StorageError>
  /** The workstream with its current counters; `None` when absent. */
  readonly get: (id: WorkstreamId) => Effect.Effect<Option.Option<Workstream>, StorageError>
  /** Matching workstreams ordered by updatedAt desc then id asc. */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<Workstream>, StorageError>
  /**
   * Replaces the workstream by `modify(current)` atomically (its counters stay the driver's); `None` when absent.
   * A `Left` from `modify` fails the update with nothing written.
   */
  readonly update: <E>(
    id: WorkstreamId,
    modify: (current: Workstream) => Either.Either<Workstream, E>
  ) => Effect.Effect<Option.Option<Workstream>, E | StorageError>
  /** Removes the workstream, its tags and its log; a no-op when absent. */
  readonly delete: (id: WorkstreamId) => Effect.Effect<void, StorageError>
  /**
   * Appends the batch at the log's next seq, durably, bumping messageCount, lastMessageAt and updatedAt; when it
   * fails, no read sees any of the batch (nor, on success, before it is all there).
   */
  readonly append: (id: WorkstreamId, request: AppendRequest) => Effect.Effect<AppendResult, StorageError>
  /** The matching messages; `None` when the workstream is absent. */
  readonly load: (id: WorkstreamId, query: LoadQuery) => Effect.Effect<Option.Option<ReadonlyArray<Message>>, StorageError>
  /** Moves every message of `source` into the new workstream and empties `source`; `None` when it has none. */
  readonly promote: (request: PromoteRequest) => Effect.Effect<Option.Option<Workstream>, StorageError>
  /** Creates the fork with its copied log, all or nothing, reading the source under the same lock or transaction. */
  readonly fork: (request: ForkRequest) => Effect.Effect<ForkResult, StorageError>
  /**
   * The best `limit` matches, ordered by bm25 desc, timestamp desc, workstream id asc, seq asc. The text index
   * changes in the same operation as the log it mirrors (append, promote, fork, delete).
   */
  readonly search: (query: SearchQuery) => Effect.Effect<ReadonlyArray<SearchHit>, StorageError>
}

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
