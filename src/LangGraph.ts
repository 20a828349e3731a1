/**
 * A LangGraph.js store over the MemoryBackend: `ArawnStore extends BaseStore` (from `@langchain/langgraph-checkpoint`,
 * an optional peer), so a graph's long-term memory lives in any MemoryBackend layer (in-memory, SQLite with vector
 * and full-text search in one file, PostgreSQL with pgvector) and is searched by the backend's hybrid ranking.
 *
 * How an item maps onto a memory: its namespace's labels, each escaped (`%`, `/` and white space as `%XX`), joined by
 * `/` into a namespace path, so a search under a prefix is a subtree read; its key is the memory's key (`put`
 * upserts by it); its value is the memory's `metadata.extra`, so `filter` becomes a `where` on `extra.<field>`; the
 * text of its indexed fields (the whole value by default) is its content, embedded unless `index: false`.
 *
 * @since 0.2.0
 */
import { BaseStore, getTextAtPath } from "@langchain/langgraph-checkpoint"
import type {
  GetOperation,
  Item,
  ListNamespacesOperation,
  Operation,
  OperationResults,
  PutOperation,
  SearchItem,
  SearchOperation
} from "@langchain/langgraph-checkpoint"
import { Cause, Chunk, DateTime, Effect, Exit, Layer, ManagedRuntime, Option, Stream } from "effect"
import type { Memory } from "./Memory.js"
import { MemoryBackend } from "./MemoryBackend.js"
import type { MemoryBackendService } from "./MemoryBackend.js"
import { keyId } from "./MemoryNamespaces.js"
import type { ListNamespacesOptions } from "./MemoryNamespaces.js"
import type { WhereInput } from "./Where.js"

/** How items are indexed for search. @category options */
export interface ArawnStoreOptions {
  /**
   * The value fields whose text is embedded and searched by words (LangGraph's `index.fields`: `"$"` is the whole
   * value, `"a.b"` a nested field, `"list[*].text"` every element's); default `["$"]`. `false`: no item is embedded
   * (items are still found by words and filters). The embedding model is the backend's `Embedder`.
   */
  readonly index?: { readonly fields?: ReadonlyArray<string> | undefined } | false | undefined
}

const ESCAPED = /[%/\s]/gu

/** A namespace label as a path label: `%`, `/` and white space escaped, so labels never split or get trimmed. */
export const escapeLabel = (label: string): string => label.replace(ESCAPED, (c) => encodeURIComponent(c))

/** A path label back as the namespace label it escaped. */
export const unescapeLabel = (label: string): string => label.includes("%") ? decodeURIComponent(label) : label

const toNamespace = (labels: ReadonlyArray<string>): string => labels.map(escapeLabel).join("/")
const toLabels = (namespace: string): Array<string> => namespace.split("/").map(unescapeLabel)
const toDate = (t: DateTime.Utc): Date => DateTime.toDateUtc(t)

const itemOf = (m: Memory, labels: ReadonlyArray<string>): Item => ({
  namespace: [...labels],
  key: m.key ?? m.id,
  value: { ...m.metadata.extra },
  createdAt: toDate(m.createdAt),
  updatedAt: toDate(m.updatedAt)
})

/** A filter on value fields as a `where` on `extra.<field>` (operators `$eq $ne $gt $gte $lt $lte $in $nin` pass through). */
const whereOf = (filter: Record<string, unknown> | undefined): WhereInput | undefined =>
  filter === undefined || Object.keys(filter).length === 0
    ? undefined
    : Object.fromEntries(Object.entries(filter).map(([field, condition]) => [`extra.${field}`, condition]))

/** Runs one effect and settles its promise: a typed failure rejects with the error itself, not a fiber wrapper. */
const run = <A, E>(effect: Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) => Exit.isSuccess(exit) ? exit.value : Promise.reject(Cause.squash(exit.cause)))

/**
 * A LangGraph `BaseStore` over a MemoryBackend service. Operations of a batch run one after another, in order, so a
 * batch reads its own earlier writes. See the README for the `BaseStore` behaviours it does not support.
 *
 * @category stores
 */
export class ArawnStore extends BaseStore {
  readonly #memory: MemoryBackendService
  readonly #fields: ReadonlyArray<string> | false
  readonly #close: () => Promise<void>

  constructor(memory: MemoryBackendService, options: ArawnStoreOptions = {}, close: () => Promise<void> = () => Promise.resolve()) {
    super()
    this.#memory = memory
    this.#fields = options.index === false ? false : options.index?.fields ?? ["$"]
    this.#close = close
  }

  /** The store over the `MemoryBackend` in context. */
  static make(options: ArawnStoreOptions = {}): Effect.Effect<ArawnStore, never, MemoryBackend> {
    return Effect.map(MemoryBackend, (memory) => new ArawnStore(memory, options))
  }

  /** The store over a MemoryBackend layer built now and released by `stop()` (e.g. a SQLite file closed). */
  static async fromLayer<E>(layer: Layer.Layer<MemoryBackend, E>, options: ArawnStoreOptions = {}): Promise<ArawnStore> {
    const runtime = ManagedRuntime.make(layer)
    const memory = await runtime.runPromise(MemoryBackend).catch(async (e: unknown) => {
      await runtime.dispose()
      throw e
    })
    return new ArawnStore(memory, options, () => runtime.dispose())
  }

  async batch<Op extends Array<Operation>>(operations: Op): Promise<OperationResults<Op>> {
    const results: Array<unknown> = []
    for (const op of operations) results.push(await run(this.#operation(op)))
    // The results follow the operations one for one, which is what OperationResults<Op> spells out per position.
    return results as OperationResults<Op>
  }

  override stop(): Promise<void> {
    return this.#close()
  }

  #operation(op: Operation): Effect.Effect<unknown, unknown> {
    if ("namespacePrefix" in op) return this.#search(op)
    if ("value" in op) return this.#put(op)
    if ("key" in op) return this.#get(op)
    return this.#listNamespaces(op)
  }

  #get(op: GetOperation): Effect.Effect<Item | null, unknown> {
    const namespace = toNamespace(op.namespace)
    return Effect.map(this.#memory.get(keyId(namespace, op.key)), (found) =>
      Option.match(Option.filter(found, (m) => m.namespace === namespace && m.key === op.key), {
        onNone: () => null,
        onSome: (m) => itemOf(m, op.namespace)
      }))
  }

  #put(op: PutOperation): Effect.Effect<void, unknown> {
    const namespace = toNamespace(op.namespace)
    if (op.value === null) return this.#memory.delete(keyId(namespace, op.key))
    const fields = op.index === false ? false : op.index ?? this.#fields
    const texts = fields === false ? [] : fields.flatMap((f) => (f === "$" ? [JSON.stringify(op.value)] : getTextAtPath(op.value, f)))
    const text = texts.join("\n")
    const indexed = text.trim().length > 0
    return Effect.asVoid(this.#memory.put({
      namespace,
      key: op.key,
      // Without indexed text, the item is still found by the words of its value, never by vector search.
      content: indexed ? text : JSON.stringify(op.value),
      source: "stated",
      metadata: { extra: op.value },
      ...(indexed ? {} : { embed: false as const })
    }))
  }

  #search(op: SearchOperation): Effect.Effect<Array<SearchItem>, unknown> {
    const limit = op.limit ?? 10
    const offset = op.offset ?? 0
    const where = whereOf(op.filter)
    const scope = {
      ...(op.namespacePrefix.length > 0 ? { namespace: toNamespace(op.namespacePrefix) } : {}),
      ...(where !== undefined ? { where } : {})
    }
    if (op.query === undefined || op.query.trim().length === 0) {
      return Effect.map(
        Stream.runCollect(this.#memory.list(scope).pipe(Stream.filter((m) => m.key !== undefined), Stream.drop(offset), Stream.take(limit))),
        (memories) => Chunk.toArray(memories).map((m): SearchItem => itemOf(m, toLabels(m.namespace)))
      )
    }
    return Effect.map(
      this.#memory.search(op.query, { ...scope, limit, offset }),
      (hits) => hits.filter((h) => h.memory.key !== undefined).map((h): SearchItem => ({ ...itemOf(h.memory, toLabels(h.memory.namespace)), score: h.score }))
    )
  }

  #listNamespaces(op: ListNamespacesOperation): Effect.Effect<Array<Array<string>>, unknown> {
    const conditions = op.matchConditions ?? []
    const pattern = (type: "prefix" | "suffix") => {
      const found = conditions.filter((c) => c.matchType === type)
      if (found.length > 1) return Effect.fail(new Error(`listNamespaces takes at most one ${type} condition`))
      return Effect.succeed(found[0]?.path.map((label) => (label === "*" ? "*" : escapeLabel(label))))
    }
    return Effect.gen(this, function*() {
      const [prefix, suffix] = [yield* pattern("prefix"), yield* pattern("suffix")]
      const options: ListNamespacesOptions = {
        limit: op.limit,
        offset: op.offset,
        ...(prefix !== undefined ? { prefix } : {}),
        ...(suffix !== undefined ? { suffix } : {}),
        ...(op.maxDepth !== undefined ? { maxDepth: op.maxDepth } : {})
      }
      return (yield* this.#memory.listNamespaces(options)).map((n) => n.labels.map(unescapeLabel))
    })
  }
}
