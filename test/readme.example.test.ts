import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"

// A program written against the tag: it does not know which backend it will get.
const remember = Effect.gen(function*() {
  const memory = yield* MemoryBackend.MemoryBackend
  yield* memory.store({ content: "The deploy script lives in ops/deploy.sh", contentType: "fact" })
  return yield* memory.search("where is the deploy script?", { limit: 1 })
})

// In a test, provide the in-memory Layer; in production, the SQLite one.
const TestMemory = MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing))

it.effect("finds what it remembered", () =>
  Effect.gen(function*() {
    const [best] = yield* remember
    expect(best?.memory.content).toContain("ops/deploy.sh")
  }).pipe(Effect.provide(TestMemory)))
