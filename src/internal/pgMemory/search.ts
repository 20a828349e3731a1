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
import { rankedMatches } from "../pgBm25.js"
import { all, decodeRows, single } from "../sql.js"
import type { RowsDecoder } from "../sql.js"
import { whereOf } from "./filter.js"
import { HEAD_COLUMNS, HEAD_SELECT, headOfRow, TextHeadRow, VectorHeadRow } from "./schema.js"
import type { Store } from "./state.js"
import { shareGenerationsCall, vectorText } from "./state.js"

const decodeTextHeadRows = decodeRows(TextHeadRow)
const decodeVectorHeadRows = decodeRows(VectorHeadRow)

/** A vector read's rows as candidates. */
const vectorRows: RowsDecoder<VectorCandidate> = (rows) =>
  Effect.map(decodeVectorHeadRows(rows), (rs) => rs.map((r): VectorCandidate => ({ ...headOfRow(r), distance: r.distance })))

/** A text read's rows as candidates. */
const textRows: RowsDecoder<TextCandidate> = (rows) =>
  Effect.map(decodeTextHeadRows(rows), (rs) => rs.map((r): TextCandidate => ({ ...headOfRow(r), score: r.score })))

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
    // One round trip before the read: the shared generation lock (taken before any statement names the
    // generation's table, so no swap drops it under the read), the HNSW walk's settings for this transaction, and
    // whether the filter leaves few enough memories to rank exactly. The walk's settings are the same whatever the
    // caller's limit (the depth is), so the head of the ranking never depends on the limit. ef_search is at least
    // 200 whatever the depth: a first read is only twice the limit deep, and the walk must not lose the recall of
    // the old fixed depth. It is an integer computed here.
    const matching = yield* single(sql`SELECT ${shareGenerationsCall(s)} IS NULL AS locked,
      set_config('hnsw.ef_search', ${String(Math.max(200, Math.min(1000, depth)))}, true) IS NULL AS ef,
      set_config('hnsw.iterative_scan', 'relaxed_order', true) IS NULL AS iterative,
      (SELECT count(*) FROM (SELECT 1 FROM ${sql(s.t.memories)} m WHERE ${where} LIMIT ${exactScanLimit + 1}) AS f)::integer AS n`)
    // Ordering on (distance, createdAt, id) is not an HNSW ordering, so this one scans exactly.
    return matching <= exactScanLimit
      ? yield* all(vectorRows, sql`SELECT ${sql.literal(HEAD_SELECT)}, (v.vector <=> ${q}::vector) AS distance
          FROM ${sql(s.t.memories)} m JOIN ${vectors} v ON v.memory_id = m.id WHERE ${where}
          ORDER BY distance, m.created_at DESC, m.id ASC LIMIT ${depth}`)
      : yield* indexed(s, where, q, generation, depth)
  })

/** The HNSW walk (its settings made by the caller); relaxed order is re-sorted here with the contract's tie-breaks. */
const indexed = (s: Store, where: Fragment, q: string, generation: number, depth: number) =>
  Effect.gen(function*() {
    const { sql } = s
    const vectors = sql(s.t.vectors(generation))
    // Ordered by the output column: the walk still answers it (the planner matches it to the index's ordering
    // operator) and the query vector, ~2 KB of text at 384 dimensions, is sent and parsed once instead of twice.
    const rows = yield* all(vectorRows, sql`SELECT ${sql.literal(HEAD_SELECT)}, (v.vector <=> ${q}::vector) AS distance
      FROM ${vectors} v JOIN ${sql(s.t.memories)} m ON m.id = v.memory_id WHERE ${where}
      ORDER BY distance LIMIT ${depth}`)
    return [...rows].sort((a, b) =>
      a.distance - b.distance || b.createdAtMillis - a.createdAtMillis || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    )
  })

export const textCandidates = (s: Store, filter: DriverFilter, terms: ReadonlyArray<string>, depth: number) =>
  Effect.gen(function*() {
    if (terms.length === 0) return []
    const { sql } = s
    return yield* all(
      textRows,
      rankedMatches(sql, terms, {
        table: s.t.memories,
        head: HEAD_SELECT,
        headAliases: HEAD_COLUMNS,
        where: whereOf(sql, s.t, filter),
        tieBreak: "created_at DESC, id ASC",
        limit: depth
      })
    )
  })
