/**
 * Turns text into vectors for `MemoryBackend`'s vector search: the `Embedder` tag and the offline hashing embedder.
 * An embedder over an OpenAI-compatible server lives in `arawn-store/Embedder/OpenAi`, so that only programs that
 * use it load `@effect/ai`.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { EmbeddingError } from "./Errors.js"
import type { FusionWeights } from "./Memory.js"
import { fnv1a, stem, STOPWORDS, words } from "./internal/text.js"

// A search option as much as an embedder default: defined with the other search shapes, in the domain module.
export { FusionWeights } from "./Memory.js"

/** @category services */
export class Embedder extends Context.Tag("arawn-store/Embedder")<Embedder, {
  /** Identifies the embedding space; a store records it and refuses vectors from another one. */
  readonly model: string
  /** Length of every vector `embed` returns. */
  readonly dimensions: number
  /** Default hybrid fusion weights for this embedder (a semantic model deserves more vector weight). */
  readonly weights: FusionWeights
  /** One L2-normalised vector per text, in input order; fails with `EmbeddingError`. */
  readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingError>
}>() {}

/** @category models */
export const HASHING_MODEL = "arawn-hashing-v1"

/** @category constructors */
export interface HashingOptions {
  readonly dimensions?: number
  readonly weights?: FusionWeights
}

const addFeature = (v: Float32Array, feature: string, weight: number) => {
  const h = fnv1a(feature)
  // A second, independent hash picks the sign so that collisions cancel out on average instead of piling up.
  const sign = (fnv1a(feature, 0x9747b28c) & 1) === 0 ? 1 : -1
  v[h % v.length] = (v[h % v.length] ?? 0) + sign * weight
}

/**
 * Deterministic, offline feature hashing, L2-normalised. Each content word adds its stem, the stem pair it forms
 * with the next word, and its character trigrams; function words ("the", "how", ...) are left out unless the text
 * has nothing else. Lexical, not semantic: it finds shared words and word pieces ("migrating" ~ "migration"),
 * not synonyms.
 *
 * @category constructors
 */
export const hashingEmbed = (text: string, dimensions: number): Float32Array => {
  const v = new Float32Array(dimensions)
  const all = words(text)
  const content = all.filter((w) => !STOPWORDS.has(w))
  const ws = content.length > 0 ? content : all
  const stems = ws.map(stem)
  for (let i = 0; i < ws.length; i++) {
    addFeature(v, `w:${stems[i]}`, 1)
    if (i + 1 < ws.length) addFeature(v, `b:${stems[i]} ${stems[i + 1]}`, 0.3)
    const padded = `<${ws[i]}>`
    // Scaling by 1/sqrt(count) gives every word's trigrams together the weight of the word itself, so long words
    // do not outweigh short ones just by having more trigrams.
    const weight = 1 / Math.sqrt(padded.length - 2)
    for (let j = 0; j + 3 <= padded.length; j++) addFeature(v, `c:${padded.slice(j, j + 3)}`, weight)
  }
  let norm = 0
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!
  if (norm === 0) {
    // Text without a single word still needs a valid unit vector.
    v[0] = 1
    return v
  }
  const inv = 1 / Math.sqrt(norm)
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv
  return v
}

/**
 * The default embedder: feature hashing, 384 dimensions, no model download, no network. Its vectors are lexical,
 * so it gives text search the larger share of hybrid fusion.
 *
 * @category layers
 */
export const makeHashing = (options: HashingOptions = {}): Embedder["Type"] => {
  const dimensions = options.dimensions ?? 384
  return {
    model: dimensions === 384 ? HASHING_MODEL : `${HASHING_MODEL}-${dimensions}`,
    dimensions,
    weights: options.weights ?? { vector: 0.2, text: 0.8 },
    embed: (texts) => Effect.sync(() => texts.map((t) => hashingEmbed(t, dimensions)))
  }
}

/** @category layers */
export const layerHashing: Layer.Layer<Embedder> = Layer.sync(Embedder, () => makeHashing())

/** @category layers */
export const layerHashingWith = (options: HashingOptions): Layer.Layer<Embedder> =>
  Layer.sync(Embedder, () => makeHashing(options))
