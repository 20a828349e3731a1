/**
 * The storage-independent steps of the MemoryBackend contract that `MemoryBackend.make` composes: checked
 * embedding, the storeFact decision, reading rows for a search page, and the reindex loop over driver primitives.
 */
import { Chunk, Effect, Option, Stream } from "effect"
import type { Embedder } from "../Embedder.js"
import type { EmbeddingSpace, StorageError } from "../Errors.js"
import { EmbeddingError } from "../Errors.js"
import type { MemoryId } from "../Ids.js"
import type { Memory, MemoryMatch, ReindexProgress, StoreFactResult } from "../Memory.js"
import type { Driver, FactWrite, NewRow, ReindexDriver } from "../MemoryBackend.js"
import { reinforce, supersede } from "./memory.js"
import type { Scored } from "./ranking.js"

export const sameSpace = (a: EmbeddingSpace, b: EmbeddingSpace): boolean =>
  a.model === b.model && a.dimensions === b.dimensions

/** The embedder's vectors, checked to be one per text and of its declared length (a remote model may not be). */
export const embedChecked = (embedder: Embedder["Type"]) => (texts: ReadonlyArray<string>) =>
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

/**
 * The spec's storeFact rule over the live facts of one subject+predicate: identical content (trimmed,
 * case-sensitive) reinforces the newest such fact and inserts nothing; otherwise every live fact is superseded by
 * the new one, which is inserted.
 */
export const decideFact = (live: ReadonlyArray<Memory>, row: NewRow, now: Memory["createdAt"]): FactWrite => {
  const content = row.memory.content.trim()
  const same = live.find((m) => m.content.trim() === content)
  if (same !== undefined) return { updates: [reinforce(same, now)], insert: Option.none() }
  return { updates: live.map((m) => supersede(m, row.memory.id, now)), insert: Option.some(row) }
}

/** What storeFact reports for what was written. */
export const factResult = (written: FactWrite, row: NewRow): StoreFactResult =>
  Option.isNone(written.insert)
    ? { id: written.updates[0]!.id, outcome: "reinforced", supersededIds: [] }
    : {
      id: row.memory.id,
      outcome: written.updates.length > 0 ? "superseded" : "inserted",
      supersededIds: written.updates.map((m) => m.id)
    }

/** The page's rows, read in one call; a memory deleted since it was ranked is left out. */
export const materialize = (driver: Driver, page: ReadonlyArray<Scored>) =>
  page.length === 0
    ? Effect.succeed<ReadonlyArray<MemoryMatch>>([])
    : Effect.map(driver.getMany(page.map((s) => s.head.id)), (rows) => {
      const byId = new Map<MemoryId, Memory>(rows.map((m) => [m.id, m]))
      return page.flatMap((s) => {
        const memory = byId.get(s.head.id)
        return memory === undefined ? [] : [{ memory, score: s.score, explain: s.explain }]
      })
    })

interface Pass {
  readonly after: Option.Option<MemoryId>
  readonly done: number
  readonly finished: boolean
}

/**
 * Re-embeds what the driver reports pending, batch by batch, and finishes when a pass leaves nothing pending; a
 * pass that ends with memories still missing (written meanwhile) starts over. Progress counts toward `total`.
 */
export const reindexStream = (
  steps: ReindexDriver,
  embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingError>,
  batchSize: number
): Stream.Stream<ReindexProgress, StorageError | EmbeddingError> =>
  Stream.unwrap(Effect.map(steps.start, ({ done, total }) =>
    Stream.unfoldChunkEffect<Pass, ReindexProgress, StorageError | EmbeddingError, never>(
      { after: Option.none(), done, finished: false },
      (pass) => {
        if (pass.finished) return Effect.succeed(Option.none())
        return Effect.flatMap(steps.pending(pass.after, batchSize), (batch) => {
          if (batch.length === 0) {
            return Effect.map(steps.finish, (complete) =>
              complete
                ? Option.some([Chunk.of({ done: total, total }), { after: Option.none(), done: total, finished: true }] as const)
                : Option.some([Chunk.empty(), { after: Option.none(), done: pass.done, finished: false }] as const))
          }
          return Effect.flatMap(embed(batch.map((p) => p.content)), (vectors) =>
            Effect.map(steps.write(batch.map((p, i) => ({ ...p, vector: vectors[i]! }))), () => {
              const next = Math.min(total, pass.done + batch.length)
              return Option.some([
                Chunk.of({ done: next, total }),
                { after: Option.some(batch[batch.length - 1]!.id), done: next, finished: false }
              ] as const)
            }))
        })
      }
    )))
