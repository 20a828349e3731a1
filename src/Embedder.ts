/**
 * Turns text into vectors for `MemoryBackend`'s vector search.
 *
 * @since 0.1.0
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiEmbeddingModel from "@effect/ai-openai/OpenAiEmbeddingModel"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Config, Context, Effect, Layer, Schema } from "effect"
import type { ConfigError, Redacted } from "effect"
import { EmbeddingError } from "./Errors.js"
import { fnv1a, stem, STOPWORDS, words } from "./internal/text.js"

const Weight = Schema.Number.pipe(Schema.nonNegative(), Schema.finite())

/** Relative weights of the vector and text rankings in hybrid fusion. @category models */
export const FusionWeights = Schema.Struct({ vector: Weight, text: Weight }).pipe(
  Schema.filter((w) => w.vector + w.text > 0 || "fusion weights must not both be 0")
)
/** @category models */
export type FusionWeights = typeof FusionWeights.Type

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

/** @category constructors */
export interface EmbeddingModelOptions {
  /** The model name; with `dimensions` it identifies the embedding space the store records. */
  readonly model: string
  /** Length every vector must have; a server answering with another length fails with `EmbeddingError`. */
  readonly dimensions: number
  /** Default hybrid fusion weights; a semantic model earns the larger vector share (default 0.6 / 0.4). */
  readonly weights?: FusionWeights
}

const invalid = (message: string) => new EmbeddingError({ cause: new Error(message) })

/** Checks a server's vector and scales it to unit length, so cosine distance is all a store needs. */
const normalise = (vector: ReadonlyArray<number>, dimensions: number, index: number) => {
  if (vector.length !== dimensions) {
    return Effect.fail(invalid(`vector ${index} has ${vector.length} dimensions, expected ${dimensions}`))
  }
  let norm = 0
  for (const x of vector) norm += x * x
  if (!Number.isFinite(norm) || norm === 0) {
    return Effect.fail(invalid(`vector ${index} is zero or not finite`))
  }
  const inv = 1 / Math.sqrt(norm)
  const out = new Float32Array(dimensions)
  for (let i = 0; i < dimensions; i++) out[i] = vector[i]! * inv
  return Effect.succeed(out)
}

/**
 * Adapts `@effect/ai`'s `EmbeddingModel` into an Embedder: one `embedMany` per call (the model batches it into as
 * few requests as its batch size allows), vectors checked against `dimensions` and L2-normalised, and any failure
 * (HTTP error status, unreachable server, malformed or wrong-length vectors) an `EmbeddingError`.
 *
 * @category constructors
 */
export const makeEmbeddingModel = (
  options: EmbeddingModelOptions
): Effect.Effect<Embedder["Type"], never, EmbeddingModel.EmbeddingModel> =>
  Effect.map(EmbeddingModel.EmbeddingModel, (model): Embedder["Type"] => ({
    model: options.model,
    dimensions: options.dimensions,
    weights: options.weights ?? { vector: 0.6, text: 0.4 },
    embed: (texts) =>
      texts.length === 0 ? Effect.succeed([]) : model.embedMany(texts).pipe(
        Effect.mapError((cause) => new EmbeddingError({ cause })),
        Effect.flatMap((vectors) =>
          vectors.length !== texts.length
            ? Effect.fail(invalid(`${vectors.length} vectors for ${texts.length} texts`))
            : Effect.forEach(vectors, (v, i) => normalise(v, options.dimensions, i))
        ),
        Effect.withSpan("Embedder.embed", {
          attributes: { "embedder.model": options.model, "embedder.texts": texts.length }
        })
      )
  }))

/**
 * An Embedder over any `@effect/ai` EmbeddingModel the caller provides (OpenAI, or another provider's layer).
 * Requires `EmbeddingModel`.
 *
 * @category layers
 */
export const layerEmbeddingModel = (
  options: EmbeddingModelOptions
): Layer.Layer<Embedder, never, EmbeddingModel.EmbeddingModel> => Layer.effect(Embedder, makeEmbeddingModel(options))

/** @category constructors */
export interface OpenAiOptions extends EmbeddingModelOptions {
  /** Base URL of an OpenAI-compatible API, e.g. `http://127.0.0.1:11434/v1`; default OpenAI's. */
  readonly apiUrl?: string
  readonly apiKey?: Redacted.Redacted
  /** Most texts per HTTP request (default 2048, OpenAI's limit); larger calls are split. */
  readonly maxBatchSize?: number
  /**
   * Send `dimensions` in the request so the server shortens its vectors (OpenAI's text-embedding-3 models).
   * Off by default: other models and servers reject the parameter.
   */
  readonly requestDimensions?: boolean
}

/**
 * An Embedder for any server speaking OpenAI's `/embeddings` API: `@effect/ai-openai`'s client and batched
 * embedding model over Node's HTTP client. Requires nothing; an unreachable server surfaces as `EmbeddingError`
 * on the first `embed`, not when the layer is built.
 *
 * @category layers
 */
export const layerOpenAi = (options: OpenAiOptions): Layer.Layer<Embedder> =>
  layerEmbeddingModel(options).pipe(
    Layer.provide(OpenAiEmbeddingModel.layerBatched({
      model: options.model,
      config: {
        ...(options.maxBatchSize !== undefined ? { maxBatchSize: options.maxBatchSize } : {}),
        ...(options.requestDimensions === true ? { dimensions: options.dimensions } : {})
      }
    })),
    Layer.provide(OpenAiClient.layer({ apiUrl: options.apiUrl, apiKey: options.apiKey })),
    Layer.provide(NodeHttpClient.layerUndici)
  )

/**
 * `layerOpenAi` with its options read from `Config` (e.g. `Config.redacted("OPENAI_API_KEY")` for the key).
 *
 * @category layers
 */
export const layerOpenAiConfig = (config: Config.Config.Wrap<OpenAiOptions>): Layer.Layer<Embedder, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (options) => layerOpenAi(options)))
