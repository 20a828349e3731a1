/**
 * Branded identifiers and the service that mints them.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { Context, Effect, Layer, Schema } from "effect"

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const uuid = (entity: string) =>
  Schema.String.pipe(
    Schema.pattern(UUID_RE, {
      message: (issue) => `${entity} id ${JSON.stringify(issue.actual)} must be a lowercase hyphenated UUID`
    })
  )

/** @category ids */
export const MemoryId = uuid("memory").pipe(Schema.brand("MemoryId"))
/** @category ids */
export type MemoryId = typeof MemoryId.Type

/** @category ids */
export const SessionId = uuid("session").pipe(Schema.brand("SessionId"))
/** @category ids */
export type SessionId = typeof SessionId.Type

/** @category ids */
export const MessageId = uuid("message").pipe(Schema.brand("MessageId"))
/** @category ids */
export type MessageId = typeof MessageId.Type

/** The id of a summary (`WorkstreamStore.summarize`). @category ids */
export const SummaryId = uuid("summary").pipe(Schema.brand("SummaryId"))
/** @category ids */
export type SummaryId = typeof SummaryId.Type

/** @category ids */
export const TurnId = uuid("turn").pipe(Schema.brand("TurnId"))
/** @category ids */
export type TurnId = typeof TurnId.Type

/**
 * A workstream id becomes a directory name, so nothing outside this alphabet may reach the filesystem: no
 * separators, no `..`, no leading `-` or `.`, at most 128 characters.
 *
 * @category ids
 */
export const WORKSTREAM_ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/

/** @category ids */
export const WorkstreamId = Schema.String.pipe(
  Schema.pattern(WORKSTREAM_ID_PATTERN, {
    message: (issue) =>
      `workstream id ${JSON.stringify(issue.actual)} must match ${WORKSTREAM_ID_PATTERN.source}`
  }),
  Schema.brand("WorkstreamId")
)
/** @category ids */
export type WorkstreamId = typeof WorkstreamId.Type

/** The id of the well-known scratch workstream. @category ids */
export const SCRATCH_ID: WorkstreamId = WorkstreamId.make("scratch")

/** @category services */
export interface IdGeneratorShape {
  /** A new lowercase hyphenated UUID, never returned before by this generator. */
  readonly next: Effect.Effect<string>
}

/**
 * Mints fresh UUIDs. A `Context.Reference`, so every store works without providing it, and a test can provide a
 * deterministic one with `layerSequential`.
 *
 * @category services
 */
export class IdGenerator extends Context.Reference<IdGenerator>()("arawn-store/IdGenerator", {
  defaultValue: (): IdGeneratorShape => ({ next: Effect.sync(() => randomUUID()) })
}) {}

/**
 * Deterministic ids `00000000-0000-4000-8000-000000000001`, `...002`, ... for tests that assert on ids.
 *
 * @category constructors
 */
export const makeSequential = (start = 1): IdGeneratorShape => {
  let n = start
  return {
    next: Effect.sync(() => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, "0")}`)
  }
}

/** @category layers */
export const layerSequential = (start = 1): Layer.Layer<IdGenerator> =>
  Layer.sync(IdGenerator, () => makeSequential(start))

/** Draws a fresh id of the given brand from the `IdGenerator` in context, e.g. `nextId(SessionId)`. @category constructors */
export const nextId = <A>(brand: { readonly make: (raw: string) => A }): Effect.Effect<A> =>
  Effect.flatMap(IdGenerator, (gen) => Effect.map(gen.next, (raw) => brand.make(raw)))
