import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Layer, Redacted } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0))
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0)

describe("Embedder.layerHashing", () => {
  const embed = (texts: ReadonlyArray<string>) =>
    Effect.runSync(Effect.flatMap(Embedder.Embedder, (e) => e.embed(texts)).pipe(Effect.provide(Embedder.layerHashing)))

  it("is deterministic, 384-dimensional and unit length, even for text without words", () => {
    const [a, b, c] = embed(["The deploy runs migrations first", "The deploy runs migrations first", "?!"])
    expect(a!.length).toBe(384)
    expect(Array.from(a!)).toEqual(Array.from(b!))
    expect(norm(a!)).toBeCloseTo(1, 6)
    expect(norm(c!)).toBeCloseTo(1, 6)
  })

  it("puts texts sharing words and word forms closer than unrelated ones", () => {
    const [query, similar, unrelated] = embed([
      "migrating the database schema before a deploy",
      "run the schema migration before deploying",
      "the team lunch is on thursday"
    ])
    expect(dot(query!, similar!)).toBeGreaterThan(0.3)
    expect(dot(query!, similar!)).toBeGreaterThan(dot(query!, unrelated!) + 0.25)
  })

  it("names its space and prefers text in hybrid fusion", () => {
    const e = Effect.runSync(Effect.provide(Embedder.Embedder, Embedder.layerHashing))
    expect(e.model).toBe(Embedder.HASHING_MODEL)
    expect(e.dimensions).toBe(384)
    expect(e.weights.text).toBeGreaterThan(e.weights.vector)
  })
})

/** A tiny OpenAI-compatible `/v1/embeddings` server; the model name picks its behaviour. */
interface Seen {
  readonly inputs: ReadonlyArray<string>
  readonly model: string
  readonly dimensions: number | undefined
  readonly authorization: string | undefined
}
const requests: Array<Seen> = []
let server: Server
let apiUrl = ""

/** Deterministic, deliberately not unit length, so the adapter's normalisation is visible. */
const fakeVector = (text: string, dims: number) =>
  Array.from({ length: dims }, (_, i) => ((text.charCodeAt(i % Math.max(1, text.length)) || 1) % 7) + i + 1)

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => {
      const json = JSON.parse(body) as { input: string | Array<string>; model: string; dimensions?: number }
      const inputs = typeof json.input === "string" ? [json.input] : json.input
      requests.push({ inputs, model: json.model, dimensions: json.dimensions, authorization: req.headers.authorization })
      if (req.url !== "/v1/embeddings" || req.method !== "POST") {
        res.writeHead(404).end()
        return
      }
      if (json.model === "broken") {
        res.writeHead(500, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message: "model crashed", type: "server_error" } }))
        return
      }
      const dims = json.model === "wrong-dims" ? 9 : 8
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({
        object: "list",
        model: json.model,
        data: inputs.map((text, index) => ({ object: "embedding", index, embedding: fakeVector(text, dims) })),
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length }
      }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("Embedder.layerOpenAi against a local OpenAI-compatible server", () => {
  const remote = (model: string, extra: Partial<Embedder.OpenAiOptions> = {}) =>
    Embedder.layerOpenAi({ apiUrl, apiKey: Redacted.make("sk-test"), model, dimensions: 8, ...extra })
  const embedWith = (layer: Layer.Layer<Embedder.Embedder>, texts: ReadonlyArray<string>) =>
    Effect.flatMap(Embedder.Embedder, (e) => e.embed(texts)).pipe(Effect.provide(layer))

  it.effect("returns one unit vector per text in order, from one batched request with the key", () =>
    Effect.gen(function*() {
      const model = "m-batch"
      const texts = ["alpha", "beta", "gamma delta"]
      const vectors = yield* embedWith(remote(model), texts)
      expect(vectors.length).toBe(3)
      vectors.forEach((v, i) => {
        expect(v).toBeInstanceOf(Float32Array)
        expect(v.length).toBe(8)
        expect(norm(v)).toBeCloseTo(1, 6)
        const raw = fakeVector(texts[i]!, 8)
        const rawNorm = Math.sqrt(raw.reduce((s, x) => s + x * x, 0))
        expect(v[3]!).toBeCloseTo(raw[3]! / rawNorm, 6)
      })
      const seen = requests.filter((r) => r.model === model)
      expect(seen.length).toBe(1)
      expect(seen[0]!.inputs).toEqual(texts)
      expect(seen[0]!.authorization).toBe("Bearer sk-test")
      expect(seen[0]!.dimensions).toBeUndefined()
      expect(yield* embedWith(remote(model), [])).toEqual([])
    }))

  it.effect("splits a call into requests of maxBatchSize and sends dimensions only when asked", () =>
    Effect.gen(function*() {
      const model = "m-split"
      const texts = Array.from({ length: 5 }, (_, i) => `text ${i}`)
      const vectors = yield* embedWith(remote(model, { maxBatchSize: 2, requestDimensions: true }), texts)
      expect(vectors.length).toBe(5)
      const seen = requests.filter((r) => r.model === model)
      expect(seen.map((r) => r.inputs.length)).toEqual([2, 2, 1])
      expect(seen.every((r) => r.dimensions === 8)).toBe(true)
    }))

  it.effect("an error status from the server is an EmbeddingError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(embedWith(remote("broken"), ["x"]))
      expect(error._tag).toBe("EmbeddingError")
    }))

  it.effect("vectors of the wrong length are an EmbeddingError naming the mismatch", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(embedWith(remote("wrong-dims"), ["x", "y"]))
      expect(error._tag).toBe("EmbeddingError")
      expect(error.message).toContain("9 dimensions, expected 8")
    }))

  it.effect("an unreachable server is an EmbeddingError", () =>
    Effect.gen(function*() {
      const layer = Embedder.layerOpenAi({ apiUrl: "http://127.0.0.1:1/v1", model: "m", dimensions: 8 })
      expect((yield* Effect.flip(embedWith(layer, ["x"])))._tag).toBe("EmbeddingError")
    }))

  it.effect("layerOpenAiConfig reads its options from Config, and a semantic model prefers vectors", () =>
    Effect.gen(function*() {
      const { e, vectors } = yield* Effect.provide(
        Effect.flatMap(Embedder.Embedder, (e) => Effect.map(e.embed(["z"]), (vectors) => ({ e, vectors }))),
        Embedder.layerOpenAiConfig({
          apiUrl: Config.string("URL"),
          apiKey: Config.redacted("KEY"),
          model: Config.string("MODEL"),
          dimensions: Config.integer("DIMS")
        })
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromJson({ URL: apiUrl, KEY: "k", MODEL: "m-config", DIMS: 8 })))
      expect(e.model).toBe("m-config")
      expect(e.dimensions).toBe(8)
      expect(e.weights.vector).toBeGreaterThan(e.weights.text)
      expect(vectors[0]!.length).toBe(8)
    }))

  it.effect("drives a MemoryBackend: storeMany embeds in one request and vector search finds the text", () =>
    Effect.gen(function*() {
      const model = "m-backend"
      const found = yield* Effect.gen(function*() {
        const m = yield* MemoryBackend.MemoryBackend
        const [, id] = yield* m.storeMany([{ content: "first note" }, { content: "second note" }, { content: "third" }])
        const stats = yield* m.stats()
        expect(stats.embedder.model).toBe(model)
        expect(stats.embedder.dimensions).toBe(8)
        const hits = yield* m.search("second note", { mode: "vector", limit: 1 })
        return { id, hits }
      }).pipe(Effect.provide(MemoryBackend.layerMemory.pipe(Layer.provide(remote(model)))))
      expect(found.hits[0]!.memory.id).toBe(found.id)
      expect(found.hits[0]!.explain.vectorDistance!).toBeLessThan(1e-6)
      expect(requests.filter((r) => r.model === model).map((r) => r.inputs.length)).toEqual([3, 1])
    }))
})
