/**
 * The shapes of the MemoryBackend's key-addressed writes and namespace listing: `put` (upsert by a caller key in a
 * namespace) and `listNamespaces` (the namespaces of a subtree with their statistics).
 *
 * @since 0.2.0
 */
import { createHash } from "node:crypto"
import { DateTime, Schema } from "effect"
import { MemoryId } from "./Ids.js"
import { isStorableText } from "./Json.js"
import { NewMemory } from "./Memory.js"
import { join, labels as labelsOf } from "./Namespace.js"

/** A caller's key for a memory: 1 to 1024 characters, well-formed, without NUL. @category inputs */
export const MemoryKey = Schema.String.pipe(
  Schema.filter((s) =>
    (s.length >= 1 && s.length <= 1024 && isStorableText(s)) || "key must be 1 to 1024 characters, without NUL"
  )
)

const { id: _id, history: _history, ...newMemoryFields } = NewMemory.fields

/**
 * What `put` takes: a new memory (without `id` or `history`) and its key. The memory stored under the same namespace
 * and key is replaced (its createdAt kept), else one is inserted.
 *
 * @category inputs
 */
export const PutMemory = Schema.Struct({ ...newMemoryFields, key: MemoryKey })
/** @category inputs */
export type PutMemory = typeof PutMemory.Encoded

/**
 * The id of the memory with `key` in `namespace`: a name-based UUID (version 8, SHA-256 of both), so the key's
 * uniqueness is the id's, which every layer enforces already, and a read by key is a read by id.
 *
 * @category ids
 */
export const keyId = (namespace: string, key: string): MemoryId => {
  const h = createHash("sha256").update(JSON.stringify([namespace, key])).digest("hex")
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)
  return MemoryId.make(`${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`)
}

const Labels = Schema.Array(Schema.String.pipe(Schema.minLength(1)))

/**
 * Which namespaces `listNamespaces` returns: those whose leading labels match `prefix` and trailing labels match
 * `suffix` (a `*` label matches any one label), cut to their first `maxDepth` labels (merging those that become
 * equal), sorted, then `offset` skipped and `limit` (default 100) returned.
 *
 * @category inputs
 */
export const ListNamespacesOptions = Schema.Struct({
  prefix: Schema.optional(Labels),
  suffix: Schema.optional(Labels),
  maxDepth: Schema.optional(Schema.Int.pipe(Schema.positive())),
  limit: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 10_000)), { default: () => 100 }),
  offset: Schema.optionalWith(Schema.NonNegativeInt, { default: () => 0 })
})
/** @category inputs */
export type ListNamespacesOptions = typeof ListNamespacesOptions.Encoded

/**
 * How `purge` runs: `batchSize` memories per transaction (1 to 10,000, default 500), so a large subtree never holds
 * the store's write lock for long and an interrupted purge leaves only whole memories behind.
 *
 * @category inputs
 */
export const PurgeOptions = Schema.Struct({
  batchSize: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 10_000)), { default: () => 500 })
})
/** @category inputs */
export type PurgeOptions = typeof PurgeOptions.Encoded

/** One namespace's statistics (summed over the namespaces `maxDepth` merged into it). @category models */
export interface NamespaceStats {
  readonly namespace: string
  readonly labels: ReadonlyArray<string>
  /** Unexpired memories, superseded ones included. */
  readonly memories: number
  /** How many of them have a vector (the others were stored with `embed: false`). */
  readonly embedded: number
  /** The latest updatedAt among them. */
  readonly lastUpdated: DateTime.Utc
}

/** A driver's count of one namespace's unexpired memories. @category driver */
export interface NamespaceCount {
  readonly namespace: string
  readonly memories: number
  readonly embedded: number
  readonly updatedAtMillis: number
}

/** Whether `labels` match `pattern` from the start (`fromEnd`: from the end); `*` matches any label. */
const matches = (labels: ReadonlyArray<string>, pattern: ReadonlyArray<string>, fromEnd: boolean) =>
  pattern.length <= labels.length &&
  pattern.every((p, i) => p === "*" || p === labels[fromEnd ? labels.length - pattern.length + i : i])

/** The namespaces `options` selects among the driver's counts, merged, sorted and paged. @category namespaces */
export const selectNamespaces = (
  counts: ReadonlyArray<NamespaceCount>,
  options: typeof ListNamespacesOptions.Type
): ReadonlyArray<NamespaceStats> => {
  const merged = new Map<string, { labels: ReadonlyArray<string>; memories: number; embedded: number; updated: number }>()
  for (const c of counts) {
    const all = labelsOf(c.namespace)
    if (options.prefix !== undefined && !matches(all, options.prefix, false)) continue
    if (options.suffix !== undefined && !matches(all, options.suffix, true)) continue
    const labels = options.maxDepth === undefined ? all : all.slice(0, options.maxDepth)
    const name = join(labels)
    const seen = merged.get(name)
    merged.set(name, {
      labels,
      memories: (seen?.memories ?? 0) + c.memories,
      embedded: (seen?.embedded ?? 0) + c.embedded,
      updated: Math.max(seen?.updated ?? -Infinity, c.updatedAtMillis)
    })
  }
  return Array.from(merged, ([namespace, s]) => ({
    namespace,
    labels: s.labels,
    memories: s.memories,
    embedded: s.embedded,
    lastUpdated: DateTime.unsafeMake(s.updated)
  }))
    .sort((a, b) => compareLabels(a.labels, b.labels))
    .slice(options.offset, options.offset + options.limit)
}

/** Label by label in code-unit order, a parent before its children. */
const compareLabels = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1
  }
  return a.length - b.length
}
