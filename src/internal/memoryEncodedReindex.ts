/**
 * The resumable reindex of an encoded store: vectors for the current space fill a new generation, which replaces
 * the live one only when every memory has one there, so an interrupted run leaves the old one in charge and a rerun
 * resumes where it stopped.
 */
import { Effect, Option } from "effect"
import type { EmbeddingSpace } from "../Errors.js"
import { StorageError } from "../Errors.js"
import type { EncodedDriver, EncodedMemory, ReindexDriver } from "../MemoryBackend/Driver.js"
import { codec, inNamespace, scan, scanAll, stateNow } from "./memoryEncodedRows.js"
import type { Generation } from "./memoryGenerations.js"
import { generationEntries, sameSpace, TARGET_KEYS } from "./memoryGenerations.js"

const METHOD = "MemoryDriver.reindex"

/** The rows among `rows` without a vector in `generation` that should have one (not stored with `embed: false`). */
const lacking = (enc: EncodedDriver, generation: number) => (rows: ReadonlyArray<EncodedMemory>) =>
  Effect.flatMap(embeddable(rows), (embedded) =>
    Effect.map(enc.vectors(generation, embedded.map((r) => r.id)), (have) => {
      const done = new Set(have.map(([id]) => id))
      return embedded.filter((r) => !done.has(r.id))
    }))

const embeddable = (rows: ReadonlyArray<EncodedMemory>) =>
  Effect.map(codec.decode(METHOD, rows), (memories) => rows.filter((_, i) => memories[i]!.embed !== false))

const requireTarget = (enc: EncodedDriver, current: EmbeddingSpace) =>
  Effect.flatMap(stateNow(enc, METHOD), (state) =>
    Option.match(Option.filter(state.target, (t) => sameSpace(t.space, current)), {
      onNone: () => Effect.fail(new StorageError({ method: METHOD, cause: new Error("another reindex replaced this one") })),
      onSome: (target): Effect.Effect<Generation> => Effect.succeed(target)
    }))

export const encodedReindex = (enc: EncodedDriver, current: EmbeddingSpace): ReindexDriver => ({
  start: (namespace) =>
    enc.locked(Effect.gen(function*() {
      const state = yield* stateNow(enc, METHOD)
      const stale = Option.filter(state.target, (t) => !sameSpace(t.space, current))
      const target = Option.getOrElse(
        Option.filter(state.target, (t) => sameSpace(t.space, current)),
        (): Generation => ({ space: current, generation: state.generation + 1 })
      )
      // A new target starts empty: whatever an abandoned one left in its generation is dropped.
      if (Option.isSome(stale) || Option.isNone(state.target)) {
        yield* enc.write({
          dropGenerations: [...Option.toArray(stale).map((t) => t.generation), target.generation],
          meta: generationEntries("target", target)
        })
      }
      const rows = yield* embeddable((yield* scanAll(enc)).filter(inNamespace(namespace)))
      return { total: rows.length, done: rows.length - (yield* lacking(enc, target.generation)(rows)).length }
    })),
  pending: (namespace, after, limit) =>
    Effect.gen(function*() {
      const target = yield* requireTarget(enc, current)
      const rows = yield* scan(enc, after, (page) => lacking(enc, target.generation)(page.filter(inNamespace(namespace))), limit)
      return (yield* codec.decode(METHOD, rows)).map((m) => ({ id: m.id, content: m.content }))
    }),
  write: (items) =>
    items.length === 0 ? Effect.void : enc.locked(Effect.gen(function*() {
      const target = yield* requireTarget(enc, current)
      // Rows updated or deleted since they were read are left for the next pass, never written from stale text.
      const missing = yield* lacking(enc, target.generation)(yield* enc.get(items.map((i) => i.id)))
      const content = new Map((yield* codec.decode(METHOD, missing)).map((m) => [m.id, m.content] as const))
      const vectors = items.filter((i) => content.get(i.id) === i.content)
        .map((i) => ({ generation: target.generation, id: i.id, vector: i.vector }))
      if (vectors.length > 0) yield* enc.write({ vectors })
    })),
  finish: enc.locked(Effect.gen(function*() {
    const state = yield* stateNow(enc, METHOD)
    const target = yield* requireTarget(enc, current)
    if ((yield* lacking(enc, target.generation)(yield* scanAll(enc))).length > 0) return false
    yield* enc.write({
      dropGenerations: state.generation === target.generation ? [] : [state.generation],
      meta: [...generationEntries("space", target), ...TARGET_KEYS.map((k) => [k, null] as const)]
    })
    return true
  }))
})
