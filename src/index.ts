/**
 * arawn-store: the storage layer of an agent runtime, as Effect services. This entry holds the contracts (the
 * service tags), the domain types, the errors and the in-memory `layerMemory` of each service; it loads no native
 * module and no network client. Each backend is a subpath of its own (`arawn-store/MemoryBackend/Sqlite`,
 * `arawn-store/WorkstreamStore/Local`, `arawn-store/SessionStore/Lru`, `arawn-store/SessionStore/Redis`,
 * `arawn-store/Embedder/OpenAi`), as is the importer of the original runtime's data (`arawn-store/Import`).
 *
 * @since 0.1.0
 */
export * as Embedder from "./Embedder.js"
export * as Errors from "./Errors.js"
export * as Ids from "./Ids.js"
export * as Json from "./Json.js"
export * as Memory from "./Memory.js"
export * as MemoryBackend from "./MemoryBackend.js"
export * as MemoryNamespaces from "./MemoryNamespaces.js"
export * as Namespace from "./Namespace.js"
export * as Session from "./Session.js"
export * as SessionStore from "./SessionStore.js"
export * as Tag from "./Tag.js"
export * as Where from "./Where.js"
export * as Workstream from "./Workstream.js"
export * as WorkstreamContext from "./WorkstreamContext.js"
export * as WorkstreamStore from "./WorkstreamStore.js"
