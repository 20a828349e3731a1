/**
 * The embedded MemoryBackend: one SQLite file holding rows, tags, a full-text index (FTS5), exact float vectors and
 * a sqlite-vec bit index for fast vector search.
 *
 * @since 0.1.0
 */
import { openSqlite } from "../internal/sqlite.js"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Chunk, Config, DateTime, Duration, Effect, Layer, Option, Schema, Scope, Stream } from "effect"
import type { ConfigError } from "effect/ConfigError"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import { getLoadablePath } from "sqlite-vec"
import { Embedder } from "../Embedder.js"
import { EmbeddingError, EmbeddingSpace, EmbeddingSpaceMismatch, InvalidInput, NotFound, StorageError } from "../Errors.js"
import { MemoryId, nextId, SessionId, WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import type { MemoryFilterInput, NewMemoryInput } from "../internal/memory.js"
import { applyPatch, buildMemory, checkEmbedding, factKey, reinforce, supersede } from "../internal/memory.js"
import { candidateDepth, mergeRankings, scoreCandidates } from "../internal/ranking.js"
import { CODE_BITS, makeCoder } from "../internal/simhash.js"
import { Citation, Confidence, ConfidenceSource, ContentType, Memory, MemoryMetadata, NewMemory } from "../Memory.js"
import type { MemoryFilter, MemoryPatch, MemoryStats, ReindexProgress, SearchOptions, StoreFactResult } from "../Memory.js"
import {
  decodeFilter,
  decodeMemoryId,
  decodeNewMemory,
  decodePatch,
  decodeQuery,
  decodeSearch,
  MemoryBackend,
  requireDistinctIds
} from "../MemoryBackend.js"

/**
 * Tuning and naming shared by every way of opening the store.
 *
 * @category options
 */
export interface Options {
  /** Prefix of every table (letters, digits, `_`); default `"arawn_store"`. */
  readonly prefix?: string | undefined
  /** How long a writer waits for another process's write lock before failing; default 5 seconds. */
  readonly busyTimeout?: Duration.DurationInput | undefined
  /** Bytes of the file SQLite may memory-map (vector scans are 2-3x faster mapped); default 1 GiB. */
  readonly mmapSize?: number | undefined
  /**
   * A vector search whose filter matches at most this many memories scores all of them exactly instead of asking
   * the bit index; default 2048. With 0 every search asks the index first (tests use it to exercise that path); a
   * search whose filter then keeps too few candidates scans the filtered memories exactly in any case.
   */
  readonly exactScanLimit?: number | undefined
}

/**
 * Options for a store that opens its own SQLite connection on `filename` (a path, or `:memory:`).
 *
 * @category options
 */
export interface FileOptions extends Options {
  readonly filename: string
}

/** One parse for the whole batch: half the cost of decoding each input on its own. */
const decodeBatch = decodeInput(Schema.Array(NewMemory), "MemoryBackend.storeMany")

const BACKEND = { attributes: { "arawn.backend": "sqlite" } } as const
/**
 * Partitions of the bit index (by pk). vec0's top-k selection costs O(k x n), so asking each of 64 partitions for its
 * top 8 gathers 512 candidates for a quarter of the cost of one top-512 (or of 16 partitions x 32), at equal recall.
 * Stored data depends on it: changing it needs a reindex.
 */
const PARTITIONS = 64
/** vec0's hard limit on k. */
const MAX_K = 4096
/** Rows per multi-row INSERT: amortises statement overhead, far below SQLite's 32766 bound parameters. */
const INSERT_CHUNK = 256
const PAGE_SIZE = 200
const REINDEX_BATCH = 32
/** Store size from which very common query words are left out of text search (see `informativeTerms`). */
const PRUNE_FROM = 10_000

// --- rows -----------------------------------------------------------------------------------------------------------

const memoryColumns = {
  pk: Schema.Number,
  id: MemoryId,
  content_type: ContentType,
  content: Schema.String,
  session_id: Schema.NullOr(SessionId),
  workstream_id: Schema.NullOr(WorkstreamId),
  metadata: Schema.parseJson(MemoryMetadata),
  source: ConfidenceSource,
  reinforcement_count: Schema.NonNegativeInt,
  superseded: Schema.Literal(0, 1),
  superseded_by: Schema.NullOr(MemoryId),
  last_accessed: Schema.DateTimeUtcFromNumber,
  citation: Schema.NullOr(Schema.parseJson(Citation)),
  created_at: Schema.DateTimeUtcFromNumber,
  updated_at: Schema.DateTimeUtcFromNumber,
  accessed_at: Schema.DateTimeUtcFromNumber,
  access_count: Schema.NonNegativeInt
}
const MemoryRow = Schema.Struct(memoryColumns)
type MemoryRow = typeof MemoryRow.Type
const VectorHitRow = Schema.Struct({ ...memoryColumns, distance: Schema.Number })
const TextHitRow = Schema.Struct({ ...memoryColumns, text_rank: Schema.Number, pool: Schema.optional(Schema.Number) })
const CountRow = Schema.Struct({ n: Schema.Number })
const MetaRow = Schema.Struct({ key: Schema.String, value: Schema.String })
const PkContentRow = Schema.Struct({ pk: Schema.Number, content: Schema.String })
const IdRow = Schema.Struct({ id: Schema.String })
const CitationJson = Schema.parseJson(Citation)

/** The memories table's written columns, in the order `rowValues` lists their values. */
const COLUMNS = [
  "pk", "id", "content_type", "content", "session_id", "workstream_id", "metadata", "source", "reinforcement_count",
  "superseded", "superseded_by", "last_accessed", "citation", "created_at", "updated_at", "accessed_at", "access_count"
] as const
const INSERT_COLUMNS = COLUMNS.join(", ")
/** What an update may change: everything but the keys and the creation time. */
const UPDATABLE = COLUMNS.flatMap((c, i) => (c === "pk" || c === "id" || c === "created_at" ? [] : [i]))
const UPDATE_SET = UPDATABLE.map((i) => `${COLUMNS[i]} = ?`).join(", ")

const toMemory = (r: MemoryRow): Memory =>
  new Memory(
    {
      id: r.id,
      contentType: r.content_type,
      content: r.content,
      metadata: r.metadata,
      confidence: new Confidence(
        {
          source: r.source,
          reinforcementCount: r.reinforcement_count,
          superseded: r.superseded === 1,
          lastAccessed: r.last_accessed,
          ...(r.superseded_by !== null ? { supersededBy: r.superseded_by } : {})
        },
        true
      ),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      accessedAt: r.accessed_at,
      accessCount: r.access_count,
      ...(r.session_id !== null ? { sessionId: r.session_id } : {}),
      ...(r.workstream_id !== null ? { workstreamId: r.workstream_id } : {}),
      ...(r.citation !== null ? { citation: r.citation } : {})
    },
    true
  )

const bytes = (v: Float32Array): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
const sameSpace = (a: EmbeddingSpace, b: EmbeddingSpace) => a.model === b.model && a.dimensions === b.dimensions

/** The words of user text as FTS5 sees them (letters, digits, combining marks), lowercased and distinct. */
const queryTerms = (text: string): ReadonlyArray<string> =>
  Array.from(new Set(text.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? []))

/** An FTS5 query in which every word is a quoted string (so no word is ever syntax) and any word may match. */
const ftsMatch = (terms: ReadonlyArray<string>): string => terms.map((t) => `"${t.replaceAll("\"", "\"\"")}"`).join(" OR ")

interface Generation {
  readonly space: EmbeddingSpace
  readonly generation: number
}

interface State extends Generation {
  /** A reindex in progress: the generation being filled, with the space it is filled from. */
  readonly target: Option.Option<Generation>
}

const table = (name: string) => `"${name}"`

/**
 * Builds the SQLite MemoryBackend on the `SqliteClient` in context: loads sqlite-vec into that connection, sets
 * `busy_timeout` and `mmap_size`, runs this store's own migrations (table `<prefix>_memory_migrations`) and records
 * the Embedder's identity when the store is new. Requires `SqliteClient` and `Embedder`.
 *
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options = {}) {
  const prefix = options.prefix ?? "arawn_store"
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) {
    return yield* new InvalidInput({ method: "MemoryBackend.open", message: `table prefix ${JSON.stringify(prefix)} must be an SQL identifier` })
  }
  const client = yield* SqliteClient.SqliteClient
  const sql: SqlClient.SqlClient = client
  const embedder = yield* Embedder
  const current = new EmbeddingSpace({ model: embedder.model, dimensions: embedder.dimensions })
  const code = makeCoder(embedder.dimensions)
  const exactScanLimit = Math.max(0, Math.floor(options.exactScanLimit ?? 2048))

  const names = {
    memories: `${prefix}_memories`,
    tags: `${prefix}_memory_tags`,
    fts: `${prefix}_memory_fts`,
    meta: `${prefix}_memory_meta`,
    vocabulary: `${prefix}_memory_vocabulary`,
    migrations: `${prefix}_memory_migrations`,
    vectors: (g: number) => `${prefix}_memory_vectors_${g}`,
    codes: (g: number) => `${prefix}_memory_codes_${g}`
  }
  const M = table(names.memories)
  const TAGS = table(names.tags)
  const FTS = table(names.fts)
  const META = table(names.meta)
  const VOCAB = table(names.vocabulary)
  const VEC = (g: number) => table(names.vectors(g))
  const CODES = (g: number) => table(names.codes(g))

  const storage = (method: string) => (cause: unknown) => new StorageError({ method, cause })
  const rows = <A, I>(schema: Schema.Schema<A, I>, method: string) => {
    const decode = Schema.decodeUnknown(Schema.Array(schema))
    return (statement: Effect.Effect<ReadonlyArray<unknown>, SqlError>) =>
      Effect.flatMap(statement, (raw) => Effect.mapError(decode(raw), storage(method)))
  }
  const exec = (text: string, params: ReadonlyArray<unknown> = []) => sql.unsafe(text, params)
  const orStorage = (method: string) => <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>) =>
    Effect.catchTag(effect, "SqlError", (e) => Effect.fail(new StorageError({ method, cause: e })))
  /** `count(*)` over `from` (or the single number a subquery yields, with `column`). */
  const countWhere = (method: string, from: string, clause: string, params: ReadonlyArray<unknown>, column?: string) =>
    Effect.map(
      rows(CountRow, method)(exec(`SELECT ${column ?? "count(*)"} AS n FROM ${from} WHERE ${clause}`, params)),
      (rs) => rs[0]?.n ?? 0
    )

  /**
   * Write transactions start with BEGIN IMMEDIATE: the write lock is taken (waiting up to busy_timeout) before the
   * first read, so a writer never holds a stale snapshot that SQLite must refuse with SQLITE_BUSY on upgrade.
   */
  const immediate = SqlClient.makeWithTransaction({
    transactionTag: SqlClient.TransactionConnection,
    spanAttributes: [["db.system.name", "sqlite"]],
    acquireConnection: Effect.flatMap(
      Scope.make(),
      (scope) => Effect.map(Scope.extend(sql.reserve, scope), (conn) => [scope, conn] as const)
    ),
    begin: (conn) => conn.executeUnprepared("BEGIN IMMEDIATE", [], undefined),
    savepoint: (conn, id) => conn.executeUnprepared(`SAVEPOINT arawn_${id}`, [], undefined),
    commit: (conn) => conn.executeUnprepared("COMMIT", [], undefined),
    rollback: (conn) => conn.executeUnprepared("ROLLBACK", [], undefined),
    rollbackSavepoint: (conn, id) => conn.executeUnprepared(`ROLLBACK TO SAVEPOINT arawn_${id}`, [], undefined)
  })
  const write = <A, E, R>(method: string, effect: Effect.Effect<A, E | SqlError, R>) =>
    orStorage(method)(immediate(effect))
  /** A read snapshot, so the state row and the tables it names are seen at one instant. */
  const read = <A, E, R>(method: string, effect: Effect.Effect<A, E | SqlError, R>) =>
    orStorage(method)(sql.withTransaction(effect))

  // --- state ------------------------------------------------------------------------------------------------------

  const readMeta = (method: string) =>
    Effect.map(
      rows(MetaRow, method)(exec(`SELECT key, value FROM ${META}`)),
      (rs) => new Map(rs.map((r) => [r.key, r.value]))
    )

  const generationFrom = (meta: Map<string, string>, key: string): Option.Option<Generation> => {
    const model = meta.get(`${key}.model`)
    const dimensions = Number(meta.get(`${key}.dimensions`))
    const generation = Number(meta.get(`${key}.generation`))
    return model === undefined || !Number.isInteger(dimensions) || !Number.isInteger(generation)
      ? Option.none()
      : Option.some({ space: new EmbeddingSpace({ model, dimensions }), generation })
  }

  /** The store's embedding state, read from its meta table so that another process's reindex is seen. */
  const readState = (method: string) =>
    Effect.flatMap(readMeta(method), (meta) =>
      Option.match(generationFrom(meta, "space"), {
        onNone: () => Effect.fail(new StorageError({ method, cause: "the store has no recorded embedding space" })),
        onSome: (g): Effect.Effect<State> => Effect.succeed({ ...g, target: generationFrom(meta, "target") })
      }))

  const recordGeneration = (key: string, g: Generation) =>
    exec(
      `INSERT INTO ${META} (key, value) VALUES (?, ?), (?, ?), (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [`${key}.model`, g.space.model, `${key}.dimensions`, String(g.space.dimensions), `${key}.generation`, String(g.generation)]
    )

  const createGeneration = (g: number) =>
    Effect.zipRight(
      exec(`CREATE TABLE IF NOT EXISTS ${VEC(g)} (pk INTEGER PRIMARY KEY, vector BLOB NOT NULL)`),
      exec(`CREATE VIRTUAL TABLE IF NOT EXISTS ${CODES(g)} USING vec0(part INTEGER PARTITION KEY, code bit[${CODE_BITS}])`)
    )

  const dropGeneration = (g: number) =>
    Effect.zipRight(exec(`DROP TABLE IF EXISTS ${VEC(g)}`), exec(`DROP TABLE IF EXISTS ${CODES(g)}`))

  const mismatch = (stored: EmbeddingSpace) => new EmbeddingSpaceMismatch({ stored, current })

  /** The generations a vector write must fill: the live one, plus a reindex target filled from the same space. */
  const writableGenerations = (state: State) =>
    sameSpace(state.space, current)
      ? Effect.succeed([
        state.generation,
        ...Option.toArray(state.target).filter((t) => sameSpace(t.space, current)).map((t) => t.generation)
      ])
      : Effect.fail(mismatch(state.space))

  // --- open -------------------------------------------------------------------------------------------------------

  const ddl = (statements: ReadonlyArray<string>) => Effect.forEach(statements, (s) => exec(s), { discard: true })
  const migrations = {
    "0001_create_memories": ddl([
      `CREATE TABLE ${M} (
        pk INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        content_type TEXT NOT NULL,
        content TEXT NOT NULL,
        session_id TEXT,
        workstream_id TEXT,
        metadata TEXT NOT NULL,
        subject TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.subject')) VIRTUAL,
        predicate TEXT GENERATED ALWAYS AS (json_extract(metadata, '$.predicate')) VIRTUAL,
        source TEXT NOT NULL,
        reinforcement_count INTEGER NOT NULL,
        superseded INTEGER NOT NULL,
        superseded_by TEXT,
        last_accessed INTEGER NOT NULL,
        citation TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        accessed_at INTEGER NOT NULL,
        access_count INTEGER NOT NULL
      )`,
      `CREATE INDEX ${table(`${names.memories}_created`)} ON ${M} (created_at, id)`,
      `CREATE INDEX ${table(`${names.memories}_session`)} ON ${M} (session_id, created_at)`,
      `CREATE INDEX ${table(`${names.memories}_workstream`)} ON ${M} (workstream_id, created_at)`,
      `CREATE INDEX ${table(`${names.memories}_type`)} ON ${M} (content_type, created_at)`,
      // Partial: only superseded rows are indexed, so the common write pays nothing for it.
      `CREATE INDEX ${table(`${names.memories}_superseded`)} ON ${M} (created_at) WHERE superseded = 1`,
      `CREATE INDEX ${table(`${names.memories}_fact`)} ON ${M} (subject, predicate) WHERE subject IS NOT NULL`,
      `CREATE TABLE ${TAGS} (tag TEXT NOT NULL, memory_pk INTEGER NOT NULL, PRIMARY KEY (tag, memory_pk)) WITHOUT ROWID`,
      `CREATE INDEX ${table(`${names.tags}_memory`)} ON ${TAGS} (memory_pk)`,
      `CREATE VIRTUAL TABLE ${FTS} USING fts5(content, content='', contentless_delete=1, tokenize='porter unicode61')`,
      `CREATE TABLE ${META} (key TEXT PRIMARY KEY, value TEXT NOT NULL)`
    ]),
    "0002_create_vocabulary": ddl([
      `CREATE VIRTUAL TABLE ${VOCAB} USING fts5vocab(${FTS}, 'row')`
    ])
  }

  yield* Effect.mapError(
    Effect.gen(function*() {
      yield* client.loadExtension(getLoadablePath())
      const busy = Math.max(0, Math.round(Duration.toMillis(options.busyTimeout ?? Duration.seconds(5))))
      yield* exec(`PRAGMA busy_timeout = ${busy}`)
      yield* exec(`PRAGMA mmap_size = ${Math.max(0, Math.floor(options.mmapSize ?? 2 ** 30))}`)
      yield* exec("PRAGMA synchronous = NORMAL")
      // Migrations and the first identity record run under the write lock, so two processes opening a new file at
      // once cannot both create it.
      yield* immediate(Effect.gen(function*() {
        yield* Effect.provideService(
          Migrator.make({})({ loader: Migrator.fromRecord(migrations), table: names.migrations }),
          SqlClient.SqlClient,
          client
        )
        const meta = yield* readMeta("MemoryBackend.open")
        const space = generationFrom(meta, "space")
        if (Option.isNone(space)) {
          yield* recordGeneration("space", { space: current, generation: 1 })
          yield* createGeneration(1)
        }
      }))
    }),
    storage("MemoryBackend.open")
  )

  // --- writes -----------------------------------------------------------------------------------------------------

  const insertMany = (name: string, columns: string, placeholder: string, values: ReadonlyArray<ReadonlyArray<unknown>>) =>
    Effect.forEach(
      Chunk.toReadonlyArray(Chunk.chunksOf(Chunk.unsafeFromArray(values), INSERT_CHUNK)),
      (chunk) =>
        exec(
          `INSERT INTO ${name} (${columns}) VALUES ${Array.from({ length: chunk.length }, () => placeholder).join(",")}`,
          Chunk.toReadonlyArray(chunk).flat()
        ),
      { discard: true }
    )

  const encodeCitation = (method: string, m: Memory) =>
    m.citation === undefined
      ? Effect.succeed(null)
      : Effect.mapError(Schema.encode(CitationJson)(m.citation), storage(method))

  const rowValues = (pk: bigint, m: Memory, citation: string | null): ReadonlyArray<unknown> => [
    pk,
    m.id,
    m.contentType,
    m.content,
    m.sessionId ?? null,
    m.workstreamId ?? null,
    JSON.stringify(m.metadata),
    m.confidence.source,
    m.confidence.reinforcementCount,
    m.confidence.superseded ? 1 : 0,
    m.confidence.supersededBy ?? null,
    m.confidence.lastAccessed.epochMillis,
    citation,
    m.createdAt.epochMillis,
    m.updatedAt.epochMillis,
    m.accessedAt.epochMillis,
    m.accessCount
  ]

  const writeVectors = (generations: ReadonlyArray<number>, items: ReadonlyArray<readonly [bigint, Float32Array, Uint8Array]>) =>
    Effect.forEach(generations, (g) =>
      Effect.zipRight(
        insertMany(VEC(g), "pk, vector", "(?, ?)", items.map(([pk, v]) => [pk, bytes(v)])),
        insertMany(CODES(g), "rowid, part, code", "(?, ?, vec_bit(?))", items.map(([pk, , c]) => [pk, pk % BigInt(PARTITIONS), c]))
      ), { discard: true })

  const deleteVectors = (state: State, pks: ReadonlyArray<bigint>) =>
    Effect.forEach(
      [state.generation, ...Option.toArray(state.target).map((t) => t.generation)],
      (g) =>
        Effect.forEach(pks, (pk) =>
          Effect.zipRight(
            exec(`DELETE FROM ${VEC(g)} WHERE pk = ?`, [pk]),
            exec(`DELETE FROM ${CODES(g)} WHERE rowid = ?`, [pk])
          ), { discard: true }),
      { discard: true }
    )

  /** Inserts new memories with their tags, text entries and vectors; call inside a write transaction. */
  const insertMemories = (
    method: string,
    state: State,
    memories: ReadonlyArray<Memory>,
    vectors: ReadonlyArray<Float32Array>,
    codes: ReadonlyArray<Uint8Array>
  ) =>
    Effect.gen(function*() {
      const generations = yield* writableGenerations(state)
      const max = yield* countWhere(method, `(SELECT coalesce(max(pk), 0) AS n FROM ${M})`, "1 = 1", [], "n")
      const pks = memories.map((_, i) => BigInt(max + 1 + i))
      const citations: Array<string | null> = []
      for (const m of memories) citations.push(yield* encodeCitation(method, m))
      yield* insertMany(M, INSERT_COLUMNS, `(${INSERT_COLUMNS.split(",").map(() => "?").join(",")})`, memories.map((m, i) => rowValues(pks[i]!, m, citations[i]!)))
      yield* insertMany(TAGS, "tag, memory_pk", "(?, ?)", memories.flatMap((m, i) => m.metadata.tags.map((t) => [t, pks[i]!])))
      yield* insertMany(FTS, "rowid, content", "(?, ?)", memories.map((m, i) => [pks[i]!, m.content]))
      yield* writeVectors(generations, memories.map((_, i) => [pks[i]!, vectors[i]!, codes[i]!] as const))
    })

  const updateRow = (method: string, pk: bigint, m: Memory) =>
    Effect.flatMap(encodeCitation(method, m), (citation) => {
      const values = rowValues(pk, m, citation)
      return exec(`UPDATE ${M} SET ${UPDATE_SET} WHERE pk = ?`, [...UPDATABLE.map((i) => values[i]), pk])
    })

  const embed = (texts: ReadonlyArray<string>) =>
    texts.length === 0
      ? Effect.succeed([])
      : Effect.flatMap(embedder.embed(texts), (vs) =>
        vs.length === texts.length && vs.every((v) => v.length === embedder.dimensions)
          ? Effect.succeed(vs)
          : Effect.fail(new EmbeddingError({ cause: `the embedder returned vectors of the wrong count or length` })))

  /** Ids, memories and vectors for a batch, computed before any lock is taken; a failure here writes nothing. */
  const prepare = (method: string, inputs: ReadonlyArray<NewMemoryInput>) =>
    Effect.gen(function*() {
      yield* requireDistinctIds(method, inputs)
      const embedded = yield* embed(inputs.filter((i) => i.embedding === undefined).map((i) => i.content))
      let next = 0
      const vectors: Array<Float32Array> = []
      for (const input of inputs) {
        vectors.push(
          input.embedding !== undefined
            ? yield* checkEmbedding(method, input.embedding, embedder.dimensions)
            : embedded[next++]!
        )
      }
      const now = yield* DateTime.now
      const memories: Array<Memory> = []
      for (const input of inputs) memories.push(buildMemory(input, input.id ?? (yield* nextId(MemoryId)), now))
      return { memories, vectors, codes: vectors.map(code), now }
    })

  const requireNewIds = (method: string, memories: ReadonlyArray<Memory>) =>
    Effect.forEach(
      Chunk.toReadonlyArray(Chunk.chunksOf(Chunk.unsafeFromArray(memories.map((m) => m.id)), 500)),
      (ids) =>
        Effect.flatMap(
          rows(IdRow, method)(exec(`SELECT id FROM ${M} WHERE id IN (${Chunk.toReadonlyArray(ids).map(() => "?").join(",")})`, Chunk.toReadonlyArray(ids))),
          (taken) =>
            taken.length === 0
              ? Effect.void
              : Effect.fail(new InvalidInput({ method, message: `memory id ${taken[0]!.id} already exists` }))
        ),
      { discard: true }
    )

  const storeMany = Effect.fn("MemoryBackend.storeMany", BACKEND)(function*(raw: ReadonlyArray<NewMemory>) {
    const method = "MemoryBackend.storeMany"
    const inputs = yield* decodeBatch(raw)
    if (inputs.length === 0) return []
    const { codes, memories, vectors } = yield* prepare(method, inputs)
    yield* write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      yield* requireNewIds(method, memories)
      yield* insertMemories(method, state, memories, vectors, codes)
    }))
    return memories.map((m) => m.id)
  })

  const store = Effect.fn("MemoryBackend.store", BACKEND)(function*(raw: NewMemory) {
    const method = "MemoryBackend.store"
    const input = yield* decodeNewMemory(method)(raw)
    const { codes, memories, vectors } = yield* prepare(method, [input])
    yield* write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      yield* requireNewIds(method, memories)
      yield* insertMemories(method, state, memories, vectors, codes)
    }))
    return memories[0]!.id
  })

  const selectMemories = (method: string, where: string, params: ReadonlyArray<unknown>) =>
    rows(MemoryRow, method)(exec(`SELECT m.* FROM ${M} m WHERE ${where}`, params))

  const storeFact = Effect.fn("MemoryBackend.storeFact", BACKEND)(function*(raw: NewMemory) {
    const method = "MemoryBackend.storeFact"
    const input = yield* decodeNewMemory(method)(raw)
    const { codes, memories, now, vectors } = yield* prepare(method, [input])
    const memory = memories[0]!
    const key = factKey(memory)
    return yield* write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      yield* writableGenerations(state)
      yield* requireNewIds(method, memories)
      if (key === undefined) {
        yield* insertMemories(method, state, memories, vectors, codes)
        return { id: memory.id, outcome: "inserted", supersededIds: [] } satisfies StoreFactResult
      }
      const live = yield* selectMemories(
        method,
        "m.subject = ? AND m.predicate = ? AND m.superseded = 0 ORDER BY m.created_at DESC, m.id DESC",
        key
      )
      const same = live.find((r) => r.content.trim() === memory.content.trim())
      if (same !== undefined) {
        yield* updateRow(method, BigInt(same.pk), reinforce(toMemory(same), now))
        return { id: same.id, outcome: "reinforced", supersededIds: [] } satisfies StoreFactResult
      }
      for (const old of live) yield* updateRow(method, BigInt(old.pk), supersede(toMemory(old), memory.id, now))
      yield* insertMemories(method, state, memories, vectors, codes)
      return {
        id: memory.id,
        outcome: live.length > 0 ? "superseded" : "inserted",
        supersededIds: live.map((r) => r.id)
      } satisfies StoreFactResult
    }))
  })

  const get = Effect.fn("MemoryBackend.get", BACKEND)(function*(rawId: MemoryId) {
    const method = "MemoryBackend.get"
    const id = yield* decodeMemoryId(method)(rawId)
    const found = yield* orStorage(method)(selectMemories(method, "m.id = ?", [id]))
    return Option.map(Option.fromNullable(found[0]), toMemory)
  })

  const update = Effect.fn("MemoryBackend.update", BACKEND)(function*(rawId: MemoryId, rawPatch: MemoryPatch) {
    const method = "MemoryBackend.update"
    const id = yield* decodeMemoryId(method)(rawId)
    const patch = yield* decodePatch(rawPatch)
    const vector = patch.content === undefined ? undefined : (yield* embed([patch.content]))[0]!
    return yield* write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      const found = yield* selectMemories(method, "m.id = ?", [id])
      const row = found[0]
      if (row === undefined) return yield* new NotFound({ entity: "memory", id })
      const pk = BigInt(row.pk)
      const before = toMemory(row)
      const next = applyPatch(before, patch, yield* DateTime.now)
      yield* updateRow(method, pk, next)
      if (next.metadata.tags.join("\u0000") !== before.metadata.tags.join("\u0000")) {
        yield* exec(`DELETE FROM ${TAGS} WHERE memory_pk = ?`, [pk])
        yield* insertMany(TAGS, "tag, memory_pk", "(?, ?)", next.metadata.tags.map((t) => [t, pk]))
      }
      if (next.content !== before.content && vector !== undefined) {
        const generations = yield* writableGenerations(state)
        yield* exec(`DELETE FROM ${FTS} WHERE rowid = ?`, [pk])
        yield* insertMany(FTS, "rowid, content", "(?, ?)", [[pk, next.content]])
        yield* deleteVectors(state, [pk])
        yield* writeVectors(generations, [[pk, vector, code(vector)]])
      }
      return next
    }))
  })

  const delete_ = Effect.fn("MemoryBackend.delete", BACKEND)(function*(rawId: MemoryId) {
    const method = "MemoryBackend.delete"
    const id = yield* decodeMemoryId(method)(rawId)
    yield* write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      const found = yield* rows(Schema.Struct({ pk: Schema.Number }), method)(exec(`SELECT pk FROM ${M} WHERE id = ?`, [id]))
      if (found.length === 0) return
      const pk = BigInt(found[0]!.pk)
      yield* exec(`DELETE FROM ${M} WHERE pk = ?`, [pk])
      yield* exec(`DELETE FROM ${TAGS} WHERE memory_pk = ?`, [pk])
      yield* exec(`DELETE FROM ${FTS} WHERE rowid = ?`, [pk])
      yield* deleteVectors(state, [pk])
    }))
  })

  // --- search -----------------------------------------------------------------------------------------------------

  /** The filter as SQL over alias `m`, with its parameters. */
  const where = (f: MemoryFilterInput): readonly [string, ReadonlyArray<unknown>] => {
    const clauses: Array<string> = []
    const params: Array<unknown> = []
    // Unary plus keeps SQLite from driving the query by the barely selective superseded index.
    if (!f.includeSuperseded) clauses.push("+m.superseded = 0")
    if (f.contentTypes !== undefined && f.contentTypes.length > 0) {
      clauses.push(`m.content_type IN (${f.contentTypes.map(() => "?").join(",")})`)
      params.push(...f.contentTypes)
    }
    if (f.sessionId !== undefined) {
      clauses.push("m.session_id = ?")
      params.push(f.sessionId)
    }
    if (f.workstreamId !== undefined) {
      clauses.push("m.workstream_id = ?")
      params.push(f.workstreamId)
    }
    if (f.tags !== undefined && f.tags.length > 0) {
      const tags = Array.from(new Set(f.tags))
      clauses.push(
        `m.pk IN (SELECT memory_pk FROM ${TAGS} WHERE tag IN (${tags.map(() => "?").join(",")}) ` +
          `GROUP BY memory_pk HAVING count(*) = ?)`
      )
      params.push(...tags, tags.length)
    }
    if (f.since !== undefined) {
      clauses.push("m.created_at >= ?")
      params.push(f.since.epochMillis)
    }
    if (f.until !== undefined) {
      clauses.push("m.created_at <= ?")
      params.push(f.until.epochMillis)
    }
    return [clauses.length === 0 ? "1 = 1" : clauses.join(" AND "), params]
  }

  const vectorHits = (method: string, filter: MemoryFilterInput, query: Float32Array, depth: number, generation: number) =>
    Effect.gen(function*() {
      const [clause, params] = where(filter)
      const q = bytes(query)
      const distance = `coalesce(vec_distance_cosine(v.vector, ?), 1.0)`
      const order = "ORDER BY distance, m.created_at DESC, m.id ASC LIMIT ?"
      const exact = rows(VectorHitRow, method)(exec(
        `SELECT m.*, ${distance} AS distance FROM ${M} m JOIN ${VEC(generation)} v ON v.pk = m.pk WHERE ${clause} ${order}`,
        [q, ...params, depth]
      ))
      const matching = yield* countWhere(method, `(SELECT 1 FROM ${M} m WHERE ${clause} LIMIT ?)`, "1 = 1", [
        ...params,
        exactScanLimit + 1
      ])
      if (matching <= exactScanLimit) return yield* exact
      // The bit index proposes k per partition, exact cosine on the float vectors ranks them and the filter joins in
      // SQL. Too few survivors means the filter passes under ~10% of the store: scanning that subset exactly is then
      // cheaper than a wider KNN (vec0's selection costs O(k x n)).
      const qcode = code(query)
      const k = Math.min(MAX_K, Math.max(8, Math.ceil((depth * 10) / PARTITIONS)))
      const knn = Array.from(
        { length: PARTITIONS },
        (_, p) => `SELECT rowid FROM ${CODES(generation)} WHERE code MATCH vec_bit(?) AND k = ? AND part = ${p}`
      ).join(" UNION ALL ")
      const hits = yield* rows(VectorHitRow, method)(exec(
        `WITH knn AS MATERIALIZED (${knn})
         SELECT m.*, ${distance} AS distance
         FROM knn CROSS JOIN ${M} m ON m.pk = knn.rowid JOIN ${VEC(generation)} v ON v.pk = knn.rowid
         WHERE ${clause} ${order}`,
        [...Array.from({ length: PARTITIONS }, () => [qcode, BigInt(k)]).flat(), q, ...params, depth]
      ))
      return hits.length >= depth ? hits : yield* exact
    })

  const VocabRow = Schema.Struct({ term: Schema.String, doc: Schema.Number })

  /**
   * Drops words found in more than a tenth of a large store when the query has a rarer one. Such a word weighs
   * little in BM25 (IDF at most log 9, zero from half the store up, against ~9 for a rare word) yet makes FTS5 score
   * a large share of the store: a query with "the" would cost a full scan. Small stores keep every word, and a query
   * of only common words keeps its rarest. Stemmed forms are looked up as typed, so a word whose stem differs is kept.
   */
  const informativeTerms = (method: string, terms: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const size = yield* countWhere(method, `(SELECT coalesce(max(pk), 0) AS n FROM ${M})`, "1 = 1", [], "n")
      if (size < PRUNE_FROM || terms.length < 2) return terms
      const df = new Map(
        (yield* rows(VocabRow, method)(exec(
          terms.map(() => `SELECT term, doc FROM ${VOCAB} WHERE term = ?`).join(" UNION ALL "),
          terms
        ))).map((r) => [r.term, r.doc])
      )
      const rare = terms.filter((t) => (df.get(t) ?? 0) <= size / 10)
      if (rare.length > 0) return rare
      return [terms.reduce((a, b) => ((df.get(a) ?? 0) <= (df.get(b) ?? 0) ? a : b))]
    })

  const textHits = (method: string, filter: MemoryFilterInput, query: string, depth: number) =>
    Effect.gen(function*() {
      const terms = queryTerms(query)
      if (terms.length === 0) return []
      const match = ftsMatch(yield* informativeTerms(method, terms))
      const [clause, params] = where(filter)
      const order = "ORDER BY text_rank, m.created_at DESC, m.id ASC LIMIT ?"
      // FTS5 ranks alone first: joining every match to its row before the sort costs a row lookup per match, which
      // is most of the time on a large store. Only when the filter rejects too many of the best matches does the
      // join run over all of them.
      const pool = depth * 4
      const best = yield* rows(TextHitRow, method)(exec(
        `WITH hits AS MATERIALIZED (
           SELECT rowid, bm25(${FTS}) AS text_rank FROM ${FTS} WHERE ${FTS} MATCH ? ORDER BY rank LIMIT ?
         )
         SELECT m.*, hits.text_rank AS text_rank, (SELECT count(*) FROM hits) AS pool
         FROM hits CROSS JOIN ${M} m ON m.pk = hits.rowid WHERE ${clause} ${order}`,
        [match, pool, ...params, depth]
      ))
      // Every match was in the pool (fewer than asked for): what passed the filter is all there is.
      const whole = best.length > 0 && (best[0]!.pool ?? pool) < pool
      if (best.length >= depth || whole) return best
      return yield* rows(TextHitRow, method)(exec(
        `SELECT m.*, bm25(${FTS}) AS text_rank FROM ${FTS} CROSS JOIN ${M} m ON m.pk = ${FTS}.rowid
         WHERE ${FTS} MATCH ? AND ${clause} ${order}`,
        [match, ...params, depth]
      ))
    })

  const search = Effect.fn("MemoryBackend.search", BACKEND)(function*(rawQuery: string, rawOptions?: SearchOptions) {
    const method = "MemoryBackend.search"
    const query = yield* decodeQuery(rawQuery)
    const options = yield* decodeSearch(rawOptions ?? {})
    const now = yield* DateTime.now
    const depth = candidateDepth(options.limit)
    const wantsVectors = options.mode !== "text"
    if (wantsVectors) {
      const state = yield* orStorage(method)(readState(method))
      if (!sameSpace(state.space, current)) return yield* mismatch(state.space)
    }
    const queryVector = wantsVectors ? (yield* embed([query]))[0] : undefined
    const [vector, text] = yield* read(method, Effect.gen(function*() {
      const state = yield* readState(method)
      if (queryVector !== undefined && !sameSpace(state.space, current)) return yield* mismatch(state.space)
      const vector = queryVector === undefined ? [] : yield* vectorHits(method, options, queryVector, depth, state.generation)
      const text = options.mode === "vector" ? [] : yield* textHits(method, options, query, depth)
      return [vector, text] as const
    }))
    return scoreCandidates(
      mergeRankings(
        vector.map((r) => ({ memory: toMemory(r), distance: r.distance })),
        text.map((r) => ({ memory: toMemory(r), score: -r.text_rank }))
      ),
      { mode: options.mode, weights: options.weights ?? embedder.weights, now, limit: options.limit, minScore: options.minScore }
    )
  })

  // --- list / count / stats ---------------------------------------------------------------------------------------

  const list = (rawFilter?: MemoryFilter) => {
    const method = "MemoryBackend.list"
    return Stream.unwrap(Effect.map(decodeFilter(method)(rawFilter ?? {}), (filter) => {
      const [clause, params] = where(filter)
      const page = (after: Option.Option<readonly [number, string]>) =>
        orStorage(method)(
          selectMemories(
            method,
            Option.match(after, {
              onNone: () => `${clause} ORDER BY m.created_at DESC, m.id DESC LIMIT ?`,
              onSome: () =>
                `${clause} AND (m.created_at < ? OR (m.created_at = ? AND m.id < ?)) ` +
                `ORDER BY m.created_at DESC, m.id DESC LIMIT ?`
            }),
            Option.match(after, {
              onNone: () => [...params, PAGE_SIZE],
              onSome: ([at, id]) => [...params, at, at, id, PAGE_SIZE]
            })
          )
        )
      return Stream.paginateChunkEffect(Option.none<readonly [number, string]>(), (after) =>
        Effect.map(page(after), (rs) => {
          const last = rs[rs.length - 1]
          return [
            Chunk.unsafeFromArray(rs.map(toMemory)),
            rs.length < PAGE_SIZE || last === undefined
              ? Option.none()
              : Option.some(Option.some([last.created_at.epochMillis, last.id] as const))
          ] as const
        }))
    })).pipe(Stream.withSpan(method, BACKEND))
  }

  const count = Effect.fn("MemoryBackend.count", BACKEND)(function*(rawFilter?: MemoryFilter) {
    const method = "MemoryBackend.count"
    const [clause, params] = where(yield* decodeFilter(method)(rawFilter ?? {}))
    return yield* orStorage(method)(countWhere(method, `${M} m`, clause, params))
  })

  const stats = Effect.fn("MemoryBackend.stats", BACKEND)(function*() {
    const method = "MemoryBackend.stats"
    return yield* read(method, Effect.gen(function*() {
      const state = yield* readState(method)
      return {
        memories: yield* countWhere(method, M, "1 = 1", []),
        vectors: yield* countWhere(method, VEC(state.generation), "1 = 1", []),
        embedder: current,
        stale: !sameSpace(state.space, current)
      } satisfies MemoryStats
    }))
  })

  // --- reindex ----------------------------------------------------------------------------------------------------

  /**
   * Reindex fills a new generation of vector tables and swaps it in at the end, so an interrupted run leaves the old
   * generation in charge and a rerun resumes the new one where it stopped (rows already in it are skipped).
   */
  const startReindex = (method: string) =>
    write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      let target = Option.getOrUndefined(state.target)
      if (target !== undefined && !sameSpace(target.space, current)) {
        yield* dropGeneration(target.generation)
        target = undefined
      }
      if (target === undefined) {
        target = { space: current, generation: state.generation + 1 }
        yield* dropGeneration(target.generation)
        yield* createGeneration(target.generation)
        yield* recordGeneration("target", target)
      }
      const total = yield* countWhere(method, M, "1 = 1", [])
      const done = yield* countWhere(method, `${M} m`, `EXISTS (SELECT 1 FROM ${VEC(target.generation)} t WHERE t.pk = m.pk)`, [])
      return { target, total, done }
    }))

  const missing = (g: number) => `NOT EXISTS (SELECT 1 FROM ${VEC(g)} t WHERE t.pk = m.pk)`

  const reindexBatch = (method: string, target: Generation, after: number) =>
    Effect.gen(function*() {
      const batch = yield* orStorage(method)(
        rows(PkContentRow, method)(exec(
          `SELECT m.pk, m.content FROM ${M} m WHERE m.pk > ? AND ${missing(target.generation)} ORDER BY m.pk LIMIT ?`,
          [after, REINDEX_BATCH]
        ))
      )
      if (batch.length === 0) return Option.none<readonly [number, number]>()
      const vectors = yield* embed(batch.map((r) => r.content))
      yield* write(method, Effect.gen(function*() {
        const state = yield* readState(method)
        if (Option.isNone(state.target) || state.target.value.generation !== target.generation) {
          return yield* new StorageError({ method, cause: "another reindex replaced this one" })
        }
        // Rows updated or deleted since they were read are left for the next pass, never written from stale text.
        const still = new Map(
          (yield* rows(PkContentRow, method)(exec(
            `SELECT m.pk, m.content FROM ${M} m WHERE m.pk IN (${batch.map(() => "?").join(",")}) AND ${missing(target.generation)}`,
            batch.map((r) => r.pk)
          ))).map((r) => [r.pk, r.content])
        )
        const items = batch.flatMap((r, i) =>
          still.get(r.pk) === r.content ? [[BigInt(r.pk), vectors[i]!, code(vectors[i]!)] as const] : []
        )
        yield* writeVectors([target.generation], items)
      }))
      return Option.some([batch[batch.length - 1]!.pk, batch.length] as const)
    })

  const finishReindex = (method: string, target: Generation) =>
    write(method, Effect.gen(function*() {
      const state = yield* readState(method)
      const left = yield* countWhere(method, `${M} m`, missing(target.generation), [])
      if (left > 0) return false
      yield* recordGeneration("space", target)
      yield* exec(`DELETE FROM ${META} WHERE key LIKE 'target.%'`)
      if (state.generation !== target.generation) yield* dropGeneration(state.generation)
      return true
    }))

  interface Pass {
    readonly after: number
    readonly done: number
    readonly finished: boolean
  }

  type Step = Option.Option<readonly [Chunk.Chunk<ReindexProgress>, Pass]>
  const emit = (progress: ReadonlyArray<ReindexProgress>, pass: Pass): Step =>
    Option.some([Chunk.unsafeFromArray(progress), pass])

  const reindex = () => {
    const method = "MemoryBackend.reindex"
    return Stream.unwrap(Effect.map(startReindex(method), ({ done, target, total }) =>
      Stream.unfoldChunkEffect(
        { after: 0, done, finished: false },
        (s: Pass): Effect.Effect<Step, StorageError | EmbeddingError> =>
          s.finished
            ? Effect.succeed(Option.none())
            : Effect.flatMap(reindexBatch(method, target, s.after), (last) =>
              Option.match(last, {
                onSome: ([after, n]) => {
                  const next = Math.min(total, s.done + n)
                  return Effect.succeed(emit([{ done: next, total }], { after, done: next, finished: false }))
                },
                // A pass that ends with rows still missing (written meanwhile without the target) starts over.
                onNone: () =>
                  Effect.map(finishReindex(method, target), (complete) =>
                    complete
                      ? emit([{ done: total, total }], { after: 0, done: total, finished: true })
                      : emit([], { after: 0, done: s.done, finished: false }))
              }))
      )
    )).pipe(Stream.withSpan(method, BACKEND))
  }

  return {
    store,
    storeMany,
    storeFact,
    get,
    update,
    delete: delete_,
    search,
    list,
    count,
    stats,
    reindex
  } satisfies MemoryBackend["Type"]
})

/**
 * The SQLite MemoryBackend. With `filename` (a path, whose directory is created, or `:memory:`) it opens and owns its
 * connection; without, it uses the `SqliteClient` in context, on which it loads sqlite-vec and sets `busy_timeout`,
 * `mmap_size` and `synchronous = NORMAL` (WAL is the client's default). Requires an `Embedder`: the store records the
 * embedder's model and dimensions on first open and refuses vector writes and vector/hybrid search from another one
 * until `reindex` (text search, get, list, count and delete keep working).
 *
 * Caveats: vector search ranks the bit index's candidates exactly, so it is approximate on large unfiltered stores
 * (recall@10 about 0.99 at 100k); on stores of 10,000 memories or more, text search leaves out query words found in
 * more than a tenth of the memories when the query has a rarer word.
 *
 * @category layers
 */
export function layer(options: FileOptions): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder>
export function layer(
  options?: Options
): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder | SqliteClient.SqliteClient>
export function layer(
  options?: Options | FileOptions
): Layer.Layer<MemoryBackend, StorageError | InvalidInput, Embedder | SqliteClient.SqliteClient> {
  if (options === undefined || !("filename" in options)) return Layer.effect(MemoryBackend, make(options))
  const filename = options.filename
  return Layer.scoped(
    MemoryBackend,
    Effect.gen(function*() {
      if (filename !== ":memory:" && filename !== "" && !filename.startsWith("file:")) {
        yield* Effect.try({
          try: () => mkdirSync(dirname(filename), { recursive: true }),
          catch: (cause) => new StorageError({ method: "MemoryBackend.open", cause })
        })
      }
      const client = yield* openSqlite("MemoryBackend.open", { filename })
      return yield* Effect.provideService(make(options), SqliteClient.SqliteClient, client)
    })
  )
}

/**
 * `layer` with its options read from `Config` (e.g. `Config.string("MEMORY_DB")` for the filename).
 *
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<FileOptions>
): Layer.Layer<MemoryBackend, StorageError | InvalidInput | ConfigError, Embedder> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(config), (options) => layer(options)))
