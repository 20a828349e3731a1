import { Effect, Layer, Option } from "effect"
import { MemoryBackend } from "arawn-store"
import type { EncodedChange, EncodedDriver, EncodedMemory } from "arawn-store/MemoryBackend/Driver"

// A backend is a driver: rows, their history, vectors by generation and a little metadata, kept as the kernel
// encoded them. The kernel (MemoryBackend.makeEncoded) does the rest of the contract: decoding, ids, time, filters,
// vector and text search, facts, expiry, the embedding space and reindex, errors, spans.
export const layerWith = (options: MemoryBackend.Options = {}) =>
  Layer.effect(
    MemoryBackend.MemoryBackend,
    Effect.gen(function*() {
      const rows = new Map<string, EncodedMemory>()
      const events = new Map<string, Array<string>>()
      const vectors = new Map<number, Map<string, Float32Array>>()
      const meta = new Map<string, string>()
      const lock = yield* Effect.makeSemaphore(1)
      // Each change is applied in one synchronous step, so it is atomic; `locked` runs one step sequence at a time.
      const apply = (change: EncodedChange) => {
        for (const generation of change.dropGenerations ?? []) vectors.delete(generation)
        for (const id of change.remove ?? []) {
          rows.delete(id)
          events.delete(id)
          for (const generation of vectors.values()) generation.delete(id)
        }
        for (const row of change.put ?? []) rows.set(row.id, row)
        for (const [id, texts] of change.events ?? []) events.set(id, [...(events.get(id) ?? []), ...texts])
        for (const { generation, id, vector } of change.vectors ?? []) {
          const stored = vectors.get(generation) ?? new Map<string, Float32Array>()
          vectors.set(generation, stored.set(id, vector))
        }
        for (const [key, value] of change.meta ?? []) {
          if (value === null) meta.delete(key)
          else meta.set(key, value)
        }
      }
      const driver: EncodedDriver = {
        backend: "map",
        locked: (effect) => lock.withPermits(1)(effect),
        get: (ids) => Effect.sync(() => ids.flatMap((id) => Option.toArray(Option.fromNullable(rows.get(id))))),
        scan: (after, limit) =>
          Effect.sync(() =>
            [...rows.keys()]
              .filter((id) => Option.match(after, { onNone: () => true, onSome: (a) => id > a }))
              .sort()
              .slice(0, limit)
              .flatMap((id) => Option.toArray(Option.fromNullable(rows.get(id))))
          ),
        events: (id) => Effect.sync(() => [...(events.get(id) ?? [])]),
        vectors: (generation, ids) =>
          Effect.sync(() => {
            const stored = vectors.get(generation)
            return ids.flatMap((id) => {
              const vector = stored?.get(id)
              return vector === undefined ? [] : [[id, vector] as const]
            })
          }),
        meta: Effect.sync(() => new Map(meta)),
        write: (change) => Effect.sync(() => apply(change))
      }
      return yield* MemoryBackend.makeEncoded(driver, options)
    })
  )

export const layer = layerWith()
