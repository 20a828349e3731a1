/**
 * What the kernel's encoded-store modules share: the one row codec (a memory as JSON text, its events likewise),
 * paging through an `EncodedDriver`'s rows, and its embedding state.
 */
import { Effect, Option, Schema } from "effect"
import { StorageError } from "../Errors.js"
import { Memory } from "../Memory.js"
import type { EncodedDriver, EncodedMemory } from "../MemoryBackend/Driver.js"
import { MemoryEventJson } from "../MemoryEvent.js"
import type { MemoryEvent } from "../MemoryEvent.js"
import { inSubtree } from "../Namespace.js"
import { stateOf } from "./memoryGenerations.js"

const MemoryJson = Schema.parseJson(Memory)
const failed = (method: string) => (cause: unknown) => new StorageError({ method, cause })

/** The one row codec of every encoded store; a row that does not decode is a StorageError. */
export const codec = {
  decode: (method: string, rows: ReadonlyArray<EncodedMemory>) =>
    Effect.mapError(Effect.forEach(rows, (r) => Schema.decode(MemoryJson)(r.text)), failed(method)),
  encode: (method: string, m: Memory) =>
    Effect.mapError(
      Effect.map(Schema.encode(MemoryJson)(m), (text): EncodedMemory => ({ id: m.id, namespace: m.namespace, text })),
      failed(method)
    ),
  encodeEvents: (method: string, events: ReadonlyArray<MemoryEvent>) =>
    Effect.mapError(Effect.forEach(events, (e) => Schema.encode(MemoryEventJson)(e)), failed(method)),
  decodeEvents: (method: string, texts: ReadonlyArray<string>) =>
    Effect.mapError(Effect.forEach(texts, (t) => Schema.decode(MemoryEventJson)(t)), failed(method))
}

const PAGE = 1000

/** The rows after `after` that `keep` keeps, page by page by id, until `limit` are kept or the rows run out. */
export const scan = (
  enc: EncodedDriver,
  after: Option.Option<string>,
  keep: (page: ReadonlyArray<EncodedMemory>) => Effect.Effect<ReadonlyArray<EncodedMemory>, StorageError>,
  limit: number
) =>
  Effect.gen(function*() {
    const kept: Array<EncodedMemory> = []
    let from = after
    for (;;) {
      const page = yield* enc.scan(from, PAGE)
      kept.push(...(yield* keep(page)))
      if (page.length < PAGE || kept.length >= limit) return kept.slice(0, limit)
      from = Option.some(page[page.length - 1]!.id)
    }
  })

/** Every stored row, by id. */
export const scanAll = (enc: EncodedDriver) => scan(enc, Option.none(), Effect.succeed, Infinity)

export const stateNow = (enc: EncodedDriver, method: string) => Effect.flatMap(enc.meta, (meta) => stateOf(meta, method))

export const inNamespace = (namespace: Option.Option<string>) => (row: { readonly namespace: string }) =>
  Option.match(namespace, { onNone: () => true, onSome: (ns) => inSubtree(ns, row.namespace) })
