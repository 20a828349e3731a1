import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { Embedder, MemoryBackend } from "arawn-store"
import * as ArawnOtel from "arawn-store/otel"

// Every span goes to the OTLP/HTTP collector at OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318).
export const Tracing = NodeSdk.layer(() => ({
  resource: { serviceName: "my-agent" },
  spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter())
}))

const remember = Effect.gen(function*() {
  const memory = yield* (yield* MemoryBackend.MemoryBackend).scoped("team-a")
  yield* memory.store({ content: "The staging database runs on port 5433", contentType: "fact" })
  return yield* memory.search("which port does staging use?", { limit: 3 })
})

remember.pipe(
  Effect.provide(MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing))),
  // Opt-in: search spans then carry the query text, which can hold user data.
  Effect.provide(ArawnOtel.layerCaptureQueryText),
  Effect.provide(Tracing),
  Effect.runPromise
).then((hits) => console.log(`${hits.length} hit(s); spans exported`))
