/**
 * The storage primitives a WorkstreamStore backend supplies (`Driver`) and the values they take and give. They live
 * below both the service module and the kernel that implements its contract on them; `WorkstreamStore` re-exports
 * every one.
 */
import type { DateTime, Effect, Either, Option } from "effect"
import type { StorageError } from "../Errors.js"
import type { RetentionPolicy, RetentionTarget } from "../WorkstreamRetention.js"
import type { MessageId, SessionId, WorkstreamId } from "../Ids.js"
import type { Summary } from "../WorkstreamContext.js"
import type {
  ForkPoint,
  LoadOptions,
  Message,
  MessageRole,
  Workstream,
  WorkstreamState
} from "../Workstream.js"

/** What `Driver.list` reads: matching workstreams in list order, strictly after `after`, at most `limit`. @category drivers */
export interface ListQuery {
  readonly state?: WorkstreamState | undefined
  /** true: only archived; false: only not archived. */
  readonly archived?: boolean | undefined
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

/**
 * What `Driver.load` reads of one workstream: the matching messages of its own log (a branch's own log holds seqs
 * from its fork point on), and, on a branch, where its earlier messages live. @category drivers
 */
export interface LoadedLog {
  readonly messages: ReadonlyArray<Message>
  /** A branch's fork point: messages 1..seq are those `workstreamId` shows up to that seq. */
  readonly inherits: Pick<ForkPoint, "workstreamId" | "seq"> | undefined
}

/** @category drivers */
export type PromoteResult =
  | { readonly _tag: "Promoted"; readonly workstream: Workstream }
  /** The source holds no message: nothing was written. */
  | { readonly _tag: "Empty" }
  /** Branches share the source's messages, which would move from under them: nothing was written. */
  | { readonly _tag: "HasBranches"; readonly branches: ReadonlyArray<WorkstreamId> }

/** @category drivers */
export type DeleteResult =
  /** The workstream (and, with `subtree`, every branch below it) is gone, or was never there; these were removed. */
  | { readonly _tag: "Deleted"; readonly removed: ReadonlyArray<WorkstreamId> }
  /** Without `subtree`: branches share its messages; nothing was deleted. */
  | { readonly _tag: "HasBranches"; readonly branches: ReadonlyArray<WorkstreamId> }

/**
 * One `Driver.branch`: a new workstream whose messages 1..atSeq are `source`'s (nothing copied). The kernel read
 * the source's path for `workstream`'s counters; the driver checks, under the source's lock, that it still holds
 * `atSeq` messages. @category drivers
 */
export interface BranchRequest {
  readonly source: WorkstreamId
  readonly atSeq: number
  /** The branch's record: `forkedFrom` shared at (source, atSeq), messageCount `atSeq`, lastMessageAt message atSeq's. */
  readonly workstream: Workstream
}

/** @category drivers */
export type BranchResult =
  | { readonly _tag: "Branched"; readonly workstream: Workstream }
  | { readonly _tag: "NotFound" }
  /** The source holds fewer than `atSeq` messages: nothing was written. */
  | { readonly _tag: "OutOfRange"; readonly count: number }
  /** The branch's id is taken: nothing was written. */
  | { readonly _tag: "Taken" }
  /** The source's path lost its messages up to `through` (at least `atSeq`) to prune: nothing was written. */
  | { readonly _tag: "Pruned"; readonly through: number }

/** @category drivers */
export type SummaryResult =
  | { readonly _tag: "Written"; readonly summary: Summary }
  | { readonly _tag: "NotFound" }
  /** The workstream's path holds fewer than `toSeq` messages: nothing was written. */
  | { readonly _tag: "OutOfRange"; readonly count: number }
  /** The workstream already holds a summary with this id: nothing was written; this is the stored one. */
  | { readonly _tag: "Taken"; readonly summary: Summary }

/** One piece of a branch's path: the messages of `workstreamId` after `afterSeq` and up to `upToSeq` (no bound when absent). @category drivers */
export interface PathSegment {
  readonly workstreamId: WorkstreamId
  readonly afterSeq: number
  readonly upToSeq: number | undefined
}

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
  /** The source's messages up to `through` were pruned, and a copy needs them: nothing was written. */
  | { readonly _tag: "Pruned"; readonly through: number }

/** What `Driver.search` reads: the best `limit` messages matching any of `terms` that pass every filter. @category drivers */
export interface SearchQuery {
  /** Distinct lowercase words, at least one; each matches its stemmed forms. */
  readonly terms: ReadonlyArray<string>
  /** Non-empty when present. */
  readonly workstreamIds?: ReadonlyArray<WorkstreamId> | undefined
  /** Only messages on one of these segments (a branch's path); non-empty when present. */
  readonly path?: ReadonlyArray<PathSegment> | undefined
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

/** A policy and what it applies to, as `Driver.retentionPolicies` lists them. @category drivers */
export interface RetentionEntry {
  readonly target: RetentionTarget
  readonly policy: RetentionPolicy
}

/**
 * One `Driver.prune`: remove the messages of `id`'s own log after `from` (its current start: `prunedThrough`, or a
 * branch's fork point) up to `through`. The kernel checked the workstream's branches (`shared`, every branch below
 * it that shares its messages); the driver re-checks both under the workstream's lock. @category drivers
 */
export interface PruneRequest {
  readonly id: WorkstreamId
  readonly from: number
  readonly through: number
  readonly shared: ReadonlyArray<WorkstreamId>
}

/** @category drivers */
export type PruneResult =
  | { readonly _tag: "Pruned"; readonly removed: number; readonly bytes: number }
  | { readonly _tag: "NotFound" }
  /** The log's start moved, or a branch appeared, since the kernel looked: nothing was removed. */
  | { readonly _tag: "Changed" }

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
  /**
   * Removes the workstream, its tags and its log (a no-op when absent), unless branches share its messages: then
   * nothing, unless `subtree`, which removes them all (recursively) in the same operation.
   */
  readonly delete: (id: WorkstreamId, subtree: boolean) => Effect.Effect<DeleteResult, StorageError>
  /**
   * Appends the batch at the log's next seq, durably, bumping messageCount, lastMessageAt and updatedAt; when it
   * fails, no read sees any of the batch (nor, on success, before it is all there).
   */
  readonly append: (id: WorkstreamId, request: AppendRequest) => Effect.Effect<AppendResult, StorageError>
  /** The matching messages of the workstream's own log, and its fork point when it is a branch; `None` when absent. */
  readonly load: (id: WorkstreamId, query: LoadQuery) => Effect.Effect<Option.Option<LoadedLog>, StorageError>
  /** Moves every message of `source` into the new workstream and empties `source`, unless it is empty or has branches. */
  readonly promote: (request: PromoteRequest) => Effect.Effect<PromoteResult, StorageError>
  /** Creates the fork with its copied log, all or nothing, reading the source under the same lock or transaction. */
  readonly fork: (request: ForkRequest) => Effect.Effect<ForkResult, StorageError>
  /** Stores the branch's record (its log empty: nothing is copied), checking the source under its lock. */
  readonly branch: (request: BranchRequest) => Effect.Effect<BranchResult, StorageError>
  /**
   * Stores `summary` on its workstream, durably, checking under the workstream's lock that its path holds
   * `summary.toSeq` messages and that no summary of it has this id. Messages and the record are untouched.
   */
  readonly writeSummary: (summary: Summary) => Effect.Effect<SummaryResult, StorageError>
  /**
   * The summaries made on each of `ids` (their own, never inherited ones), in any order; an absent workstream holds
   * none. A delete removes a workstream's summaries with it, a promotion moves them with its messages.
   */
  readonly summaries: (ids: ReadonlyArray<WorkstreamId>) => Effect.Effect<ReadonlyArray<Summary>, StorageError>
  /**
   * The best `limit` matches, ordered by bm25 desc, timestamp desc, workstream id asc, seq asc. The text index
   * changes in the same operation as the log it mirrors (append, promote, fork, delete).
   */
  readonly search: (query: SearchQuery) => Effect.Effect<ReadonlyArray<SearchHit>, StorageError>
  /** Stores (or with null removes) the policy of `target`; false when it names a workstream that does not exist. */
  readonly setRetention: (target: RetentionTarget, policy: RetentionPolicy | null) => Effect.Effect<boolean, StorageError>
  /** The policy set on exactly `target`; `None` when there is none. */
  readonly getRetention: (target: RetentionTarget) => Effect.Effect<Option.Option<RetentionPolicy>, StorageError>
  /** Every policy stored, in any order. */
  readonly retentionPolicies: () => Effect.Effect<ReadonlyArray<RetentionEntry>, StorageError>
  /**
   * The largest seq s such that every message of `id`'s own log up to s is older than `cutoffMillis`: its start
   * (see `PruneRequest.from`) when the first is not; 0 when `id` is absent.
   */
  readonly agedThrough: (id: WorkstreamId, cutoffMillis: number) => Effect.Effect<number, StorageError>
  /**
   * Removes the messages after `from` up to `through` of the own log, all or none, and sets `prunedThrough`;
   * `messageCount` and seqs stay. The text index loses them in the same step; space is given back to the system.
   */
  readonly prune: (request: PruneRequest) => Effect.Effect<PruneResult, StorageError>
}
