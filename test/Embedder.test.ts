import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { Server, ServerResponse } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Layer, Redacted } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as OpenAi from "arawn-store/Embedder/OpenAi"

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

/**
 * Responses a stalling model never finishes: held until the server closes, so a client that gets an error back can
 * only have given up by its own timeout, however slow the machine.
 */
const stalled: Array<ServerResponse> = []

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.on("data", (chunk) => (body += chunk))
    req.on("end", () => {
      const json = JSON.parse(body) as { input: string | Array<string>; model: string; dimensions?: number }
      const inputs = typeof json.input === "string" ? [json.input] : json.input
      // How many requests for this model came before this one: "...-once" models misbehave on the first only.
      const earlier = requests.filter((r) => r.model === json.model).length
      requests.push({ inputs, model: json.model, dimensions: json.dimensions, authorization: req.headers.authorization })
      if (req.url !== "/v1/embeddings" || req.method !== "POST") {
        res.writeHead(404).end()
        return
      }
      const fail = (status: number, message: string) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify({ error: { message, type: "server_error" } }))
      }
      if (json.model.startsWith("broken")) return fail(500, "model crashed")
      if (json.model.startsWith("rejecting")) return fail(400, "bad request")
      if (json.model.startsWith("unavailable-once") && earlier === 0) return fail(503, "warming up")
      const dims = json.model === "wrong-dims" ? 9 : 8
      const payload = JSON.stringify({
        object: "list",
        model: json.model,
        data: inputs.map((text, index) => ({ object: "embedding", index, embedding: fakeVector(text, dims) })),
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length }
      })
      const stall = json.model.startsWith("stall-headers") && (earlier === 0 || !json.model.includes("once"))
      const stallBody = json.model.startsWith("stall-body")
      if (stall) {
        stalled.push(res)
        return
      }
      res.writeHead(200, { "content-type": "application/json" })
      if (stallBody) {
        res.write(payload.slice(0, 10))
        stalled.push(res)
      } else res.end(payload)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
})

afterAll(() =>
  new Promise<void>((resolve) => {
    for (const res of stalled) res.destroy()
    server.close(() => resolve())
  }))

describe("OpenAi.layerOpenAi against a local OpenAI-compatible server", () => {
  const remote = (model: string, extra: Partial<OpenAi.OpenAiOptions> = {}) =>
    OpenAi.layerOpenAi({ apiUrl, apiKey: Redacted.make("sk-test"), model, dimensions: 8, ...extra })
  const embedWith = (layer: Layer.Layer<Embedder.Embedder>, texts: ReadonlyArray<string>) =>
    Effect.flatMap(Embedder.Embedder, (e) => e.embed(texts)).pipe(Effect.provide(layer))

  it.live("returns one unit vector per text in order, from one batched request with the key", () =>
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

  it.live("splits a call into requests of maxBatchSize and sends dimensions only when asked", () =>
    Effect.gen(function*() {
      const model = "m-split"
      const texts = Array.from({ length: 5 }, (_, i) => `text ${i}`)
      const vectors = yield* embedWith(remote(model, { maxBatchSize: 2, requestDimensions: true }), texts)
      expect(vectors.length).toBe(5)
      const seen = requests.filter((r) => r.model === model)
      expect(seen.map((r) => r.inputs.length)).toEqual([2, 2, 1])
      expect(seen.every((r) => r.dimensions === 8)).toBe(true)
    }))

  it.live("a server error is retried, and still failing after the retries is an EmbeddingError", () =>
    Effect.gen(function*() {
      const model = "broken-retried"
      const error = yield* Effect.flip(embedWith(remote(model, { retries: 2 }), ["x"]))
      expect(error._tag).toBe("EmbeddingError")
      expect(requests.filter((r) => r.model === model).length).toBe(3)
    }))

  it.live("a status that is not transient (400) fails at once, without a retry", () =>
    Effect.gen(function*() {
      const model = "rejecting"
      const error = yield* Effect.flip(embedWith(remote(model), ["x"]))
      expect(error._tag).toBe("EmbeddingError")
      expect(requests.filter((r) => r.model === model).length).toBe(1)
    }))

  it.live("a transient 503 is retried and the call succeeds", () =>
    Effect.gen(function*() {
      const model = "unavailable-once"
      const vectors = yield* embedWith(remote(model), ["x", "y"])
      expect(vectors.length).toBe(2)
      expect(requests.filter((r) => r.model === model).length).toBe(2)
    }))

  it.live("a request over its timeout is abandoned and retried; the retry succeeds", () =>
    Effect.gen(function*() {
      const model = "stall-headers-once"
      // The first request is never answered, so the timeout can leave the retry time to finish on a loaded machine.
      const vectors = yield* embedWith(remote(model, { timeout: "5 seconds", retries: 1 }), ["x"])
      expect(vectors[0]!.length).toBe(8)
      expect(requests.filter((r) => r.model === model).length).toBe(2)
    }))

  it.live("a server that never answers in time is an EmbeddingError after timeout x (1 + retries)", () =>
    Effect.gen(function*() {
      const model = "stall-headers"
      // The server never answers this model: the call ends only through the timeout, once per attempt.
      const error = yield* Effect.flip(embedWith(remote(model, { timeout: "1 second", retries: 1 }), ["x"]))
      expect(error._tag).toBe("EmbeddingError")
      expect(requests.filter((r) => r.model === model).length).toBe(2)
    }))

  it.live("the timeout covers the body: headers in time but a stalled body still times out", () =>
    Effect.gen(function*() {
      const model = "stall-body"
      const error = yield* Effect.flip(embedWith(remote(model, { timeout: "1 second", retries: 0 }), ["x"]))
      expect(error._tag).toBe("EmbeddingError")
      expect(String(error.cause)).toContain("no complete response within")
    }))

  it.live("vectors of the wrong length are an EmbeddingError naming the mismatch", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(embedWith(remote("wrong-dims"), ["x", "y"]))
      expect(error._tag).toBe("EmbeddingError")
      expect(error.message).toContain("9 dimensions, expected 8")
    }))

  it.live("an unreachable server is an EmbeddingError", () =>
    Effect.gen(function*() {
      const layer = OpenAi.layerOpenAi({ apiUrl: "http://127.0.0.1:1/v1", model: "m", dimensions: 8, retries: 1 })
      expect((yield* Effect.flip(embedWith(layer, ["x"])))._tag).toBe("EmbeddingError")
    }))

  it.live("layerOpenAiConfig reads its options from Config, and a semantic model prefers vectors", () =>
    Effect.gen(function*() {
      const { e, vectors } = yield* Effect.provide(
        Effect.flatMap(Embedder.Embedder, (e) => Effect.map(e.embed(["z"]), (vectors) => ({ e, vectors }))),
        OpenAi.layerOpenAiConfig({
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

  it.live("drives a MemoryBackend: storeMany embeds in one request and vector search finds the text", () =>
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
