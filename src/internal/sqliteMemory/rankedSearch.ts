/**
 * A search over a filtered set small enough to scan exactly, ranked whole in one statement: every memory's distance,
 * its place in the vector ranking and in the text ranking (window functions over the same orders the candidate
 * reads use), scored by the score contract's own code (`scoreFunction.ts`), sorted and cut to the page in SQLite.
 * Reading the rankings deep and proving the page in JavaScript decoded hundreds of rows to return ten; here only
 * the page's rows leave SQLite, and the page is exact by construction.
 */
import { Effect, Option } from "effect"
import type { DriverFilter } from "../memoryRules.js"
import type { Ranked, RankedPage, ScoreOptions } from "../rankingTopK.js"
import { decodeRows } from "../sql.js"
import { ftsMatch } from "../text.js"
import { whereOf } from "./filter.js"
import { CountRow, headOfRow, RankedRow } from "./schema.js"
import { SCORE_FUNCTION, VECTOR_SCORE_FUNCTION } from "./scoreFunction.js"
import type { Store } from "./vectors.js"
import { bytes } from "./vectors.js"

const decodeRankedRows = decodeRows(RankedRow)
const decodeCountRows = decodeRows(CountRow)

/**
 * The top `o.limit` of the memories that pass `filter`, ranked by the vector `query` and, when `terms` is not empty,
 * by the text ranking too; `None` when more than `exactScanLimit` memories pass (the set is then read ranking by
 * ranking) or when this store's reads have no connection with the score function.
 */
export const rankedSearch = (
  s: Store,
  filter: DriverFilter,
  query: Float32Array,
  terms: ReadonlyArray<string>,
  o: ScoreOptions,
  generation: number,
  exactScanLimit: number
) =>
  Effect.gen(function*() {
    const { sql } = s
    const where = whereOf(sql, s.t, filter)
    const M = sql(s.t.memories)
    const fts = sql(s.t.fts)
    const head = sql.literal("pk, id, created_at, source, reinforcement_count, superseded, last_accessed")
    // Each step carries the head columns along: a join back to a CTE has no index and costs a scan per row.
    const set = sql`f AS MATERIALIZED (SELECT m.pk, m.id, m.created_at, m.source, m.reinforcement_count,
        m.superseded, m.last_accessed FROM ${M} m WHERE ${where} LIMIT ${exactScanLimit + 1}),
      small AS MATERIALIZED (SELECT count(*) <= ${exactScanLimit} AS ok FROM f),
      vd AS MATERIALIZED (SELECT f.*, coalesce(vec_distance_cosine(v.vector, ${bytes(query)}), 1.0) AS distance
        FROM f JOIN ${sql(s.t.vectors(generation))} v ON v.pk = f.pk WHERE (SELECT ok FROM small))`
    const columns = sql.literal(`id, created_at, source, reinforcement_count, superseded, last_accessed, distance AS vector_distance,
      vector_place, text_score, text_place, best_text`)
    const order = sql`ORDER BY score DESC, created_at DESC, id ASC LIMIT ${o.limit}`
    // The text ranking's memories are its matches that pass the filter, read as the text candidates are; a memory in
    // both rankings is one row of their union grouped by pk.
    const ranked = terms.length === 0
      ? sql`r AS (SELECT ${head}, distance, vector_place, NULL AS text_score, NULL AS text_place, 0 AS best_text FROM vp)`
      : sql`td AS MATERIALIZED (SELECT m.pk, m.id, m.created_at, m.source, m.reinforcement_count, m.superseded,
            m.last_accessed, -bm25(${fts}) AS score FROM ${fts} CROSS JOIN ${M} m ON m.pk = ${fts}.rowid
          WHERE ${fts} MATCH ${ftsMatch(terms)} AND ${where} AND (SELECT ok FROM small)),
        tp AS (SELECT td.*, row_number() OVER (ORDER BY score DESC, created_at DESC, id ASC) AS place FROM td),
        best AS MATERIALIZED (SELECT coalesce(max(score), 0) AS best FROM td),
        u AS (SELECT ${head}, distance, vector_place, NULL AS text_score, NULL AS text_place FROM vp
          UNION ALL SELECT ${head}, NULL, NULL, score, place FROM tp),
        r AS (SELECT ${head}, max(distance) AS distance, max(vector_place) AS vector_place, max(text_score) AS text_score,
          max(text_place) AS text_place, (SELECT best FROM best) AS best_text FROM u GROUP BY pk)`
    // A vector score needs no rank nor text: its function takes fewer arguments, which SQLite converts for each row.
    const score = o.mode === "vector"
      ? sql`${sql.literal(VECTOR_SCORE_FUNCTION)}(${o.nowMillis}, ${o.minScore ?? null}, distance, source,
          reinforcement_count, superseded, last_accessed)`
      : sql`${sql.literal(SCORE_FUNCTION)}(${o.mode}, ${o.weights.vector}, ${o.weights.text}, ${o.nowMillis},
          ${o.minScore ?? null}, best_text, distance, vector_place, text_score, text_place, source, reinforcement_count,
          superseded, last_accessed)`
    // Materialized, so that SQLite calls the score function once per memory, not again for the order.
    const rows = yield* s.reads.local(
      decodeRankedRows,
      sql`WITH ${set},
        vp AS MATERIALIZED (SELECT vd.*, row_number() OVER (ORDER BY distance, created_at DESC, id ASC) AS vector_place FROM vd),
        ${ranked},
        scored AS MATERIALIZED (SELECT r.*, ${score} AS score FROM r)
        SELECT ${columns} FROM scored WHERE score IS NOT NULL ${order}`
    )
    if (Option.isNone(rows)) return Option.none<RankedPage>()
    const page = rows.value
    // No row: no hit in a small set, or a set too large to rank whole (then nothing was scanned).
    if (page.length === 0) {
      const counted = yield* s.reads.all(
        decodeCountRows,
        sql`SELECT count(*) AS n FROM (SELECT 1 FROM ${sql(s.t.memories)} m WHERE ${where} LIMIT ${exactScanLimit + 1})`
      )
      return (counted[0]?.n ?? 0) > exactScanLimit ? Option.none<RankedPage>() : Option.some<RankedPage>({ rows: [], bestText: 0 })
    }
    return Option.some<RankedPage>({
      rows: page.map((r): Ranked => ({
        head: headOfRow(r),
        vector: r.vector_distance === null || r.vector_place === null ? undefined : { rank: r.vector_place, distance: r.vector_distance },
        text: r.text_score === null || r.text_place === null ? undefined : { rank: r.text_place, score: r.text_score }
      })),
      bestText: page[0]!.best_text
    })
  })
