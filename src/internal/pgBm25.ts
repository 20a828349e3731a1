/**
 * BM25 over a PostgreSQL tsvector, for both PostgreSQL stores: each query word counts `idf x BM25 term weight`, its
 * document frequency counted over every row of the store and its frequency in the document from `ts_rank_cd`
 * (10 x the cover density of a one-word query is the word's count). There is no length normalisation (PostgreSQL
 * keeps no per-document token count).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment, Statement } from "@effect/sql/Statement"

const K1 = 1.2

/**
 * Each query word as a row `tq`: a bound value that plainto_tsquery parses as plain text, so it never reaches query
 * syntax; a stop word parses to an empty query (`numnode(tq) = 0`).
 */
export const wordQueries = (sql: SqlClient.SqlClient, terms: ReadonlyArray<string>) =>
  sql.join(" UNION ALL ", false)(terms.map((w) => sql`SELECT plainto_tsquery('english', ${w}) AS tq`))

/** One word's score in the document over alias `m` (column `tsv`), from CTE rows `terms` (tq, df) and `total` (n). */
export const bm25Term = (sql: SqlClient.SqlClient) =>
  sql`ln(1 + (total.n - terms.df + 0.5) / (terms.df + 0.5)) *
    (10 * ts_rank_cd(m.tsv, terms.tq, 0)) * ${K1 + 1} / (10 * ts_rank_cd(m.tsv, terms.tq, 0) + ${K1})`

/** What `rankedMatches` ranks: the table (alias `m`, column `tsv`), the columns each hit carries, and its filter. */
export interface RankedMatches {
  /** The table's (qualified) name. */
  readonly table: string
  /** Columns over alias `m`, each with an alias of its own; the result has them under those aliases. */
  readonly head: string
  readonly headAliases: ReadonlyArray<string>
  readonly where: Fragment
  /** ORDER BY of the result, after `score DESC`, over the head aliases. */
  readonly tieBreak: string
  readonly limit: number
}

/**
 * The `limit` best rows holding any of `terms` that pass `where`, each with its BM25 `score`, in one statement.
 * Each word is a bound value that plainto_tsquery parses once, in FROM, where the planner folds it to a constant:
 * so the match (the words joined by `|`) is an index condition the GIN index answers, with a known selectivity (a
 * seq scan only when most rows match). One pass over the matches, filtered or not, counts each word's document
 * frequency over the whole store and ranks only the rows that pass the filter, so no word's count reads the table
 * again. `t<i>` is the word's count in a row that passes (10 x the cover density of a one-word query; above 0
 * exactly when the row holds the word), and 1 or 0 (holds it or not) in one that does not. Words are not merged
 * by stem: each counts on its own, as the query lists them. A word's count is taken only in a row that holds it
 * (`@@` first): a match holds a few of the query's words, and `ts_rank_cd` (which builds the row's cover for the
 * word) cost several times the `@@` test, so ranking a long query's matches cost 5 counts a row where 1-2 do.
 */
export const rankedMatches = (sql: SqlClient.SqlClient, terms: ReadonlyArray<string>, r: RankedMatches): Statement<unknown> => {
  const table = sql(r.table)
  const n = terms.map((_, i) => i + 1)
  const list = (f: (i: number) => string) => sql.literal(n.map(f).join(", "))
  const words = sql.join(", ", false)(terms.map((w, i) => sql`plainto_tsquery('english', ${w}) ${sql.literal(`q${i + 1}`)}`))
  const heads = sql.literal(r.headAliases.join(", "))
  const score = n.map((i) => `ln(1 + (total.n - d${i} + 0.5) / (d${i} + 0.5)) * t${i} * ${K1 + 1} / (t${i} + ${K1})`).join(" + ")
  // Each fenced level (OFFSET 0) evaluates its expressions once per row; the window counts need every match.
  return sql`SELECT ${heads}, ${sql.literal(score)} AS score FROM (
      SELECT ${heads}, ok, ${list((i) => `t${i}`)}, ${list((i) => `(count(*) FILTER (WHERE t${i} > 0) OVER ())::float8 AS d${i}`)} FROM (
        SELECT ${heads}, ok, ${list((i) => `CASE WHEN NOT tsv @@ q${i} THEN 0 WHEN ok THEN 10 * ts_rank_cd(tsv, q${i}, 0) ELSE 1 END AS t${i}`)}
        FROM (
          SELECT ${sql.literal(r.head)}, m.tsv, (${r.where}) AS ok, ${list((i) => `q${i}`)} FROM ${table} m, ${words}
          WHERE m.tsv @@ (${sql.literal(n.map((i) => `q${i}`).join(" || "))}) OFFSET 0
        ) matched OFFSET 0
      ) ranked
    ) counted, (SELECT count(*)::float8 AS n FROM ${table}) total
    WHERE ok ORDER BY score DESC, ${sql.literal(r.tieBreak)} LIMIT ${r.limit}`
}
