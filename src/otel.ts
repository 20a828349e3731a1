/**
 * The OpenTelemetry names of the store's spans. Every public method's span (named `MemoryBackend.search`,
 * `WorkstreamStore.storeMessages`, ...) carries the GenAI memory conventions' attributes: `gen_ai.operation.name`
 * (see `OPERATIONS`), `gen_ai.memory.store.id` (the backend's name, then `:` and the namespace of a scoped memory
 * service or the workstream of a workstream call), `gen_ai.memory.record.id` and `gen_ai.memory.record.count`
 * where the call has them, `gen_ai.conversation.id` on workstream calls, and `gen_ai.memory.query.text` on
 * searches only when the caller opts in with `layerCaptureQueryText`. Any Effect tracer exports them; with
 * `@effect/opentelemetry` they reach an OTLP collector (see the README). This module loads nothing but `effect`.
 *
 * @since 0.1.0
 */
import { Layer } from "effect"
import { CaptureQueryText } from "./internal/semconv.js"

export {
  ATTR_CONVERSATION_ID,
  ATTR_MEMORY_QUERY_TEXT,
  ATTR_MEMORY_RECORD_COUNT,
  ATTR_MEMORY_RECORD_ID,
  ATTR_MEMORY_STORE_ID,
  ATTR_OPERATION_NAME,
  CaptureQueryText,
  OPERATIONS
} from "./internal/semconv.js"
export type { Operation } from "./internal/semconv.js"

/**
 * Puts the query text of every search (`MemoryBackend.search`, `WorkstreamStore.searchMessages`) on its span as
 * `gen_ai.memory.query.text`. Off by default, as the conventions ask: a query can hold user data.
 *
 * @category layers
 */
export const layerCaptureQueryText: Layer.Layer<CaptureQueryText> = Layer.succeed(CaptureQueryText, true)
