/**
 * The MemoryBackend contract over a driver: decoding, ids and time, namespaces and expiry, embedding and vector
 * checks, history events and the storeFact decision happen here, once for every backend. `MemoryBackend.make` is
 * the public door; the read methods live in `memoryReads.ts`.
 */
import { DateTime, Effect, Either, Option, Schema } from "effect"
import type { Embedder } from "../Embedder.js"
import { EmbeddingError, InvalidInput, NotFound } from "../Errors.js"
import { MemoryId } from "../Ids.js"
import { MAX_MEMORY_CONTENT, MemoryPatch, Namespace, NewMemory, Ttl } from "../Memory.js"
import type { StoreFactResult } from "../Memory.js"
import type { MemoryBackendService, Options } from "../MemoryBackend/Service.js"
import type { Driver, MemoryIdTaken } from "../MemoryBackend/Driver.js"
import { decodeEither, decodeInput } from "./decode.js"
import type { Expiry, NewMemoryInput } from "./memoryRules.js"
import { applyPatch, factKey, resolveExpiry } from "./memoryRules.js"
import { updatedEvents } from "./memoryEvents.js"
import { timeMethods, writeFact } from "./memoryFactWrites.js"
import { build, rowsOf, withinCap } from "./memoryBuild.js"
import { readMethods } from "./memoryReads.js"
import type { Kernel, Resolved } from "./memoryScope.js"
import { readable, retag, within } from "./memoryScope.js"
import { keyedMethods } from "./memoryKeyed.js"
import { argumentId, resultCount, resultId, resultRecord, storeId, tracing } from "./semconv.js"
import { idTaken, isRetry, occupiedBy } from "./memoryRetry.js"

const decodeNamespace = (method: string) => decodeInput(Namespace, method)
const decodeTtl = decodeInput(Ttl, "MemoryBackend.open")

export const resolveOptions = (options: Options): Effect.Effect<Resolved, InvalidInput> =>
  Effect.all({
    namespace: Effect.transposeOption(Option.map(Option.fromNullable(options.namespace), decodeNamespace("MemoryBackend.open"))),
    defaultTtl: options.defaultTtl === undefined ? Effect.succeed(undefined) : decodeTtl(options.defaultTtl),
    extendOnAccess: Effect.succeed(options.extendOnAccess === true),
    maxContentLength: decodeMaxContent(options.maxContentLength)
  })

const decodeMaxContent = (max: number | undefined): Effect.Effect<number, InvalidInput> =>
  max === undefined
    ? Effect.succeed(MAX_MEMORY_CONTENT)
    : Number.isSafeInteger(max) && max >= 1 && max <= MAX_MEMORY_CONTENT
    ? Effect.succeed(max)
    : Effect.fail(
      new InvalidInput({
        method: "MemoryBackend.open",
        message: `maxContentLength must be a whole number from 1 to ${MAX_MEMORY_CONTENT} (MAX_MEMORY_CONTENT), got ${max}`
      })
    )

/** The embedder's vectors, checked to be one per text and of its declared length (a remote model may not be). */
const embedChecked = (embedder: Embedder["Type"]) => (texts: ReadonlyArray<string>) =>
  texts.length === 0
    ? Effect.succeed<ReadonlyArray<Float32Array>>([])
    : Effect.flatMap(embedder.embed(texts), (vectors) =>
      vectors.length === texts.length && vectors.every((v) => v.length === embedder.dimensions)
        ? Effect.succeed(vectors)
        : Effect.fail(
          new EmbeddingError({
            cause: new Error(`the embedder returned ${vectors.length} vectors for ${texts.length} texts, or of the wrong length`)
          })
        ))

const taken = (method: string) => (e: MemoryIdTaken) => idTaken(method, e.id)

const decodeBatch = decodeInput(Schema.Array(NewMemory), "MemoryBackend.storeMany")
const decodeItem = decodeEither(NewMemory)

/**
 * A batch decoded input by input, synchronously: a third cheaper than `Schema.Array` over the whole batch. A batch
 * that is not an array, or has an input that fails, is decoded whole again for the error (which names the index).
 */
const decodeMany = (raw: unknown): Effect.Effect<ReadonlyArray<NewMemoryInput>, InvalidInput> => {
  if (!Array.isArray(raw)) return decodeBatch(raw)
  const inputs: Array<NewMemoryInput> = []
  for (const item of raw) {
    const decoded = decodeItem(item)
    if (Either.isLeft(decoded)) return decodeBatch(raw)
    inputs.push(decoded.right)
  }
  return Effect.succeed(inputs)
}
const decodeNew = (method: string) => decodeInput(NewMemory, method)
const decodeId = (method: string) => decodeInput(MemoryId, method)
const decodePatch = decodeInput(MemoryPatch, "MemoryBackend.update")

/** Ids, vectors, memories and their first events for a batch, made before the driver is called: a failure writes nothing. */
const prepare = (k: Kernel, method: string, inputs: ReadonlyArray<NewMemoryInput>) =>
  Effect.gen(function*() {
    const now = yield* DateTime.now
    const built = yield* build(k, method, inputs, now)
    return { built, rows: yield* rowsOf(k, method, built, now), now }
  })

/** Inserts a batch; given ids already held are retries (returned, not written), expired holders are replaced. */
const insert = (k: Kernel, method: string, inputs: ReadonlyArray<NewMemoryInput>) =>
  Effect.gen(function*() {
    const now = yield* DateTime.now
    const built = yield* build(k, method, inputs, now)
    const ids = built.map((b) => b.memory.id)
    // The read before the transaction only spares a retry its embedding; a batch that brings every vector goes
    // straight to the insert, which checks the same ids in its transaction (a retry writes nothing there either).
    const embeds = built.some((b) => b.input.embedding === undefined)
    if (embeds && (yield* isRetry(k.driver, method, built, now.epochMillis))) return ids
    const rows = yield* rowsOf(k, method, built, now)
    yield* Effect.catchTag(k.driver.insert(rows, occupiedBy(built, now.epochMillis)), "MemoryIdTaken", (e) => Effect.fail(taken(method)(e)))
    return ids
  })

/** The expiry an update asks for: `None` keeps the current one. */
const patchExpiry = (method: string, patch: typeof MemoryPatch.Type, now: DateTime.Utc) =>
  patch.expiresAt === undefined && patch.ttl === undefined
    ? Effect.succeedNone
    : Effect.asSome(resolveExpiry(method, patch, now, {}))

/** store, storeMany, storeFact, update and delete. */
const writeMethods = (k: Kernel) => {
  const { driver, span } = k
  const { fn } = tracing(span, storeId(driver.backend, k.scope.namespace))
  const store = fn("MemoryBackend.store")(function*(raw: NewMemory) {
    const method = "MemoryBackend.store"
    return (yield* insert(k, method, [yield* decodeNew(method)(raw)]))[0]!
  }, retag("MemoryBackend.store"), resultId)

  const storeMany = fn("MemoryBackend.storeMany")(function*(raw: ReadonlyArray<NewMemory>) {
    const inputs = yield* decodeMany(raw)
    return inputs.length === 0 ? [] : yield* insert(k, "MemoryBackend.storeMany", inputs)
  }, retag("MemoryBackend.storeMany"), resultCount)

  const storeFact = fn("MemoryBackend.storeFact")(function*(raw: NewMemory) {
    const method = "MemoryBackend.storeFact"
    const { built, now, rows } = yield* prepare(k, method, [yield* decodeNew(method)(raw)])
    const row = rows[0]!
    const key = factKey(row.memory)
    if (key === undefined) {
      yield* Effect.catchTag(driver.insert(rows, occupiedBy(built, now.epochMillis)), "MemoryIdTaken", (e) => Effect.fail(taken(method)(e)))
      return { id: row.memory.id, outcome: "inserted", supersededIds: [] } satisfies StoreFactResult
    }
    const factKeyOf = { namespace: row.memory.namespace, subject: key[0], predicate: key[1], nowMillis: now.epochMillis }
    return yield* writeFact(k, method, row, factKeyOf, now, built[0]!.input.validFrom !== undefined).pipe(Effect.catchTag("MemoryIdTaken", (e) => Effect.fail(taken(method)(e))))
  }, retag("MemoryBackend.storeFact"), resultRecord)

  const update = fn("MemoryBackend.update")(function*(rawId: MemoryId, rawPatch: MemoryPatch) {
    const method = "MemoryBackend.update"
    const id = yield* decodeId(method)(rawId)
    const patch = yield* decodePatch(rawPatch)
    if (patch.content !== undefined) yield* withinCap(k, method, patch.content)
    // Embedding comes first, outside the driver's lock; the patch then applies to the row as it is at that moment,
    // so a concurrent update is kept and a concurrent delete is not undone.
    const vector = patch.content === undefined ? Option.none() : Option.some((yield* k.embed([patch.content]))[0]!)
    const now = yield* DateTime.now
    const expiry = yield* patchExpiry(method, patch, now)
    const next = yield* driver.modify(id, (current) => {
      // A memory this service may not read (another namespace's, an expired one) is as good as absent.
      if (!readable(k, current, now.epochMillis)) return Option.none()
      const keep: Expiry = { ...(current.expiresAt ? { expiresAt: current.expiresAt } : {}), ...(current.ttlMillis ? { ttlMillis: current.ttlMillis } : {}) }
      const memory = applyPatch(current, patch, now, Option.getOrElse(expiry, () => keep))
      return Option.some({ memory, events: updatedEvents(current, memory, now) })
    }, vector)
    return yield* Option.match(next, {
      onNone: () => Effect.fail(new NotFound({ entity: "memory", id })),
      onSome: Effect.succeed
    })
  }, retag("MemoryBackend.update"), argumentId)

  const delete_ = fn("MemoryBackend.delete")(function*(rawId: MemoryId) {
    yield* driver.delete(yield* decodeId("MemoryBackend.delete")(rawId), k.scope.namespace)
  }, retag("MemoryBackend.delete"), argumentId)

  return { store, storeMany, storeFact, update, delete: delete_ }
}

/** The service over `driver` for `scope`; `scoped` builds the same over a narrower scope. */
export const makeKernel = (driver: Driver, embedder: Embedder["Type"], scope: Resolved): MemoryBackendService => {
  // No call-site stack on the spans: Effect would capture one per call (about 20 us, a tenth of a small store's
  // get); the span's name says which method it was.
  const span = { attributes: { "arawn.backend": driver.backend }, captureStackTrace: false } as const
  const k: Kernel = { driver, embedder, embed: embedChecked(embedder), span, scope }
  const scoped = (raw: string) =>
    Effect.flatMap(decodeNamespace("MemoryBackend.scoped")(raw), (namespace) =>
      Option.match(scope.namespace, {
        onSome: (own) =>
          own === namespace
            ? Effect.succeed(service)
            : within(k, namespace)
            ? Effect.succeed(makeKernel(driver, embedder, { ...scope, namespace: Option.some(namespace) }))
            : Effect.fail(new InvalidInput({ method: "MemoryBackend.scoped", message: `this service is confined to namespace ${JSON.stringify(own)}` })),
        onNone: () => Effect.succeed(makeKernel(driver, embedder, { ...scope, namespace: Option.some(namespace) }))
      }))
  const service: MemoryBackendService = { ...writeMethods(k), ...readMethods(k), ...keyedMethods(k), ...timeMethods(k), scoped }
  return service
}
