/**
 * The embedding state every MemoryBackend store keeps, whatever its storage: which vector generation is live and
 * from which embedding space, and which one a running reindex fills. It lives as a few metadata keys
 * (`space.*`, `target.*`); a store reads them on every use, so another process's reindex is seen.
 */
import { Effect, Option } from "effect"
import { EmbeddingSpace, EmbeddingSpaceMismatch, StorageError } from "../Errors.js"

export interface Generation {
  readonly space: EmbeddingSpace
  readonly generation: number
}

export interface State extends Generation {
  /** A reindex in progress: the generation being filled, with the space it is filled from. */
  readonly target: Option.Option<Generation>
}

export const sameSpace = (a: EmbeddingSpace, b: EmbeddingSpace): boolean =>
  a.model === b.model && a.dimensions === b.dimensions

/** The generation recorded under `key` (`space` or `target`), when there is one. */
export const generationOf = (meta: ReadonlyMap<string, string>, key: "space" | "target"): Option.Option<Generation> => {
  const model = meta.get(`${key}.model`)
  const dimensions = Number(meta.get(`${key}.dimensions`))
  const generation = Number(meta.get(`${key}.generation`))
  return model === undefined || !Number.isInteger(dimensions) || !Number.isInteger(generation)
    ? Option.none()
    : Option.some({ space: new EmbeddingSpace({ model, dimensions }), generation })
}

/** The state the metadata records; a store with no recorded space is broken (opening records one). */
export const stateOf = (meta: ReadonlyMap<string, string>, method: string): Effect.Effect<State, StorageError> =>
  Option.match(generationOf(meta, "space"), {
    onNone: () => Effect.fail(new StorageError({ method, cause: new Error("the store has no recorded embedding space") })),
    onSome: (g) => Effect.succeed({ ...g, target: generationOf(meta, "target") })
  })

/** The metadata entries that record `g` under `key`. */
export const generationEntries = (key: "space" | "target", g: Generation): ReadonlyArray<readonly [string, string]> => [
  [`${key}.model`, g.space.model],
  [`${key}.dimensions`, String(g.space.dimensions)],
  [`${key}.generation`, String(g.generation)]
]

export const TARGET_KEYS = ["target.model", "target.dimensions", "target.generation"] as const

/** The generations a vector write must fill: the live one, plus a reindex target filled from the same space. */
export const writableGenerations = (current: EmbeddingSpace, state: State) =>
  sameSpace(state.space, current)
    ? Effect.succeed([
      state.generation,
      ...Option.toArray(state.target).filter((t) => sameSpace(t.space, current)).map((t) => t.generation)
    ])
    : Effect.fail(new EmbeddingSpaceMismatch({ stored: state.space, current }))
