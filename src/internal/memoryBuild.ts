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

const capExceeded = (k: Kernel, method: string, content: string) =>
  new InvalidInput({
    method,
    message: `content is ${content.length} characters; this store takes at most ${k.scope.maxContentLength}`
  })

/** Content within this service's cap (the schema already holds it to `MAX_MEMORY_CONTENT`). */
export const withinCap = (k: Kernel, method: string, content: string): Effect.Effect<void, InvalidInput> =>
  content.length <= k.scope.maxContentLength ? Effect.void : Effect.fail(capExceeded(k, method, content))

/** The namespace a new memory goes to: the input's (inside the service's subtree), else the service's, else the default. */
export const namespaceOf = (k: Kernel, method: string, input: { readonly namespace?: string | undefined }) =>
  Option.match(k.scope.namespace, {
    onNone: () => Effect.succeed(input.namespace ?? DEFAULT_NAMESPACE),
    onSome: (ns) =>
      input.namespace === undefined || within(k, input.namespace)
        ? Effect.succeed(input.namespace ?? ns)
        : Effect.fail(new InvalidInput({ method, message: `this service is confined to namespace ${JSON.stringify(ns)}` }))
  })

/**
 * Each input's memory, its expiry and namespace resolved, before anything is embedded or written. The common input
 * (no expiry of its own, no valid interval, an unscoped service) takes no Effect step per memory: in a large batch
 * those steps cost more than building the memories.
 */
export const build = (k: Kernel, method: string, inputs: ReadonlyArray<NewMemoryInput>, now: DateTime.Utc) =>
  Effect.gen(function*() {
    yield* requireDistinctIds(method, inputs)
    const fallback = defaultExpiry(now, k.scope.defaultTtl)
    const unscoped = Option.isNone(k.scope.namespace)
    const built: Array<Built> = []
    for (const input of inputs) {
      if (input.content.length > k.scope.maxContentLength) return yield* Effect.fail(capExceeded(k, method, input.content))
      const ownFallback = input.history !== undefined ? {} : fallback
      const expiry = input.expiresAt === undefined && input.ttl === undefined
        ? ownFallback
        : yield* resolveExpiry(method, input, now, ownFallback)
      const namespace = unscoped ? input.namespace ?? DEFAULT_NAMESPACE : yield* namespaceOf(k, method, input)
      const memory = buildMemory(input, input.id ?? (yield* nextId(MemoryId)), now, namespace, expiry)
      if (memory.validTo !== undefined) yield* checkInterval(method, memory)
      built.push({ input, memory })
    }
    return built
  })

const allFinite = (v: Float32Array) => {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false
  return true
}

/**
 * The given embeddings of a batch, copied into one buffer (a view each): one allocation instead of one per memory,
 * which in a large batch cost more than the copies. An embedding of the wrong length or with a value that is not
 * finite as float32 fails as `checkEmbedding` says.
 */
const givenVectors = (method: string, built: ReadonlyArray<Built>, dimensions: number) =>
  Effect.gen(function*() {
    const given = built.map((b) => (b.input.embed === false ? undefined : b.input.embedding))
    const buffer = new Float32Array(given.reduce((n, e) => n + (e === undefined ? 0 : dimensions), 0))
    const views: Array<Float32Array | undefined> = []
    let offset = 0
    for (const embedding of given) {
      if (embedding === undefined) {
        views.push(undefined)
        continue
      }
      const view = embedding.length === dimensions ? buffer.subarray(offset, offset + dimensions) : undefined
      view?.set(embedding)
      offset += dimensions
      // An embedding found wrong here gets `checkEmbedding`'s own verdict (and message).
      views.push(view !== undefined && allFinite(view) ? view : yield* checkEmbedding(method, embedding, dimensions))
    }
    return views
  })

/** The rows of a batch: given embeddings checked, the others made in one embed call, and the first events. */
export const rowsOf = (k: Kernel, method: string, built: ReadonlyArray<Built>, now: DateTime.Utc) =>
  Effect.gen(function*() {
    const given = yield* givenVectors(method, built, k.embedder.dimensions)
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
