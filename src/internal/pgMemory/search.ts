/**
 * Search candidates on PostgreSQL. Vectors: exact cosine distance when the filter leaves few memories, otherwise
 * pgvector's HNSW index with iterative scans, so a filter applies inside the index walk and the limit still fills.
 * Text: the generated tsvector and its GIN index find the matches; each query word counts `idf x BM25 term weight`
 * with its document frequency from the index and its frequency in the memory from `ts_rank_cd`, so scores sit on
 * the same scale as SQLite's FTS5 bm25 (no length normalisation: PostgreSQL keeps no per-document token count).
 */
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"
import type { DriverFilter } from "../memoryRules.js"
import type { TextCandidate, VectorCandidate } from "../ranking.js"
import { bm25Term, wordQueries } from "../pgBm25.js"
import { all, decodeRows, single } from "../sql.js"
import { whereOf } from "./filter.js"
import { HEAD_SELECT, headOfRow, TextHeadRow, VectorHeadRow } from "./schema.js"
import type { Store } from "./state.js"
import { vectorText } from "./state.js"

const decodeTextHeadRows = decodeRows(TextHeadRow)
const decodeVectorHeadRows = decodeRows(VectorHeadRow)

export const vectorCandidates = (
  s: Store,
  filter: DriverFilter,
  query: Float32Array,
  depth: number,
  generation: number,
  exactScanLimit: number
) =>
  Effect.gen(function*() {
    const { sql } = s
    const where = whereOf(sql, s.t, filter)
    const q = vectorText(query)
    const vectors = sql(s.t.vectors(generation))
    const matching = yield* single(sql`SELECT count(*)::integer AS n FROM
      (SELECT 1 FROM ${sql(s.t.memories)} m WHERE ${where} LIMIT ${exactScanLimit + 1}) AS f`)
    // Ordering on (distance, createdAt, id) is not an HNSW ordering, so this one scans exactly.
    const rows = matching <= exactScanLimit
      ? yield* all(decodeVectorHeadRows, sql`SELECT ${sql.literal(HEAD_SELECT)}, (v.vector <=> ${q}::vector) AS distance
          FROM ${sql(s.t.memories)} m JOIN ${vectors} v ON v.memory_id = m.id WHERE ${where}
          ORDER BY distance, m.created_at DESC, m.id ASC LIMIT ${depth}`)
      : yield* indexed(s, where, q, generation, depth)
    return rows.map((r): VectorCandidate => ({ ...headOfRow(r), distance: r.distance }))
  })

/**
 * The HNSW walk. Its settings are the same whatever the caller's limit (the depth is), so the head of the ranking
 * never depends on the limit; relaxed order is re-sorted here with the contract's tie-breaks.
 */
const indexed = (s: Store, where: Fragment, q: string, generation: number, depth: number) =>
  Effect.gen(function*() {
    const { sql } = s
    const vectors = sql(s.t.vectors(generation))
    // SET LOCAL takes no bound parameters; the value is an integer computed here. At least 200 whatever the depth:
    // a first read is only twice the limit deep, and the walk must not lose the recall of the old fixed depth.
    yield* sql`SET LOCAL hnsw.ef_search = ${sql.literal(String(Math.max(200, Math.min(1000, depth))))}`
    yield* sql`SET LOCAL hnsw.iterative_scan = relaxed_order`
    const rows = yield* all(decodeVectorHeadRows, sql`SELECT ${sql.literal(HEAD_SELECT)}, (v.vector <=> ${q}::vector) AS distance
      FROM ${vectors} v JOIN ${sql(s.t.memories)} m ON m.id = v.memory_id WHERE ${where}
      ORDER BY v.vector <=> ${q}::vector LIMIT ${depth}`)
    return [...rows].sort((a, b) => a.distance - b.distance || b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  })

export const textCandidates = (s: Store, filter: DriverFilter, terms: ReadonlyArray<string>, depth: number) =>
  Effect.gen(function*() {
    if (terms.length === 0) return []
    const { sql } = s
    const where = whereOf(sql, s.t, filter)
    const memories = sql(s.t.memories)
    const words = wordQueries(sql, terms)
    // MATERIALIZED: inlined, the planner re-runs each word's document count once per matching memory.
    const rows = yield* all(decodeTextHeadRows, sql`WITH words AS MATERIALIZED (${words}),
      terms AS MATERIALIZED (
        SELECT tq, (SELECT count(*) FROM ${memories} d WHERE d.tsv @@ words.tq)::float8 AS df
        FROM words WHERE numnode(tq) > 0
      ),
      total AS MATERIALIZED (SELECT count(*)::float8 AS n FROM ${memories}),
      scored AS (
        SELECT m.id, sum(${bm25Term(sql)}) AS score
        FROM terms CROSS JOIN total JOIN ${memories} m ON m.tsv @@ terms.tq
        WHERE ${where}
        GROUP BY m.id
      )
      SELECT ${sql.literal(HEAD_SELECT)}, scored.score AS score FROM scored JOIN ${memories} m ON m.id = scored.id
      ORDER BY scored.score DESC, m.created_at DESC, m.id ASC LIMIT ${depth}`)
    return rows.map((r): TextCandidate => ({ ...headOfRow(r), score: r.score }))
  })
