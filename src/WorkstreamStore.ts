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
import { contextMethods } from "./internal/workstreamContext.js"
import { messageMethods, workstreamMethods } from "./internal/workstreamKernel.js"
import { makeInProcessDriver } from "./internal/workstreamInProcess.js"
import { coveredPrefix, resolveOverlays } from "./internal/workstreamOverlays.js"
import { retentionMethods } from "./internal/workstreamRetention.js"
import type { Coverage } from "./internal/workstreamRetention.js"
import type { PruneOptions, PruneReport, RetentionPolicy, RetentionTarget } from "./WorkstreamRetention.js"
import type {
  DeleteOptions,
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
import type { ContextItem, ContextOptions, NewSummary, Summary } from "./WorkstreamContext.js"
/** The overlay models, beside the methods that take and give them. */
export { ContextItem, ContextOptions, NewSummary, Summary } from "./WorkstreamContext.js"

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
  /**
   * One page ordered by updatedAt desc then id; `nextCursor` reads the next page without repeats. Filters: `state`,
   * `archived` (true: archived only; false: the others), `tag`, `forkedFrom`.
   */
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
  /** `update(id, { state: "archived" })`: kept whole, left out of `list({ archived: false })`; scratch cannot be archived. */
  readonly archive: (id: WorkstreamId) => Effect.Effect<Workstream, NotFound | InvalidInput | Conflict | StorageError>
  /** `update(id, { state: "active" })`: back among `list({ archived: false })`. NotFound when unknown. */
  readonly unarchive: (id: WorkstreamId) => Effect.Effect<Workstream, NotFound | InvalidInput | Conflict | StorageError>
  /**
   * Hard-deletes metadata, tags, the log, summaries and its own retention policy (a new workstream given the same
   * id starts without one); idempotent; deleting scratch is InvalidInput. A workstream whose
   * messages branches share is not deleted (InvalidInput naming them) unless `{ subtree: true }`, which deletes
   * every branch below it too, in one step. Copied forks are independent and stay.
   */
  readonly delete: (id: WorkstreamId, options?: DeleteOptions) => Effect.Effect<void, InvalidInput | StorageError>
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
  /**
   * The LAST `limit` matching messages (all without a limit), oldest to newest; NotFound when unknown. On a branch,
   * its path: its ancestors' messages up to each fork point (as stored: their own ids and workstreamId), then its own.
   * A tail read costs O(limit) plus one read per ancestor it reaches, however long the logs.
   */
  readonly loadMessages: (
    id: WorkstreamId,
    options?: LoadOptions
  ) => Effect.Effect<ReadonlyArray<Message>, NotFound | InvalidInput | StorageError>
  /**
   * Moves every scratch message into a new workstream (rewriting workstreamId, same seqs); scratch is left empty.
   * InvalidInput when scratch is empty, or when branches share its messages (they would move from under them).
   */
  readonly promoteScratch: (input: PromoteInput) => Effect.Effect<Workstream, InvalidInput | StorageError>
  /**
   * A new branch of `id` at `atSeq` (default: all it holds now): its messages are `id`'s path 1..atSeq, shared and
   * never copied (it writes its record only, whatever the length), followed by its own, whose seqs continue from
   * atSeq + 1; it records `forkedFrom: { workstreamId: id, seq: atSeq, shared: true }`; messageCount and
   * lastMessageAt count the shared messages. With `copy: true`, the old fork: copies of messages 1..atSeq with
   * fresh ids, the same seqs, timestamps, sessions and metadata, in its own log (lineage without `shared`). The
   * source is untouched. All or nothing. NotFound when `id` is unknown; atSeq above the source's count is
   * InvalidInput (0 makes an empty fork). The fork takes the source's defaultModel unless given; it is active.
   */
  readonly fork: (id: WorkstreamId, input: ForkInput) => Effect.Effect<Workstream, NotFound | InvalidInput | StorageError>
  /**
   * Every fork below `id` (branches and copies, recursively, by `forkedFrom`), each after its source, siblings
   * oldest first; NotFound when unknown.
   */
  readonly listBranches: (id: WorkstreamId) => Effect.Effect<ReadonlyArray<Workstream>, NotFound | InvalidInput | StorageError>
  /**
   * Full-text search over message content across workstreams: any query word may match (stemmed; English function
   * words are dropped unless the query has nothing else), best first by BM25, ties by timestamp desc, then
   * workstream id and seq ascending. `score = bm25 / (bm25 + 4)` in [0,1); a score of 0 is no hit. Filters apply
   * before `limit` (default 10). The query is plain text, never query syntax; a query without words finds nothing.
   * With `branch`, only the messages on that branch's path (as `loadMessages` shows them): never a sibling's.
   */
  readonly searchMessages: (
    query: string,
    options?: SearchMessagesOptions
  ) => Effect.Effect<ReadonlyArray<MessageHit>, InvalidInput | StorageError>
  /**
   * Stores a summary over seqs fromSeq..toSeq of `id`'s path (1 ≤ fromSeq ≤ toSeq ≤ messageCount, else
   * InvalidInput), durably; deletes and changes no message. Summary ids are unique per workstream: a retry with the
   * same id and the same fields (createdAt only when given) returns the stored summary, another with that id is
   * InvalidInput. NotFound when `id` is unknown. A delete removes a workstream's summaries, a promotion moves them.
   */
  readonly summarize: (id: WorkstreamId, input: NewSummary) => Effect.Effect<Summary, NotFound | InvalidInput | StorageError>
  /**
   * The summaries `id`'s path shows: its own, and each ancestor's (through shared branches, not copies) whose toSeq
   * is at most the fork point it is reached through, whenever it was made; ordered by createdAt, then id.
   */
  readonly listSummaries: (id: WorkstreamId) => Effect.Effect<ReadonlyArray<Summary>, NotFound | InvalidInput | StorageError>
  /**
   * The last `limit` items of `id`'s path (all without a limit), oldest first, where the newest summary (createdAt,
   * then id) stands for the messages it covers and an older one overlapping a range already claimed is left out
   * whole; a summary is one item, each uncovered message one. `loadMessages` still returns every original.
   */
  readonly loadContext: (
    id: WorkstreamId,
    options?: ContextOptions
  ) => Effect.Effect<ReadonlyArray<ContextItem>, NotFound | InvalidInput | StorageError>
  /**
   * Sets the retention policy of one workstream (`{ workstreamId }`, NotFound when unknown) or of every workstream
   * carrying a tag (`{ tag }`); null removes it. A workstream's own policy overrides its tags'; among several tags
   * each limit is the strictest any sets. Idempotent; nothing is removed until `prune`.
   */
  readonly setRetention: (
    target: typeof RetentionTarget.Encoded,
    policy: typeof RetentionPolicy.Encoded | null
  ) => Effect.Effect<void, NotFound | InvalidInput | StorageError>
  /** The policy set on exactly this target (`maxAge` in milliseconds); `None` when there is none. */
  readonly getRetention: (
    target: typeof RetentionTarget.Encoded
  ) => Effect.Effect<Option.Option<RetentionPolicy>, InvalidInput | StorageError>
  /**
   * Removes what the policies no longer keep: per workstream a prefix of its own log, only what summaries cover on
   * every path that reads it (its own and each branch's sharing those seqs); less otherwise, saying why in
   * `refused`. At most `budget` messages per call (default 100,000): `done: false` means call again. Idempotent, safe
   * beside appends from any process. Seqs stay: the log then starts after `prunedThrough`, and `messageCount` still
   * counts every message ever appended. An unknown `workstreamId` is InvalidInput.
   */
  readonly prune: (options?: PruneOptions) => Effect.Effect<PruneReport, InvalidInput | StorageError>
}>() {}

import type { Driver } from "./internal/workstreamDriver.js"
export type {
  ListQuery,
  LoadQuery,
  LoadedLog,
  AppendRequest,
  AppendResult,
  PromoteRequest,
  PromoteResult,
  DeleteResult,
  ForkRequest,
  ForkResult,
  BranchRequest,
  BranchResult,
  PathSegment,
  PruneRequest,
  PruneResult,
  RetentionEntry,
  SearchQuery,
  SearchHit,
  SummaryResult,
  Driver
} from "./internal/workstreamDriver.js"

/**
 * The WorkstreamStore over `driver`: every rule of the contract that does not depend on storage lives here, once.
 *
 * @category constructors
 */
export const make = (driver: Driver): WorkstreamStore["Type"] => {
  const span = { attributes: { "arawn.backend": driver.backend } }
  const context = contextMethods(driver, span)
  // How far summaries cover a path, as `loadContext` resolves them: what prune may remove.
  const coverage: Coverage = (_method, id) => Effect.map(context.listSummaries(id), (s) => coveredPrefix(resolveOverlays(s)))
  return {
    ...workstreamMethods(driver, span),
    ...messageMethods(driver, span),
    ...branchMethods(driver, span),
    ...context,
    ...retentionMethods(driver, span, coverage)
  }
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
