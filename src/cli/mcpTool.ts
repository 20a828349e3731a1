/**
 * What every MCP tool of `arawn-store mcp` is made of: an input schema (Effect Schema, published as JSON Schema),
 * a description written for a model, annotations, and a handler whose typed failures become MCP tool errors with a
 * message a model can act on. Also the paging cursors every list-like tool shares.
 *
 * @since 0.1.0
 */
import { DateTime, Effect, Either, JSONSchema, Option, Schema, Stream } from "effect"
import type { Conflict, EmbeddingError, EmbeddingSpaceMismatch, NotFound, StorageError } from "../Errors.js"
import { InvalidInput } from "../Errors.js"
import { decodeEither } from "../internal/decode.js"
import type { Memory, MemoryFilter } from "../Memory.js"
import { confidenceScore } from "../Memory.js"
import type { MemoryBackend } from "../MemoryBackend.js"
import type { WorkstreamStore } from "../WorkstreamStore.js"

/** Every typed failure a tool handler may end with. @category errors */
export type ToolError = InvalidInput | NotFound | StorageError | EmbeddingError | EmbeddingSpaceMismatch | Conflict

/** What a tool handler needs: the store, already confined to the server's namespace. @category models */
export type ToolContext = MemoryBackend | WorkstreamStore

/** MCP tool annotations: hints a client shows or acts on (read-only tools may run without asking). @category models */
export interface ToolHints {
  readonly readOnlyHint: boolean
  readonly destructiveHint: boolean
  readonly idempotentHint: boolean
}

/** A tool with its input decoding erased: what the server lists and calls. @category models */
export interface Tool {
  readonly name: string
  readonly description: string
  readonly inputSchema: { readonly type: "object"; readonly [key: string]: unknown }
  readonly annotations: ToolHints
  readonly call: (args: unknown) => Effect.Effect<unknown, ToolError, ToolContext>
}

/** Hints of a tool that only reads. @category constructors */
export const READ: ToolHints = { readOnlyHint: true, destructiveHint: false, idempotentHint: true }
/** Hints of a tool that adds without changing what is there. @category constructors */
export const ADD: ToolHints = { readOnlyHint: false, destructiveHint: false, idempotentHint: false }
/** Hints of a tool that adds, where a repeated call changes nothing more. @category constructors */
export const ADD_ONCE: ToolHints = { readOnlyHint: false, destructiveHint: false, idempotentHint: true }
/** Hints of a tool that changes or removes what is there. @category constructors */
export const CHANGE: ToolHints = { readOnlyHint: false, destructiveHint: true, idempotentHint: false }
/** Hints of a tool that removes, where a repeated call changes nothing more. @category constructors */
export const REMOVE: ToolHints = { readOnlyHint: false, destructiveHint: true, idempotentHint: true }

/** JSON Schema of a tool's input: the schema's own, without the meta-schema line clients do not need. */
const jsonSchemaOf = <A, I>(schema: Schema.Schema<A, I, never>): Tool["inputSchema"] => {
  const { $schema: _, ...rest } = JSONSchema.make(schema, { target: "jsonSchema7" })
  return { ...rest, type: "object" }
}

/**
 * A tool: `input` decodes the call's arguments (a failure is InvalidInput naming the field, and the handler never
 * runs); `run` answers with JSON data.
 *
 * @category constructors
 */
export const tool = <A, I>(options: {
  readonly name: string
  readonly description: string
  readonly input: Schema.Schema<A, I, never>
  readonly hints: ToolHints
  readonly run: (args: A) => Effect.Effect<unknown, ToolError, ToolContext>
}): Tool => {
  const decode = decodeEither(options.input)
  return {
    name: options.name,
    description: options.description,
    inputSchema: jsonSchemaOf(options.input),
    annotations: options.hints,
    call: (args) =>
      Either.match(decode(args ?? {}), {
        onLeft: (message) => Effect.fail(new InvalidInput({ method: options.name, message: `bad arguments: ${message}` })),
        onRight: options.run
      })
  }
}

/** The message a model reads for a failed call: what was wrong, and what to do about it when there is something. @category errors */
export const toolErrorText = (e: ToolError): string => {
  switch (e._tag) {
    case "InvalidInput":
      return e.message
    case "NotFound":
      return `${e.entity} ${e.id} does not exist in this server's namespace (list them with the ${e.entity === "memory" ? "memory_list" : "thread_list"} tool)`
    case "StorageError":
      return `the store failed (${e.method}); the call may be retried`
    case "EmbeddingError":
    case "EmbeddingSpaceMismatch":
    case "Conflict":
      return e.message
  }
}

/** `{ key: value }` when the value is present, `{}` otherwise (for exact optional properties). @category helpers */
export const given = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  value === undefined ? {} : ({ [key]: value } as { [P in K]?: V })

/** The `limit` argument of a list-like tool: 1..max, `fallback` when absent. @category schemas */
export const Limit = (fallback: number, max: number) =>
  Schema.optional(Schema.Int.pipe(Schema.between(1, max))).annotations({
    description: `How many items one call returns (1 to ${max}, default ${fallback}); pass nextCursor to read on`
  })

/** The `cursor` argument of a list-like tool. @category schemas */
export const Cursor = Schema.optional(Schema.String).annotations({
  description: "The nextCursor a previous call of this tool returned, to read the next page"
})

const CursorJson = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number) }))
const decodeCursorJson = Schema.decodeUnknownOption(CursorJson)

/** A cursor from its fields, opaque to the client (base64url JSON). @category paging */
export const encodeCursor = (fields: Readonly<Record<string, string | number>>): string =>
  Buffer.from(JSON.stringify(fields), "utf8").toString("base64url")

/** A cursor's fields; a cursor this server did not make for `tool` is InvalidInput. @category paging */
export const decodeCursor = (tool: string, cursor: string): Effect.Effect<Readonly<Record<string, string | number>>, InvalidInput> =>
  Option.match(decodeCursorJson(Buffer.from(cursor, "base64url").toString("utf8")), {
    onSome: (fields) => fields["tool"] === tool ? Effect.succeed(fields) : Effect.fail(badCursor(tool)),
    onNone: () => Effect.fail(badCursor(tool))
  })

const badCursor = (tool: string) =>
  new InvalidInput({ method: tool, message: `cursor is not one ${tool} returned: pass nextCursor unchanged, or omit it to start over` })

/** One page of a list and the cursor of the next (absent on the last page). @category paging */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | undefined
}

/**
 * A page of `list(filter)` (newest first, createdAt desc then id desc) after the position a cursor holds: the
 * store's own `until` bound reads from the cursor's instant on, and the few memories of that very instant already
 * returned are skipped, so a page costs O(limit + ties), not O(offset), and nothing is returned twice.
 *
 * @category paging
 */
export const memoryPage = (
  backend: MemoryBackend["Type"],
  tool: string,
  filter: MemoryFilter,
  cursor: string | undefined,
  limit: number
): Effect.Effect<Page<Memory>, InvalidInput | StorageError> =>
  Effect.gen(function*() {
    const after = cursor === undefined ? undefined : yield* decodeCursor(tool, cursor)
    const at = after === undefined ? undefined : { millis: Number(after["t"]), id: String(after["id"]) }
    if (at !== undefined && !Number.isFinite(at.millis)) return yield* badCursor(tool)
    const bounded: MemoryFilter = at === undefined ? filter : { ...filter, until: DateTime.unsafeMake(at.millis) }
    const read = yield* backend.list(bounded).pipe(
      Stream.dropWhile((m) => at !== undefined && m.createdAt.epochMillis === at.millis && m.id >= at.id),
      Stream.take(limit + 1),
      Stream.runCollect
    )
    const items = Array.from(read).slice(0, limit)
    const last = items.at(-1)
    return {
      items,
      nextCursor: read.length > limit && last !== undefined
        ? encodeCursor({ ...(after ?? {}), tool, t: last.createdAt.epochMillis, id: last.id })
        : undefined
    }
  })

/** A page by position (for rankings, which have no key to resume from): the cursor holds the offset. @category paging */
export const offsetOf = (tool: string, cursor: string | undefined): Effect.Effect<number, InvalidInput> =>
  cursor === undefined
    ? Effect.succeed(0)
    : Effect.flatMap(decodeCursor(tool, cursor), (f) =>
      typeof f["offset"] === "number" && Number.isInteger(f["offset"]) && f["offset"] >= 0
        ? Effect.succeed(f["offset"])
        : Effect.fail(badCursor(tool)))

/** A memory as a tool shows it: what a model needs, without the bookkeeping. @category views */
export const memoryView = (m: Memory, now: DateTime.Utc) => ({
  id: m.id,
  type: m.contentType,
  content: m.content,
  ...(m.metadata.tags.length > 0 ? { tags: m.metadata.tags } : {}),
  ...given("subject", m.metadata.subject),
  ...given("predicate", m.metadata.predicate),
  ...given("sourcePath", m.metadata.sourcePath),
  ...given("sourceUrl", m.metadata.sourceUrl),
  ...(Object.keys(m.metadata.extra).length > 0 ? { extra: m.metadata.extra } : {}),
  source: m.confidence.source,
  confidence: Math.round(confidenceScore(m.confidence, now) * 1000) / 1000,
  ...(m.confidence.superseded ? { supersededBy: m.confidence.supersededBy ?? null } : {}),
  ...given("workstreamId", m.workstreamId),
  createdAt: DateTime.formatIso(m.createdAt),
  updatedAt: DateTime.formatIso(m.updatedAt),
  ...(m.expiresAt !== undefined ? { expiresAt: DateTime.formatIso(m.expiresAt) } : {})
})
