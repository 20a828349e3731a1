/**
 * arawn-store: the storage layer of an agent runtime, as Effect services.
 *
 * @since 0.1.0
 */
export * as Embedder from "./Embedder.js"
export * as Errors from "./Errors.js"
export * as Ids from "./Ids.js"
export * as Json from "./Json.js"
export * as Import from "./Import.js"
export * as Memory from "./Memory.js"
export * as MemoryBackend from "./MemoryBackend.js"
export * as Session from "./Session.js"
export * as SessionStore from "./SessionStore.js"
export * as Tag from "./Tag.js"
export * as Workstream from "./Workstream.js"
export * as WorkstreamStore from "./WorkstreamStore.js"
export * as LocalWorkstreamStore from "./WorkstreamStore/Local.js"
export * as LruSessionStore from "./SessionStore/Lru.js"
export * as RedisSessionStore from "./SessionStore/Redis.js"
export * as SqliteMemoryBackend from "./MemoryBackend/Sqlite.js"
