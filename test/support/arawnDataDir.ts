/**
 * Builds a data directory of the original arawn runtime, byte for byte in its formats: `memory.db` (schema v4,
 * snake_case JSON metadata with flattened extra keys, citations tagged by "type", RFC 3339 `+00:00` timestamps),
 * `workstreams.db` (refinery migrations V001 + V002) and `workstreams/<id>/messages.jsonl` logs.
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"

const MEMORY_DDL = [
  `CREATE TABLE memories (id TEXT PRIMARY KEY, session_id TEXT, content_type TEXT NOT NULL,
    content TEXT NOT NULL, metadata TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL,
    accessed_at TEXT NOT NULL, access_count INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX idx_memories_content_type ON memories(content_type)`,
  `CREATE INDEX idx_memories_created_at ON memories(created_at)`,
  `CREATE TABLE sessions (id TEXT PRIMARY KEY, title TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE INDEX idx_sessions_updated_at ON sessions(updated_at)`,
  `CREATE TABLE notes (id TEXT PRIMARY KEY, title TEXT, content TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]', created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE INDEX idx_notes_updated_at ON notes(updated_at)`,
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  `ALTER TABLE memories ADD COLUMN confidence_source TEXT NOT NULL DEFAULT 'inferred'`,
  `ALTER TABLE memories ADD COLUMN reinforcement_count INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE memories ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE memories ADD COLUMN superseded_by TEXT`,
  `ALTER TABLE memories ADD COLUMN last_accessed TEXT`,
  `ALTER TABLE memories ADD COLUMN confidence_score REAL NOT NULL DEFAULT 1.0`,
  `CREATE INDEX idx_memories_session_id ON memories(session_id)`,
  `ALTER TABLE memories ADD COLUMN citation TEXT`,
  `CREATE INDEX idx_memories_citation_type ON memories(json_extract(citation, '$.type'))`,
  `PRAGMA user_version = 4`
]

const WORKSTREAM_DDL = [
  `CREATE TABLE refinery_schema_history (version INT4 PRIMARY KEY, name VARCHAR(255), applied_on VARCHAR(255),
    checksum VARCHAR(255))`,
  `CREATE TABLE workstreams (id TEXT PRIMARY KEY, title TEXT NOT NULL, summary TEXT,
    is_scratch INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL DEFAULT 'active', default_model TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`,
  `CREATE TABLE sessions (id TEXT PRIMARY KEY, workstream_id TEXT NOT NULL REFERENCES workstreams(id) ON DELETE CASCADE,
    started_at TEXT NOT NULL, ended_at TEXT, turn_count INTEGER, summary TEXT, compressed INTEGER NOT NULL DEFAULT 0)`,
  `CREATE INDEX idx_sessions_workstream ON sessions(workstream_id)`,
  `CREATE TABLE workstream_tags (workstream_id TEXT NOT NULL REFERENCES workstreams(id) ON DELETE CASCADE,
    tag TEXT NOT NULL, PRIMARY KEY (workstream_id, tag))`,
  `INSERT INTO refinery_schema_history VALUES (1, 'initial_schema', '2026-01-10T09:00:00+00:00', '1'),
    (2, 'add_cascade_delete', '2026-01-10T09:00:00+00:00', '2')`
]

/** Ids of the fixture's records, for assertions. */
export const ids = {
  postgresFact: "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
  sqliteFact: "2c5f39cb-3fb2-42e3-994a-1127e4ddb538",
  ciNote: "3d6a4adc-4ac3-43f4-a5b5-2238f5eec649",
  fileMemory: "4e7b5bed-5bd4-44a5-b6c6-3349a6ffd75a",
  webMemory: "5f8c6cfe-6ce5-45b6-87d7-445ab7aae86b",
  thought: "6a9d7d0f-7df6-46c7-98e8-556bc8bbf97c",
  bogus: "7bae8e1a-8ea7-47d8-a9f9-667cd9ccfa8d",
  summary: "8cbf9f2b-9fb8-48e9-bafa-778de0ddab9e",
  session: "9dc0a03c-a0c9-49fa-8b0b-889ef1eebcaf",
  workstream: "0ed1b14d-b1da-4a0b-9c1c-99a0f2ffcdb0",
  messages: [
    "a1e2c25e-c2eb-4b1c-8d2d-aab103aadec1",
    "b2f3d36f-d3fc-4c2d-9e3e-bbc214bbefd2",
    "c3a4e470-e40d-4d3e-8f4f-ccd325ccfae3",
    "d4b5f581-f51e-4e4f-a050-dde436dd0bf4"
  ],
  scratchMessages: ["e5c6a692-a62f-4f50-b161-eef547ee1ca5", "f6d7b7a3-b73a-4a61-8272-fff658ff2db6"]
} as const

const json = (v: unknown) => JSON.stringify(v)

interface MemoryFixture {
  readonly id: string
  readonly session_id: string | null
  readonly content_type: string
  readonly content: string
  readonly metadata: Record<string, unknown>
  readonly created_at: string
  readonly source: string
  readonly reinforcement_count?: number
  readonly superseded?: boolean
  readonly superseded_by?: string
  readonly citation?: Record<string, unknown>
}

/** The memories: a superseded and a reinforced fact, a cited file, a web page, a thought, one unimportable row. */
export const memories: ReadonlyArray<MemoryFixture> = [
  {
    id: ids.postgresFact,
    session_id: ids.session,
    content_type: "fact",
    content: "project.database is PostgreSQL",
    metadata: { session_id: ids.session, subject: "project.database", predicate: "is", tags: ["architecture"] },
    created_at: "2026-01-12T08:30:00.123456789+00:00",
    source: "stated",
    superseded: true,
    superseded_by: ids.sqliteFact,
    citation: { type: "session", session_id: ids.session, message_index: 3, timestamp: "2026-01-12T08:29:58+00:00" }
  },
  {
    id: ids.sqliteFact,
    session_id: ids.session,
    content_type: "fact",
    content: "project.database is SQLite",
    metadata: { session_id: ids.session, subject: "project.database", predicate: "is", tags: ["architecture"] },
    created_at: "2026-01-20T14:05:10.5+00:00",
    source: "stated",
    reinforcement_count: 3,
    citation: { type: "user", session_id: ids.session, stated_at: "2026-01-20T14:05:09+00:00" }
  },
  {
    id: ids.ciNote,
    session_id: "cli-session-7",
    content_type: "note",
    content: "The CI pipeline runs the integration tests against a throwaway Redis on port 6379",
    metadata: { tags: ["ci", "build"], priority: "high", content_hash: "ab12" },
    created_at: "2026-01-15T10:00:00+00:00",
    source: "observed"
  },
  {
    id: ids.fileMemory,
    session_id: null,
    content_type: "file_content",
    content: "fn open(path: &Path) -> Result<MemoryStore> { let conn = Connection::open(path)?; migrate(&conn)?; }",
    metadata: { source_path: "crates/arawn-memory/src/store/mod.rs", line_range: [10, 20], tags: ["rust"] },
    created_at: "2026-01-16T11:11:11.111+00:00",
    source: "observed",
    citation: {
      type: "file",
      path: "crates/arawn-memory/src/store/mod.rs",
      line_start: 10,
      line_end: 20,
      commit_hash: "a37e7ec",
      mtime: "2026-01-16T11:00:00+00:00"
    }
  },
  {
    id: ids.webMemory,
    session_id: null,
    content_type: "web_content",
    content: "sqlite-vec stores vectors in vec0 virtual tables and answers KNN queries with MATCH",
    metadata: { source_url: "https://example.org/sqlite-vec", tags: ["research"] },
    created_at: "2026-01-17T09:00:00+00:00",
    source: "inferred",
    citation: { type: "web", url: "https://example.org/sqlite-vec", fetched_at: "2026-01-17T08:59:00+00:00", title: "sqlite-vec" }
  },
  {
    id: ids.thought,
    session_id: null,
    content_type: "thought",
    content: "Maybe the embedding table should be rebuilt after every model change",
    metadata: { session_id: ids.session },
    created_at: "2026-01-18T18:00:00+00:00",
    source: "inferred"
  },
  {
    id: ids.bogus,
    session_id: null,
    content_type: "hologram",
    content: "a row with a content type this store does not know",
    metadata: {},
    created_at: "2026-01-19T18:00:00+00:00",
    source: "inferred"
  },
  {
    id: ids.summary,
    session_id: ids.session,
    content_type: "summary",
    content: "Session summary: decided to move the memory store from PostgreSQL to SQLite with sqlite-vec",
    metadata: { session_id: ids.session, tags: ["summary"] },
    created_at: "2026-01-20T15:00:00+00:00",
    source: "system",
    citation: { type: "system", derived_at: "2026-01-20T15:00:00+00:00", method: "summarization" }
  }
]

/** The importable memories (all but the unknown content type). */
export const importableMemories = memories.length - 1

const workstreamLog: ReadonlyArray<LogRecord> = [
  { id: ids.messages[0], session_id: ids.session, role: "user", content: "Port the storage layer to TypeScript", timestamp: "2026-01-20T14:00:00.601287Z" },
  {
    id: ids.messages[1],
    session_id: ids.session,
    role: "tool_use",
    content: "",
    timestamp: "2026-01-20T14:00:05Z",
    metadata: json({ tool_id: "call_1", name: "read_file", arguments: { path: "src/store.rs" } })
  },
  {
    id: ids.messages[2],
    session_id: ids.session,
    role: "tool_result",
    content: "pub struct MemoryStore { conn: Mutex<Connection> }",
    timestamp: "2026-01-20T14:00:06Z",
    metadata: json({ tool_call_id: "call_1", success: true })
  },
  { id: ids.messages[3], session_id: null, role: "assistant", content: "The store keeps one connection behind a mutex.", timestamp: "2026-01-20T14:00:09Z" }
]

const scratchLog: ReadonlyArray<LogRecord> = [
  { id: ids.scratchMessages[0], session_id: null, role: "user", content: "what was the database decision?", timestamp: "2026-01-21T09:00:00Z" },
  { id: ids.scratchMessages[1], session_id: null, role: "assistant", content: "SQLite with sqlite-vec.", timestamp: "2026-01-21T09:00:02Z" }
]

/** Messages in the fixture's logs. */
export const messageCounts = { workstream: workstreamLog.length, scratch: scratchLog.length } as const

interface LogRecord {
  readonly id: string
  readonly session_id: string | null
  readonly role: string
  readonly content: string
  readonly timestamp: string
  readonly metadata?: string
}

/** A log in the original's field order: id, workstream_id, session_id, role, content, timestamp, metadata. */
const jsonl = (workstreamId: string, records: ReadonlyArray<LogRecord>) =>
  records.map((r) =>
    json({
      id: r.id,
      workstream_id: workstreamId,
      session_id: r.session_id,
      role: r.role,
      content: r.content,
      timestamp: r.timestamp,
      ...(r.metadata !== undefined ? { metadata: r.metadata } : {})
    })
  ).join("\n") + "\n"

const withDb = (filename: string, statements: ReadonlyArray<string>, rows: ReadonlyArray<readonly [string, ReadonlyArray<unknown>]>) =>
  Effect.gen(function*() {
    const sql = yield* SqliteClient.make({ filename })
    for (const s of statements) yield* sql.unsafe(s)
    for (const [s, params] of rows) yield* sql.unsafe(s, params)
  }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))

/** Writes the fixture into `dir` (which must exist and be empty). */
export const build = (dir: string): Effect.Effect<void, unknown> =>
  Effect.gen(function*() {
    yield* withDb(join(dir, "memory.db"), MEMORY_DDL, [
      ...memories.map((m) =>
        [
          `INSERT INTO memories (id, session_id, content_type, content, metadata, created_at, accessed_at, access_count,
            confidence_source, reinforcement_count, superseded, superseded_by, last_accessed, confidence_score, citation)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            m.id,
            m.session_id,
            m.content_type,
            m.content,
            json(m.metadata),
            m.created_at,
            m.created_at,
            2,
            m.source,
            m.reinforcement_count ?? 0,
            m.superseded === true ? 1 : 0,
            m.superseded_by ?? null,
            m.created_at,
            m.superseded === true ? 0 : 1,
            m.citation !== undefined ? json(m.citation) : null
          ]
        ] as const
      ),
      [`INSERT INTO meta (key, value) VALUES ('embedding.dimensions', '384'), ('embedding.provider', 'local')`, []]
    ])
    yield* withDb(join(dir, "workstreams.db"), WORKSTREAM_DDL, [
      [
        `INSERT INTO workstreams (id, title, summary, is_scratch, state, default_model, created_at, updated_at)
         VALUES (?, 'Port storage layer', 'Moving arawn storage to TypeScript', 0, 'active', 'claude-sonnet', ?, ?),
                ('scratch', 'Scratch', NULL, 1, 'active', NULL, ?, ?)`,
        [ids.workstream, "2026-01-20T13:59:00+00:00", "2026-01-20T14:10:00+00:00", "2026-01-10T09:00:00+00:00",
          "2026-01-10T09:00:00+00:00"]
      ],
      [`INSERT INTO workstream_tags (workstream_id, tag) VALUES (?, 'storage'), (?, 'rust')`, [ids.workstream, ids.workstream]],
      [`INSERT INTO sessions (id, workstream_id, started_at) VALUES (?, ?, ?)`, [ids.session, ids.workstream, "2026-01-20T14:00:00+00:00"]]
    ])
    const wsDir = join(dir, "workstreams", ids.workstream)
    const scratchDir = join(dir, "workstreams", "scratch")
    mkdirSync(wsDir, { recursive: true })
    mkdirSync(scratchDir, { recursive: true })
    writeFileSync(join(wsDir, "messages.jsonl"), jsonl(ids.workstream, workstreamLog))
    writeFileSync(join(scratchDir, "messages.jsonl"), jsonl("scratch", scratchLog))
  })

/** Appends one more message to the workstream's log, as the original would after the first import. */
export const appendMessage = (dir: string, id: string, content: string) =>
  appendFileSync(
    join(dir, "workstreams", ids.workstream, "messages.jsonl"),
    json({ id, workstream_id: ids.workstream, session_id: null, role: "user", content, timestamp: "2026-01-22T10:00:00Z" }) + "\n"
  )

/** Appends a torn line (a crash mid-write) to the scratch log. */
export const appendTornLine = (dir: string) =>
  appendFileSync(join(dir, "workstreams", "scratch", "messages.jsonl"), `{"id":"0a1b2c3d-`)
