/**
 * Embedders over `@effect/ai`: any `EmbeddingModel` the caller provides, or a server speaking OpenAI's
 * `/embeddings` API (OpenAI itself, Ollama, vLLM, LM Studio...). Imports `@effect/ai` and `@effect/ai-openai`,
 * which is why it is a subpath of its own (`arawn-store/Embedder/OpenAi`).
 *
 * @since 0.1.0
 */
import * as EmbeddingModel from "@effect/ai/EmbeddingModel"
import * as OpenAiClient from "@effect/ai-openai/OpenAiClient"
import * as OpenAiEmbeddingModel from "@effect/ai-openai/OpenAiEmbeddingModel"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Config, Duration, Effect, Layer, Schedule } from "effect"
import type { ConfigError, Redacted } from "effect"
import { Embedder } from "../Embedder.js"
import type { FusionWeights } from "../Embedder.js"
import { EmbeddingError } from "../Errors.js"

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
  /** Longest wait for one complete response, body included (default 60 seconds); a timeout counts as transient. */
  readonly timeout?: Duration.DurationInput
  /**
   * Retries of a request that failed transiently: no connection, a timeout, or status 408, 429, 500, 502, 503, 504
   * (default 3, backing off exponentially from 250 ms with jitter). Other statuses fail at once.
   */
  readonly retries?: number
}

const DEFAULT_TIMEOUT = Duration.seconds(60)
const DEFAULT_RETRIES = 3

/**
 * Bounds each attempt, headers and body together: the body is read inside the deadline (a server that stalls after
 * its headers is caught too) and handed on as a buffered response. A timeout is a transport failure, which
 * `retryTransient` retries.
 */
const withTimeout = (timeout: Duration.Duration) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.transform(client, (response, request) =>
    response.pipe(
      Effect.flatMap((res) =>
        Effect.map(res.arrayBuffer, (body) =>
          HttpClientResponse.fromWeb(
            request,
            new Response(body.byteLength === 0 ? null : body, { status: res.status, headers: res.headers })
          ))
      ),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new HttpClientError.RequestError({
            request,
            reason: "Transport",
            description: `no complete response within ${Duration.format(timeout)}`
          })
      })
    ))

const resilient = (options: OpenAiOptions) => (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  client.pipe(
    withTimeout(Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)),
    HttpClient.retryTransient({
      schedule: Schedule.jittered(Schedule.exponential("250 millis")),
      times: options.retries ?? DEFAULT_RETRIES
    })
  )

/**
 * An Embedder for any server speaking OpenAI's `/embeddings` API: `@effect/ai-openai`'s client and batched
 * embedding model over the platform's `fetch`, each request bounded by `timeout` and retried when it fails
 * transiently. Requires nothing; an unreachable server surfaces as `EmbeddingError` on the first `embed` (after
 * its retries), not when the layer is built.
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
    Layer.provide(OpenAiClient.layer({ apiUrl: options.apiUrl, apiKey: options.apiKey, transformClient: resilient(options) })),
    Layer.provide(FetchHttpClient.layer)
  )

/**
 * `layerOpenAi` with its options read from `Config` (e.g. `Config.redacted("OPENAI_API_KEY")` for the key).
 *
 * @category layers
 */
export const layerOpenAiConfig = (config: Config.Config.Wrap<OpenAiOptions>): Layer.Layer<Embedder, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (options) => layerOpenAi(options)))
