/**
 * Workstreams (long-lived conversation threads) and the messages of their append-only logs.
 *
 * @since 0.1.0
 */
import { Option, Schema } from "effect"
import { MessageId, SessionId, WorkstreamId } from "./Ids.js"
import { ContentWithin, hasContent, isStorableText, JsonObject, Text } from "./Json.js"
import { Tag } from "./Tag.js"

/** @category models */
export const WorkstreamState = Schema.Literal("active", "paused", "archived")
/** @category models */
export type WorkstreamState = typeof WorkstreamState.Type

/** @category models */
export const MessageRole = Schema.Literal("user", "assistant", "system", "tool_use", "tool_result", "agent_push")
/** @category models */
export type MessageRole = typeof MessageRole.Type

/** A JSON object carried beside a message. @category models */
export const MessageMetadata = JsonObject

/**
 * Where a fork branched off: its source workstream and the last message it took (0 = none). With `shared`, the
 * fork is a branch: messages 1..seq are the source's own, read through it and never copied, and its log holds only
 * what was appended to it since; without, they were copied into its log (a fork made with `copy`, or before
 * branches existed). @category models
 */
export const ForkPoint = Schema.Struct({
  workstreamId: WorkstreamId,
  seq: Schema.NonNegativeInt,
  shared: Schema.optional(Schema.Literal(true))
})
/** @category models */
export type ForkPoint = typeof ForkPoint.Type

/** @category models */
export class Workstream extends Schema.Class<Workstream>("Workstream")({
  id: WorkstreamId,
  title: Schema.String,
  summary: Schema.optional(Schema.String),
  state: WorkstreamState,
  isScratch: Schema.Boolean,
  defaultModel: Schema.optional(Schema.String),
  /** Sorted, unique. */
  tags: Schema.Array(Schema.String),
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc,
  messageCount: Schema.NonNegativeInt,
  lastMessageAt: Schema.optional(Schema.DateTimeUtc),
  /**
   * How many times `update` changed the record: 0 when created, one more per update, untouched by appends. The
   * token of `update`'s compare-and-set (`{ expected }`).
   */
  version: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 }),
  /** Set on a workstream made by `fork`: its immediate source (which may itself be a fork). */
  forkedFrom: Schema.optional(ForkPoint),
  /**
   * Set once `prune` removed messages: seqs up to this one are gone from its own log (a branch's own log starts
   * after its fork point, so this is then at least that). `messageCount` still counts every message ever appended.
   */
  prunedThrough: Schema.optional(Schema.NonNegativeInt)
}) {}

/** @category models */
export class Message extends Schema.Class<Message>("Message")({
  id: MessageId,
  workstreamId: WorkstreamId,
  /** 1-based position in its workstream's log, gap-free. */
  seq: Schema.Int.pipe(Schema.positive()),
  sessionId: Schema.optional(SessionId),
  role: MessageRole,
  content: Schema.String,
  timestamp: Schema.DateTimeUtc,
  metadata: Schema.optional(MessageMetadata)
}) {}

/**
 * A workstream title: non-blank, at most 512 characters, text every backend stores exactly (no NUL, no lone
 * surrogate; see `Json.isStorableText`). Summaries and default models are such text too. @category inputs
 */
export const Title = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0 || "title must not be empty or blank"),
  Schema.filter((s) => s.length <= 512 || "title must be at most 512 characters"),
  Schema.filter((s) => isStorableText(s) || "title must be well-formed Unicode without NUL characters")
)

/** @category inputs */
export const NewWorkstream = Schema.Struct({
  id: Schema.optional(WorkstreamId),
  title: Title,
  summary: Schema.optional(Text),
  state: Schema.optionalWith(WorkstreamState, { default: () => "active" as const }),
  defaultModel: Schema.optional(Text),
  tags: Schema.optionalWith(Schema.Array(Tag), { default: () => [] }),
  /** Given when importing a copy of a store (a dump), so a fork keeps its lineage; `fork` sets it otherwise. */
  forkedFrom: Schema.optional(ForkPoint),
  /**
   * Given when importing a copy of a store whose log was pruned (not with a shared `forkedFrom`): the workstream
   * starts with `messageCount` = `prunedThrough`, so its messages keep their seqs from `prunedThrough + 1`.
   */
  prunedThrough: Schema.optional(Schema.NonNegativeInt),
  /** Given when importing a copy of a store; `Clock` time otherwise. */
  createdAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  /** Given when importing a copy of a store (default: `createdAt`); appends of its messages never move it back. */
  updatedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  /** Given when importing a copy of a store, so compare-and-set tokens survive the move; 0 otherwise. */
  version: Schema.optional(Schema.NonNegativeInt)
})
/** @category inputs */
export type NewWorkstream = typeof NewWorkstream.Encoded

/** Present fields replace; `null` clears `summary` or `defaultModel`; `tags` replaces the whole set. @category inputs */
export const WorkstreamUpdate = Schema.Struct({
  title: Schema.optional(Title),
  summary: Schema.optional(Schema.NullOr(Text)),
  state: Schema.optional(WorkstreamState),
  defaultModel: Schema.optional(Schema.NullOr(Text)),
  tags: Schema.optional(Schema.Array(Tag))
})
/** @category inputs */
export type WorkstreamUpdate = typeof WorkstreamUpdate.Encoded

/** @category inputs */
export const DeleteOptions = Schema.Struct({
  /**
   * Also delete every branch that shares this workstream's messages (recursively); without it, deleting a
   * workstream that has branches is InvalidInput and nothing is deleted.
   */
  subtree: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
/** @category inputs */
export type DeleteOptions = typeof DeleteOptions.Encoded

/** @category inputs */
export const UpdateOptions = Schema.Struct({
  /** Apply the update only if the stored `version` is this one; otherwise fail with `Conflict`. */
  expected: Schema.optional(Schema.NonNegativeInt)
})
/** @category inputs */
export type UpdateOptions = typeof UpdateOptions.Encoded

/** Largest message content accepted, in UTF-16 code units (16 MiB). @category inputs */
export const MAX_MESSAGE_CONTENT = 16 * 1024 * 1024

/**
 * Roles whose content may be empty: a `tool_use` message carries its call in `metadata` (the original runtime
 * writes it with content ""), and a tool's output may be nothing. Every other message must say something, as a
 * memory must.
 *
 * @category inputs
 */
export const MAY_BE_EMPTY: ReadonlyArray<MessageRole> = ["tool_use", "tool_result"]

/**
 * A message to append: content of at most `MAX_MESSAGE_CONTENT` characters, not empty or blank unless its role is
 * one of `MAY_BE_EMPTY` or it carries its own `timestamp` (an import of an existing log or dump keeps what was said,
 * and the original runtime wrote empty assistant turns).
 *
 * @category inputs
 */
export const NewMessage = Schema.Struct({
  role: MessageRole,
  content: ContentWithin(MAX_MESSAGE_CONTENT),
  sessionId: Schema.optional(SessionId),
  metadata: Schema.optional(MessageMetadata),
  /** Given when importing an existing log; generated otherwise. */
  id: Schema.optional(MessageId),
  /** Given when importing an existing log; `Clock` time otherwise. */
  timestamp: Schema.optional(Schema.DateTimeUtcFromSelf)
}).pipe(Schema.filter((m) =>
  hasContent(m.content) || MAY_BE_EMPTY.includes(m.role) || m.timestamp !== undefined || {
    path: ["content"],
    message: `content must not be empty or blank (only ${MAY_BE_EMPTY.join(" and ")} messages may be empty)`
  }
))
/** @category inputs */
export type NewMessage = typeof NewMessage.Encoded

const Seq = Schema.Int.pipe(Schema.positive())

/** @category inputs */
export const LoadOptions = Schema.Struct({
  /** Return only the last `limit` matching messages (still oldest to newest). */
  limit: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Only messages with `seq < beforeSeq`. */
  beforeSeq: Schema.optional(Seq),
  /** Only messages with `seq > afterSeq`. */
  afterSeq: Schema.optional(Schema.NonNegativeInt),
  /** Only messages with `timestamp >= since`. */
  since: Schema.optional(Schema.DateTimeUtcFromSelf),
  sessionId: Schema.optional(SessionId)
})
/** @category inputs */
export type LoadOptions = typeof LoadOptions.Encoded

/** @category inputs */
export const ListOptions = Schema.Struct({
  state: Schema.optional(WorkstreamState),
  /** true: only archived workstreams; false: only those not archived. */
  archived: Schema.optional(Schema.Boolean),
  tag: Schema.optional(Schema.String),
  /** Only the direct forks of this workstream. */
  forkedFrom: Schema.optional(WorkstreamId),
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 50 }),
  /** The `nextCursor` of the previous page. */
  cursor: Schema.optional(Schema.String)
})
/** @category inputs */
export type ListOptions = typeof ListOptions.Encoded

/** @category models */
export interface WorkstreamPage {
  readonly items: ReadonlyArray<Workstream>
  /** Pass it as `cursor` to read the next page; `None` on the last page. */
  readonly nextCursor: Option.Option<string>
}

/** @category inputs */
export const PromoteInput = Schema.Struct({
  title: Title,
  tags: Schema.optionalWith(Schema.Array(Tag), { default: () => [] }),
  defaultModel: Schema.optional(Text)
})
/** @category inputs */
export type PromoteInput = typeof PromoteInput.Encoded

/** @category inputs */
export const ForkInput = Schema.Struct({
  /** Take messages 1..atSeq (0 = none); all the source holds when the fork starts by default. */
  atSeq: Schema.optional(Schema.NonNegativeInt),
  /** Copy the messages into the fork's own log (fresh ids) instead of sharing them (default: a branch, nothing copied). */
  copy: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  title: Title,
  tags: Schema.optionalWith(Schema.Array(Tag), { default: () => [] }),
  /** The source's `defaultModel` when absent. */
  defaultModel: Schema.optional(Schema.String)
})
/** @category inputs */
export type ForkInput = typeof ForkInput.Encoded

/** Filters of `searchMessages`; all apply before `limit`. @category inputs */
export const SearchMessagesOptions = Schema.Struct({
  /** Only messages of these workstreams (an empty list matches nothing; unknown ids match nothing). */
  workstreamIds: Schema.optional(Schema.Array(WorkstreamId)),
  /**
   * Only the messages `loadMessages(branch)` returns: the branch's own and those it shares with its ancestors up to
   * each fork point, never a sibling's (an unknown id matches nothing).
   */
  branch: Schema.optional(WorkstreamId),
  sessionId: Schema.optional(SessionId),
  /** Only messages with one of these roles (an empty list matches nothing). */
  roles: Schema.optional(Schema.Array(MessageRole)),
  /** Only messages with `timestamp >= since`. */
  since: Schema.optional(Schema.DateTimeUtcFromSelf),
  /** Only messages with `timestamp <= until`. */
  until: Schema.optional(Schema.DateTimeUtcFromSelf),
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1000)), { default: () => 10 })
})
/** @category inputs */
export type SearchMessagesOptions = typeof SearchMessagesOptions.Encoded

/** One `searchMessages` result. @category models */
export interface MessageHit {
  readonly message: Message
  readonly workstreamId: WorkstreamId
  readonly seq: number
  /** Relevance in [0,1], higher is better: `bm25 / (bm25 + 4)` (see `searchMessages`). */
  readonly score: number
  /** The content around the first matching word, cut at word boundaries with `…` where text was left out. */
  readonly snippet: string
}

/**
 * The record `ensureScratch` gives the scratch workstream when it creates it: given when importing a copy of a store,
 * so scratch keeps its times, version and fields; otherwise "Scratch", no tags, `Clock` time. @category inputs
 */
export const NewScratch = Schema.Struct({
  title: Schema.optional(Title),
  summary: Schema.optional(Text),
  defaultModel: Schema.optional(Text),
  tags: Schema.optional(Schema.Array(Tag)),
  createdAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  updatedAt: Schema.optional(Schema.DateTimeUtcFromSelf),
  version: Schema.optional(Schema.NonNegativeInt)
})
/** @category inputs */
export type NewScratch = typeof NewScratch.Encoded
