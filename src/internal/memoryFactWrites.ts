/**
 * The kernel's two-axis fact methods: storeFact's write under the driver's key lock (gathering, outside the lock,
 * the vectors and ids a re-recorded fact needs), retractFact, the `facts` timeline and `get` as of an instant.
 */
import { Chunk, DateTime, Effect, Option, Stream } from "effect"
import { InvalidInput, NotFound, StorageError } from "../Errors.js"
import type { EmbeddingError, EmbeddingSpaceMismatch } from "../Errors.js"
import { MemoryId, nextId } from "../Ids.js"
import type { Memory, StoreFactResult } from "../Memory.js"
import type { AsOf, FactEntry, GetOptions } from "../MemoryTime.js"
import { FactsOptions, GetOptions as GetOptionsSchema } from "../MemoryTime.js"
import type { FactKey, ListPosition, MemoryIdTaken, NewRow } from "../MemoryBackend/Driver.js"
import { decodeInput } from "./decode.js"
import type { Plan } from "./memoryFacts.js"
import { planFact, planResult, planRetract } from "./memoryFacts.js"
import type { DriverFilter } from "./memoryRules.js"
import { factKey } from "./memoryRules.js"
import type { Kernel } from "./memoryScope.js"
import { readable, retag } from "./memoryScope.js"
import { storeId, tracing } from "./semconv.js"
import { recordedMillis, timeFilterOf, validFromMillis, validToAt, visibleAt } from "./memoryTime.js"

/** A plan that keeps finding facts it has no vector for would only loop: after this many rounds it fails. */
const MAX_ROUNDS = 16
const PAGE = 500

const keyOf = (m: Memory, nowMillis: number): FactKey | undefined => {
  const key = factKey(m)
  return key === undefined ? undefined : { namespace: m.namespace, subject: key[0], predicate: key[1], nowMillis }
}

/** An interval that ends where or before it starts is no interval. */
export const checkInterval = (method: string, m: Memory): Effect.Effect<void, InvalidInput> =>
  m.validTo !== undefined && m.validTo.epochMillis <= validFromMillis(m)
    ? Effect.fail(new InvalidInput({ method, message: "validTo must be later than validFrom" }))
    : Effect.void

/**
 * Writes a fact under its key's lock as `planFact` decides. A plan that re-records a fact whose content has no
 * vector at hand writes nothing; the vectors (and ids) are made outside the lock and the plan runs again.
 */
export const writeFact = (
  k: Kernel,
  method: string,
  row: NewRow,
  key: FactKey,
  now: DateTime.Utc,
  explicitFrom: boolean
): Effect.Effect<StoreFactResult, MemoryIdTaken | StorageError | EmbeddingSpaceMismatch | EmbeddingError> =>
  Effect.gen(function*() {
    const vectors = new Map<string, Float32Array>(row.vector === undefined ? [] : [[row.memory.content, row.vector]])
    const ids: Array<MemoryId> = []
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let plan: Plan | undefined
      yield* k.driver.fact(key, (live) => {
        plan = planFact(live, row, now, { vectors, ids }, explicitFrom)
        return plan._tag === "Write" ? plan.write : { updates: [], insert: Option.none() }
      })
      if (plan === undefined) break
      if (plan._tag === "Write") return planResult(plan, row.memory.id)
      const texts = plan.needs.contents.filter((c) => !vectors.has(c))
      const made = yield* k.embed(texts)
      texts.forEach((t, i) => vectors.set(t, made[i]!))
      while (ids.length < plan.needs.ids) ids.push(yield* nextId(MemoryId))
    }
    return yield* new StorageError({ method, cause: new Error("the facts of this key kept changing while the write was prepared") })
  })

const decodeId = (method: string) => decodeInput(MemoryId, method)
const decodeFacts = decodeInput(FactsOptions, "MemoryBackend.facts")
const decodeGet = decodeInput(GetOptionsSchema, "MemoryBackend.get")

/** Every memory that passes `filter`, newest first. */
const listAll = (k: Kernel, filter: DriverFilter) =>
  Stream.runCollect(Stream.paginateChunkEffect(Option.none<ListPosition>(), (after) =>
    Effect.map(k.driver.listPage(filter, after, PAGE), (page) => {
      const last = page[page.length - 1]
      return [
        Chunk.unsafeFromArray(page),
        page.length < PAGE || last === undefined ? Option.none() : Option.some(Option.some({ createdAtMillis: last.createdAt.epochMillis, id: last.id }))
      ] as const
    })))

/** retractFact, facts, and the as-of test of get. */
export const timeMethods = (k: Kernel) => {
  const { driver, span } = k
  const { fn } = tracing(span, storeId(driver.backend, k.scope.namespace))

  const retractFact = fn("MemoryBackend.retractFact")(function*(rawId: MemoryId) {
    const method = "MemoryBackend.retractFact"
    const id = yield* decodeId(method)(rawId)
    const now = yield* DateTime.now
    const found = yield* driver.get(id)
    if (Option.isNone(found) || !readable(k, found.value, now.epochMillis)) return yield* new NotFound({ entity: "memory", id })
    const key = keyOf(found.value, now.epochMillis)
    if (key !== undefined) {
      // A retraction inserts nothing, so no id can be taken.
      yield* Effect.catchTag(driver.fact(key, (live) => planRetract(live, id, now)), "MemoryIdTaken", (cause) => new StorageError({ method, cause }))
      return
    }
    yield* driver.modify(id, (current) =>
      current.retractedAt !== undefined ? Option.none() : Option.fromNullable(planRetract([current], id, now).updates[0]), Option.none())
  }, retag("MemoryBackend.retractFact"))

  const facts = fn("MemoryBackend.facts")(function*(rawSubject: string, rawOptions?: FactsOptions) {
    const method = "MemoryBackend.facts"
    const options = yield* decodeFacts(rawOptions ?? {})
    const now = yield* DateTime.now
    const namespace = Option.getOrUndefined(k.scope.namespace) ?? options.namespace
    if (Option.isSome(k.scope.namespace) && options.namespace !== undefined && options.namespace !== namespace) {
      return yield* new InvalidInput({ method, message: `this service is confined to namespace ${JSON.stringify(namespace)}` })
    }
    const time = timeFilterOf(options.asOf ?? {}, now.epochMillis, false)
    const rows = yield* listAll(k, {
      includeSuperseded: true,
      nowMillis: now.epochMillis,
      time,
      fact: { subject: rawSubject, ...(options.predicate !== undefined ? { predicate: options.predicate } : {}) },
      ...(namespace !== undefined ? { namespace } : {})
    })
    return Chunk.toReadonlyArray(rows)
      .map((memory): FactEntry<Memory> => {
        const to = validToAt(memory, time.recordedMillis)
        return {
          memory,
          validFrom: memory.validFrom ?? memory.createdAt,
          recordedAt: DateTime.unsafeMake(recordedMillis(memory)),
          ...(to !== undefined ? { validTo: DateTime.unsafeMake(to) } : {})
        }
      })
      .sort((a, b) =>
        (a.memory.metadata.predicate ?? "").localeCompare(b.memory.metadata.predicate ?? "") ||
        a.validFrom.epochMillis - b.validFrom.epochMillis ||
        a.recordedAt.epochMillis - b.recordedAt.epochMillis
      )
  }, retag("MemoryBackend.facts"))

  return { retractFact, facts }
}

/** Whether `get` with these options may return `m` (no `asOf`: any stored memory, as before). */
export const heldAsOf = (rawOptions: GetOptions | undefined, m: Memory, nowMillis: number) =>
  rawOptions?.asOf === undefined
    ? Effect.succeed(true)
    : Effect.map(decodeGet(rawOptions), (o) => visibleAt(m, timeFilterOf(o.asOf ?? {}, nowMillis)))

/** The driver filter's as-of part for a decoded `asOf` (none: the current view). */
export const asOfFilter = (asOf: AsOf | undefined, nowMillis: number) =>
  asOf === undefined ? {} : { time: timeFilterOf(asOf, nowMillis) }
