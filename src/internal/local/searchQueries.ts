/**
 * The ranked statement of `searchMessages`: FTS5's bm25 over the text index (every query word quoted, so user text
 * never reaches FTS5 syntax), joined to the message index for the filters, ordered by the search contract.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect, Schema } from "effect"
import { WorkstreamId } from "../../Ids.js"
import type { SearchQuery } from "../../WorkstreamStore.js"
import { decodeRows, rowCount } from "../sql.js"
import type { Reads } from "../sqliteMemory/read.js"
import { ftsMatch } from "../text.js"
import type { Tables } from "./schema.js"

export const SearchRow = Schema.Struct({
  workstream_id: WorkstreamId,
  seq: Schema.Number,
  byte_offset: Schema.Number,
  byte_length: Schema.Number,
  message_id: Schema.NullOr(Schema.String),
  /** FTS5's bm25(): negative, lower is better. */
  text_rank: Schema.Number,
  /** The first pass only: how many matches its pool held, and the worst rank among them. */
  pool_size: Schema.optional(Schema.Number),
  pool_worst: Schema.optional(Schema.NullOr(Schema.Number))
})
export type SearchRow = typeof SearchRow.Type

const decodeSearchRows = decodeRows(SearchRow)

/** Matches ranked before the filters in the first pass: enough that a mild filter still fills the page. */
const POOL_FACTOR = 4
const MIN_POOL = 200

export const makeSearchQueries = (sql: SqlClient.SqlClient, t: Tables, reads: Reads) => {
  const fts = sql(t.text)
  const statement = (q: SearchQuery, pool: number | undefined, through: number | undefined) => {
    const conditions = [sql`1 = 1`]
    if (q.workstreamIds !== undefined) {
      conditions.push(sql`w.id IN (SELECT value FROM json_each(${JSON.stringify(q.workstreamIds)}))`)
    }
    if (q.path !== undefined) {
      // A branch's path: a few (workstream, seq range) segments, as one JSON array.
      const segments = JSON.stringify(q.path.map((p) => [p.workstreamId, p.afterSeq, p.upToSeq ?? null]))
      conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${segments}) p WHERE p.value ->> 0 = w.id
        AND m.seq > p.value ->> 1 AND (p.value ->> 2 IS NULL OR m.seq <= p.value ->> 2))`)
    }
    if (q.sessionId !== undefined) conditions.push(sql`m.session_id = ${q.sessionId}`)
    if (q.roles !== undefined) conditions.push(sql`m.role IN (SELECT value FROM json_each(${JSON.stringify(q.roles)}))`)
    if (q.since !== undefined) conditions.push(sql`m.timestamp_ms >= ${q.since.epochMillis}`)
    if (q.until !== undefined) conditions.push(sql`m.timestamp_ms <= ${q.until.epochMillis}`)
    // One workstream's entries are one rowid range of the text index (see `insertIndex`), which FTS5 scans alone.
    const one = q.workstreamIds?.length === 1 ? q.workstreamIds[0]! : undefined
    const key = sql`(SELECT key FROM ${sql(t.workstreams)} WHERE id = ${one ?? ""})`
    const range = one === undefined ? sql`` : sql`AND rowid >= (${key} << 32) AND rowid < ((${key} + 1) << 32)`
    // `through`: only matches ranked no worse than the page's last (bm25 is computed by the same function on the
    // same rows, so a tie compares equal).
    const cut = through === undefined ? sql`` : sql`AND bm25(${fts}) <= ${through}`
    const ranked = sql`SELECT rowid, bm25(${fts}) AS text_rank FROM ${fts} WHERE ${fts} MATCH ${ftsMatch(q.terms)} ${range} ${cut}`
    const hits = pool === undefined ? ranked : sql`${ranked} ORDER BY rank LIMIT ${rowCount(sql, pool)}`
    const poolColumns = pool === undefined
      ? sql``
      : sql`, (SELECT count(*) FROM hits) AS pool_size, (SELECT max(text_rank) FROM hits) AS pool_worst`
    return sql`WITH hits AS MATERIALIZED (${hits})
      SELECT w.id AS workstream_id, m.seq, m.byte_offset, m.byte_length, m.message_id, hits.text_rank ${poolColumns}
      FROM hits
      CROSS JOIN ${sql(t.messages)} m ON m.ws_key = (hits.rowid >> 32) AND m.seq = (hits.rowid & 4294967295)
      CROSS JOIN ${sql(t.workstreams)} w ON w.key = m.ws_key
      WHERE ${sql.and(conditions)}
      ORDER BY hits.text_rank ASC, m.timestamp_ms DESC, w.id ASC, m.seq ASC
      LIMIT ${rowCount(sql, q.limit)}`
  }
  const pooled = ({ pool, q }: { readonly q: SearchQuery; readonly pool: number }) =>
    reads.all(decodeSearchRows, statement(q, pool, undefined))
  const every = ({ q, through }: { readonly q: SearchQuery; readonly through: number | undefined }) =>
    reads.all(decodeSearchRows, statement(q, undefined, through))

  /**
   * The page. FTS5 ranks alone first, since joining every match to its index row costs a lookup per match; that
   * page stands when the pool held every match, or when it filled with matches ranked strictly above the pool's
   * worst (so no match outside the pool, nor a tie with its last, could belong on it). Otherwise every match is
   * ranked: the page never depends on the pool. A full page bounds that ranking: a match ranked worse than its
   * last cannot displace any row of it, so only the matches ranked up to the last (ties included) are joined.
   */
  return (q: SearchQuery) =>
    Effect.gen(function*() {
      // Without filters the pool needs only one match past the page, to tell a clear cut from a tie. One
      // workstream is no filter here: its rowid range confines FTS5 itself.
      const filtered = (q.workstreamIds !== undefined && q.workstreamIds.length > 1) || q.path !== undefined || q.sessionId !== undefined ||
        q.roles !== undefined || q.since !== undefined || q.until !== undefined
      const pool = filtered ? Math.max(MIN_POOL, q.limit * POOL_FACTOR) : q.limit + 1
      const first = yield* pooled({ q, pool })
      const head = first[0]
      if (head === undefined) return yield* every({ q, through: undefined })
      if ((head.pool_size ?? pool) < pool) return first
      const worst = head.pool_worst ?? null
      const last = first[first.length - 1]!
      const full = first.length === q.limit
      if (full && worst !== null && last.text_rank < worst) return first
      return yield* every({ q, through: full ? last.text_rank : undefined })
    })
}
