/**
 * The key- and namespace-addressed part of the MemoryBackend kernel: `put` (upsert by namespace and key, over the
 * driver's insert and modify primitives), `listNamespaces` (the driver's per-namespace counts, matched and paged
 * here) and `purge` (a namespace's subtree deleted batch by batch through the driver's purge primitive).
 */
import { DateTime, Effect, Option } from "effect"
import { InvalidInput, StorageError } from "../Errors.js"
import { Memory, Namespace } from "../Memory.js"
import { keyId, ListNamespacesOptions, PurgeOptions, PutMemory, selectNamespaces } from "../MemoryNamespaces.js"
import type {
  ListNamespacesOptions as ListOptions,
  PurgeOptions as PurgeInput,
  PutMemory as PutInput
} from "../MemoryNamespaces.js"
import { inSubtree, join } from "../Namespace.js"
import { decodeInput } from "./decode.js"
import { build, namespaceOf, rowsOf, withinCap } from "./memoryBuild.js"
import { updatedEvents } from "./memoryEvents.js"
import type { NewMemoryInput } from "./memoryRules.js"
import type { Kernel } from "./memoryScope.js"
import { readable, retag, within } from "./memoryScope.js"
import { resultCount, resultRecord, storeId, tracing } from "./semconv.js"

const decodePut = decodeInput(PutMemory, "MemoryBackend.put")
const decodeList = decodeInput(ListNamespacesOptions, "MemoryBackend.listNamespaces")
const decodePurgeNamespace = decodeInput(Namespace, "MemoryBackend.purge")
const decodePurge = decodeInput(PurgeOptions, "MemoryBackend.purge")

/** A put lost to concurrent puts and deletes of its key this many times in a row gives up. */
const PUT_ATTEMPTS = 8

/** `next` in place of `current`: the caller's new memory, keeping when and how often the old one was created and read. */
const replacing = (current: Memory, next: Memory): Memory =>
  new Memory({
    ...next,
    createdAt: current.createdAt,
    accessedAt: current.accessedAt,
    accessCount: current.accessCount
  }, true)

/**
 * The root the driver counts under: the prefix's leading labels up to its first wildcard, narrowed to the
 * service's scope; `None` for everything; `undefined` when the two are disjoint (nothing can match).
 */
const rootOf = (k: Kernel, prefix: ReadonlyArray<string> | undefined): Option.Option<string> | undefined => {
  const wildcard = (prefix ?? []).indexOf("*")
  const concrete = (prefix ?? []).slice(0, wildcard === -1 ? undefined : wildcard)
  const fromPrefix = concrete.length === 0 ? Option.none<string>() : Option.some(join(concrete))
  if (Option.isNone(k.scope.namespace)) return fromPrefix
  const own = k.scope.namespace.value
  if (Option.isNone(fromPrefix) || inSubtree(fromPrefix.value, own)) return k.scope.namespace
  return inSubtree(own, fromPrefix.value) ? fromPrefix : undefined
}

export const keyedMethods = (k: Kernel) => {
  const { driver, span } = k
  const { fn } = tracing(span, storeId(driver.backend, k.scope.namespace))

  const put = fn("MemoryBackend.put")(function*(raw: PutInput) {
    const method = "MemoryBackend.put"
    const input = yield* decodePut(raw)
    yield* withinCap(k, method, input.content)
    const namespace = yield* namespaceOf(k, method, input)
    const now = yield* DateTime.now
    const asNew: NewMemoryInput = { ...input, id: keyId(namespace, input.key), namespace }
    const built = (yield* build(k, method, [asNew], now))[0]!
    const memory = new Memory({ ...built.memory, key: input.key }, true)
    const row = (yield* rowsOf(k, method, [{ input: asNew, memory }], now))[0]!
    // Replace what is stored, else insert; a put or delete of the same key in between sends it round again.
    for (let attempt = 0; attempt < PUT_ATTEMPTS; attempt++) {
      const replaced = yield* driver.modify(memory.id, (current) => {
        if (!readable(k, current, now.epochMillis)) return Option.none()
        const next = replacing(current, memory)
        return Option.some({ memory: next, events: updatedEvents(current, next, now) })
      }, Option.fromNullable(row.vector))
      if (Option.isSome(replaced)) return replaced.value
      const inserted = yield* driver.insert([row], { nowMillis: now.epochMillis, same: () => false }).pipe(
        Effect.as(true),
        Effect.catchTag("MemoryIdTaken", () => Effect.succeed(false))
      )
      if (inserted) return memory
    }
    return yield* new StorageError({ method, cause: new Error(`key ${JSON.stringify(input.key)} kept changing under this put`) })
  }, retag("MemoryBackend.put"), resultRecord)

  const listNamespaces = fn("MemoryBackend.listNamespaces")(function*(raw?: ListOptions) {
    const options = yield* decodeList(raw ?? {})
    const root = rootOf(k, options.prefix)
    if (root === undefined) return []
    return selectNamespaces(yield* driver.namespaces(root, (yield* DateTime.now).epochMillis), options)
  }, retag("MemoryBackend.listNamespaces"))

  // Batch after batch, each its own transaction, until one comes back short: the subtree was empty when it looked.
  const purge = fn("MemoryBackend.purge")(function*(rawNamespace: string, raw?: PurgeInput) {
    const namespace = yield* decodePurgeNamespace(rawNamespace)
    const { batchSize } = yield* decodePurge(raw ?? {})
    if (!within(k, namespace)) {
      return yield* new InvalidInput({
        method: "MemoryBackend.purge",
        message: `this service is confined to namespace ${JSON.stringify(Option.getOrElse(k.scope.namespace, () => ""))}`
      })
    }
    let purged = 0
    for (;;) {
      const removed = yield* driver.purge(namespace, batchSize)
      purged += removed
      if (removed < batchSize) return purged
    }
  }, retag("MemoryBackend.purge"), resultCount)

  return { put, listNamespaces, purge }
}
