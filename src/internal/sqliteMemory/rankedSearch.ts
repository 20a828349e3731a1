/**
 * A search over a filtered set small enough to scan exactly, ranked whole in one statement: every memory's distance,
 * its place in the vector ranking and in the text ranking (window functions over the same orders the candidate
 * reads use), scored by the score contract's own code (`scoreFunction.ts`), sorted and cut to the page in SQLite.
 * Reading the rankings deep and proving the page in JavaScript decoded hundreds of rows to return ten; here only
 * the page's rows leave SQLite, and the page is exact by construction.
 */
import type { Fragment } from "@effect/sql/Statement"
import { Effect, Option } from "effect"
import { combineScore } from "../../Memory.js"
import type { DriverFilter } from "../memoryRules.js"
import type { Ranked, RankedPage, ScoreOptions } from "../rankingTopK.js"
import { decodeRows, rowCount } from "../sql.js"
import type { RowsDecoder } from "../sql.js"
import { ftsMatch } from "../text.js"
import { whereOf } from "./filter.js"
import type { KeyedMemory } from "./rows.js"
import { CountRow, headOfRow, RankedRow } from "./schema.js"
import { SCORE_FUNCTION, VECTOR_SCORE_FUNCTION } from "./scoreFunction.js"
import type { Store } from "./vectors.js"
import { bytes } from "./vectors.js"

const decodeRankedRows = decodeRows(RankedRow)
const decodeCountRows = decodeRows(CountRow)
/** The statement's rows as read: two decoders read them, each its own columns. */
const asRaw: RowsDecoder<unknown> = (rows) => Effect.succeed(Array.isArray(rows) ? rows : [])

/** The vector ranking a whole-set search reads: the query's, over the vectors of `generation`. */
export interface VectorQuery {
  readonly query: Float32Array
  readonly generation: number
}

/**
 * The top `o.limit` of the memories that pass `filter`, ranked by the vector query and, when `terms` is
 * not empty, by the text ranking too; `None` when more than `exactScanLimit` memories pass (the set is then read
 * ranking by ranking) or when this store's reads have no connection with the score function.
 */
export const rankedSearch = (
  s: Store,
  filter: DriverFilter,
  vector: VectorQuery,
  terms: ReadonlyArray<string>,
  o: ScoreOptions,
  exactScanLimit: number,
  memoryRows: RowsDecoder<KeyedMemory>,
  tooLarge: WeakSet<DriverFilter>
) =>
  Effect.gen(function*() {
    const { sql } = s
    const where = whereOf(sql, s.t, filter)
    const M = sql(s.t.memories)
    const fts = sql(s.t.fts)
    const head = sql.literal("pk, id, created_at, source, reinforcement_count, superseded, last_accessed")
    // The size test counts keys alone, and the vector step reads the set itself: carrying the set's rows through a
    // CTE of their own cost more than the scan (each step carries the head columns along, as a join back to a CTE
    // has no index and costs a scan per row).
    const small = sql`small AS MATERIALIZED (SELECT count(*) <= ${exactScanLimit} AS ok
        FROM (SELECT 1 FROM ${M} m WHERE ${where} LIMIT ${rowCount(sql, exactScanLimit + 1)}))`
    // The size test drives the scan (CROSS JOIN keeps it the outer loop), so a set too large to rank whole is not
    // scanned at all: as a condition beside the filter, SQLite tested it per row, after reading each row.
    const vd = sql`vd AS MATERIALIZED (SELECT m.pk, m.id, m.created_at, m.source,
          m.reinforcement_count, m.superseded, m.last_accessed,
          coalesce(vec_distance_cosine(v.vector, ${bytes(vector.query)}), 1.0) AS distance
        FROM small CROSS JOIN ${M} m JOIN ${sql(s.t.vectors(vector.generation))} v ON v.pk = m.pk WHERE small.ok AND ${where})`
    // A vector score needs no rank nor text: its function takes fewer arguments, which SQLite converts for each row.
    if (o.mode === "vector") {
      const score = sql`${sql.literal(VECTOR_SCORE_FUNCTION)}(${o.nowMillis}, ${o.minScore ?? null}, distance, source,
          reinforcement_count, superseded, last_accessed)`
      const raw = yield* s.reads.local(asRaw, vectorPage(s, small, vd, score, o.limit))
      return yield* pageOf(s, filter, where, raw, exactScanLimit, memoryRows, tooLarge)
    }
    const vectors = sql`${vd},
      vp AS MATERIALIZED (SELECT vd.*, row_number() OVER (ORDER BY distance, created_at DESC, id ASC) AS vector_place FROM vd)`
    const columns = sql.literal(`pk, score, created_at, id, distance AS vector_distance, vector_place, text_score, text_place,
      best_text`)
    const order = sql.literal("ORDER BY score DESC, created_at DESC, id ASC")
    // The text ranking's memories are its matches that pass the filter, read as the text candidates are; a memory in
    // both rankings is one row of their union grouped by pk.
    const text = sql`td AS MATERIALIZED (SELECT m.pk, m.id, m.created_at, m.source, m.reinforcement_count, m.superseded,
            m.last_accessed, -bm25(${fts}) AS score FROM small CROSS JOIN ${fts} CROSS JOIN ${M} m ON m.pk = ${fts}.rowid
          WHERE small.ok AND ${fts} MATCH ${ftsMatch(terms)} AND ${where}),
        tp AS (SELECT td.*, row_number() OVER (ORDER BY score DESC, created_at DESC, id ASC) AS place FROM td),
        best AS MATERIALIZED (SELECT coalesce(max(score), 0) AS best FROM td)`
    const ranked = terms.length === 0
      ? sql`${vectors},
        r AS (SELECT ${head}, distance, vector_place, NULL AS text_score, NULL AS text_place, 0 AS best_text FROM vp)`
      : sql`${vectors}, ${text},
        u AS (SELECT ${head}, distance, vector_place, NULL AS text_score, NULL AS text_place FROM vp
          UNION ALL SELECT ${head}, NULL, NULL, score, place FROM tp),
        r AS (SELECT ${head}, max(distance) AS distance, max(vector_place) AS vector_place, max(text_score) AS text_score,
          max(text_place) AS text_place, (SELECT best FROM best) AS best_text FROM u GROUP BY pk)`
    const score = sql`${sql.literal(SCORE_FUNCTION)}(${o.mode}, ${o.weights.vector}, ${o.weights.text}, ${o.nowMillis},
          ${o.minScore ?? null}, best_text, distance, vector_place, text_score, text_place, source, reinforcement_count,
          superseded, last_accessed)`
    // Materialized, so that SQLite calls the score function once per memory, not again for the order.
    // The page's rows are read whole in the same statement (the ranking's columns beside them), so its memories need
    // no second read; both decoders take the same rows, each reading its own columns.
    const raw = yield* s.reads.local(
      asRaw,
      sql`WITH ${small}, ${ranked},
        scored AS MATERIALIZED (SELECT r.*, ${score} AS score FROM r),
        page AS MATERIALIZED (SELECT ${columns} FROM scored WHERE score IS NOT NULL ${order} LIMIT ${rowCount(sql, o.limit)})
        SELECT page.vector_distance, page.vector_place, page.text_score, page.text_place, page.best_text, m.*
        FROM page CROSS JOIN ${M} m ON m.pk = page.pk ORDER BY page.score DESC, page.created_at DESC, page.id ASC`
    )
    return yield* pageOf(s, filter, where, raw, exactScanLimit, memoryRows, tooLarge)
  })

/**
 * A vector-only page. Its score needs no place in a ranking, and confidence lowers a score by at most
 * `CONFIDENCE_WEIGHT`: a memory farther than `1 - floor x (1 - d)`, `d` the k-th nearest distance and `floor` the
 * least share of its relevance a score keeps, scores below each of the k nearest. So only memories within that cut
 * are scored (the score function is most of a row's cost). Every memory ranked before one within the cut is within
 * it too (a distance no greater), so numbering the memories within the cut gives each its place in the whole set.
 */
const vectorPage = (s: Store, small: Fragment, vd: Fragment, score: Fragment, limit: number) => {
  const { sql } = s
  const floor = sql.literal(String(combineScore(1, 0)))
  return sql`WITH ${small}, ${vd},
    cut AS (SELECT coalesce((SELECT 1.0 - ${floor} * (1.0 - distance) + ${sql.literal(String(CUT_MARGIN))} FROM vd
      ORDER BY distance LIMIT 1 OFFSET ${rowCount(sql, limit - 1)}), 2.0) AS d),
    scored AS MATERIALIZED (SELECT vd.*, ${score} AS score,
        row_number() OVER (ORDER BY distance, created_at DESC, id ASC) AS vector_place
      FROM vd WHERE distance <= (SELECT d FROM cut)),
    page AS MATERIALIZED (SELECT pk, score, created_at, id, distance, vector_place FROM scored WHERE score IS NOT NULL
      ORDER BY score DESC, created_at DESC, id ASC LIMIT ${rowCount(sql, limit)})
    SELECT page.distance AS vector_distance, page.vector_place, NULL AS text_score, NULL AS text_place, 0 AS best_text, m.*
    FROM page CROSS JOIN ${sql(s.t.memories)} m ON m.pk = page.pk ORDER BY page.score DESC, page.created_at DESC, page.id ASC`
}

/** Far above a rounding error of the cut's arithmetic, far below any difference of distance that matters. */
const CUT_MARGIN = 1e-9

/** The page a ranking statement returned, decoded; `None` when the set was too large to rank whole. */
const pageOf = (
  s: Store,
  filter: DriverFilter,
  where: Fragment,
  raw: Option.Option<ReadonlyArray<unknown>>,
  exactScanLimit: number,
  memoryRows: RowsDecoder<KeyedMemory>,
  tooLarge: WeakSet<DriverFilter>
) =>
  Effect.gen(function*() {
    if (Option.isNone(raw)) return Option.none<RankedPage>()
    const page = yield* decodeRankedRows(raw.value)
    const memories = yield* memoryRows(raw.value)
    // No row: no hit in a small set, or a set too large to rank whole (then nothing was scanned).
    if (page.length === 0) {
      const counted = yield* s.reads.all(
        decodeCountRows,
        s.sql`SELECT count(*) AS n FROM (SELECT 1 FROM ${s.sql(s.t.memories)} m WHERE ${where}
          LIMIT ${rowCount(s.sql, exactScanLimit + 1)})`
      )
      if ((counted[0]?.n ?? 0) <= exactScanLimit) return Option.some<RankedPage>({ rows: [], bestText: 0 })
      // The search's candidate reads then skip their own size test.
      tooLarge.add(filter)
      return Option.none<RankedPage>()
    }
    return Option.some<RankedPage>({
      rows: page.map((r): Ranked => ({
        head: headOfRow(r),
        vector: r.vector_distance === null || r.vector_place === null ? undefined : { rank: r.vector_place, distance: r.vector_distance },
        text: r.text_score === null || r.text_place === null ? undefined : { rank: r.text_place, score: r.text_score }
      })),
      bestText: page[0]!.best_text,
      memories: memories.map(([, m]) => m)
    })
  })
