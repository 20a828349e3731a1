/**
 * A new memory before it is written: its content within the service's cap, its namespace inside the service's
 * subtree, its id, expiry and first events, and its vector (given and checked, or embedded in one call per batch).
 * Shared by the kernel's inserts and by `put`.
 */
import type { DateTime } from "effect"
import { Effect, Option } from "effect"
import { InvalidInput } from "../Errors.js"
import { MemoryId, nextId } from "../Ids.js"
import { DEFAULT_NAMESPACE } from "../Memory.js"
import type { NewRow } from "../MemoryBackend/Driver.js"
import { initialEvents } from "./memoryEvents.js"
import { checkInterval } from "./memoryFactWrites.js"
import type { Built } from "./memoryRetry.js"
import type { NewMemoryInput } from "./memoryRules.js"
import { buildMemory, checkEmbedding, defaultExpiry, requireDistinctIds, resolveExpiry } from "./memoryRules.js"
import type { Kernel } from "./memoryScope.js"
import { within } from "./memoryScope.js"

/** Content within this service's cap (the schema already holds it to `MAX_MEMORY_CONTENT`). */
export const withinCap = (k: Kernel, method: string, content: string): Effect.Effect<void, InvalidInput> =>
  content.length <= k.scope.maxContentLength
    ? Effect.void
    : Effect.fail(
      new InvalidInput({
        method,
        message: `content is ${content.length} characters; this store takes at most ${k.scope.maxContentLength}`
      })
    )

/** The namespace a new memory goes to: the input's (inside the service's subtree), else the service's, else the default. */
export const namespaceOf = (k: Kernel, method: string, input: { readonly namespace?: string | undefined }) =>
  Option.match(k.scope.namespace, {
    onNone: () => Effect.succeed(input.namespace ?? DEFAULT_NAMESPACE),
    onSome: (ns) =>
      input.namespace === undefined || within(k, input.namespace)
        ? Effect.succeed(input.namespace ?? ns)
        : Effect.fail(new InvalidInput({ method, message: `this service is confined to namespace ${JSON.stringify(ns)}` }))
  })

/** Each input's memory, its expiry and namespace resolved, before anything is embedded or written. */
export const build = (k: Kernel, method: string, inputs: ReadonlyArray<NewMemoryInput>, now: DateTime.Utc) =>
  Effect.gen(function*() {
    yield* requireDistinctIds(method, inputs)
    const fallback = defaultExpiry(now, k.scope.defaultTtl)
    const built: Array<Built> = []
    for (const input of inputs) {
      yield* withinCap(k, method, input.content)
      const expiry = yield* resolveExpiry(method, input, now, input.history !== undefined ? {} : fallback)
      const memory = buildMemory(input, input.id ?? (yield* nextId(MemoryId)), now, yield* namespaceOf(k, method, input), expiry)
      yield* checkInterval(method, memory)
      built.push({ input, memory })
    }
    return built
  })

/** The rows of a batch: given embeddings checked, the others made in one embed call, and the first events. */
export const rowsOf = (k: Kernel, method: string, built: ReadonlyArray<Built>, now: DateTime.Utc) =>
  Effect.gen(function*() {
    const given = yield* Effect.forEach(built, (b) =>
      b.input.embedding === undefined || b.input.embed === false
        ? Effect.succeed(undefined)
        : checkEmbedding(method, b.input.embedding, k.embedder.dimensions))
    const embedded = yield* k.embed(
      built.filter((b) => b.input.embedding === undefined && b.input.embed !== false).map((b) => b.memory.content)
    )
    let next = 0
    return built.map((b, i): NewRow => ({
      memory: b.memory,
      vector: b.input.embed === false ? undefined : given[i] ?? embedded[next++]!,
      events: initialEvents(b.input, b.memory, now)
    }))
  })
