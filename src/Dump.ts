/**
 * A portable dump of a whole store, to move it between backends (SQLite to PostgreSQL and back): JSON Lines, one
 * header line, then every memory with its history, every workstream, and every message as the original runtime's
 * log line with its seq. `exportDump` reads any `MemoryBackend` + `WorkstreamStore`; `importDump` writes into any
 * other, keeping ids, timestamps, confidence, supersede chains, seqs and tags. Vectors are not in the dump: the
 * target embeds every memory with its own `Embedder` (a dump read into a store with another embedder stays usable).
 * Re-running an import adds nothing twice.
 *
 * @since 0.1.0
 */
export { exportDump } from "./internal/dump/export.js"
export type { ExportOptions } from "./internal/dump/export.js"
export { importDump, importDumpFile } from "./internal/dump/import.js"
export type { DumpImportOptions } from "./internal/dump/import.js"
export { DumpHeader, DumpMemory, DumpMessage, DumpRecord, DumpWorkstream, FORMAT } from "./internal/dump/schema.js"
