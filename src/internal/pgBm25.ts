/**
 * BM25 over a PostgreSQL tsvector, for both PostgreSQL stores: each query word counts `idf x BM25 term weight`, its
 * document frequency counted by the caller (`terms.df`, over `total.n` documents) and its frequency in the document
 * from `ts_rank_cd`. There is no length normalisation (PostgreSQL keeps no per-document token count).
 */
import type * as SqlClient from "@effect/sql/SqlClient"

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
