/**
 * Conformance suites: one per service, run against every Layer. A third-party backend certifies itself with one
 * call, e.g. `MemoryBackendSuite.suite("MyBackend", MyBackend.layer)` inside a vitest file; `MemoryQuality` measures a
 * MemoryBackend's search ranking (nDCG@k, recall@k) on a judged fixture.
 *
 * @since 0.1.0
 */
export * as MemoryBackendSuite from "./MemoryBackendSuite.js"
export * as MemoryBackendModel from "./MemoryBackendModel.js"
export * as SessionStoreSuite from "./SessionStoreSuite.js"
export * as SessionStoreModel from "./SessionStoreModel.js"
export * as WorkstreamStoreSuite from "./WorkstreamStoreSuite.js"
export * as WorkstreamStoreModel from "./WorkstreamStoreModel.js"
export * as MemoryQuality from "./MemoryQuality.js"
export * as MemoryConsolidation from "./MemoryConsolidation.js"
