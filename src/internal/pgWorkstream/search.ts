/**
 * `searchMessages` on PostgreSQL, the text half of the PostgreSQL MemoryBackend's search (`pgMemory/search.ts`)
 * over messages: the generated tsvector and its GIN index find the matches; each query word counts
 * `idf x BM25 term weight`, its document frequency counted over every message of the store (as the in-memory and
 * local indexes count theirs) and its frequency in the message from `ts_rank_cd`. There is no length
 * normalisation (PostgreSQL keeps no per-document token count), so scores sit on the scale of FTS5's bm25 without
 * matching it or the in-memory BM25 exactly; the contract orders hits within one store only.
 */
import { Effect } from "effect"
import type { SearchHit, SearchQuery } from "../../WorkstreamStore.js"
import { bm25Term, wordQueries } from "../pgBm25.js"
import { all, decodeRows } from "../sql.js"
import { MESSAGE_SELECT, rowToMessage, SearchRow } from "./schema.js"
import type { Store } from "./schema.js"

const decodeSearchRows = decodeRows(SearchRow)

const filters = ({ sql }: Store, q: SearchQuery) => [
  ...(q.workstreamIds !== undefined ? [sql`m.workstream = ANY(${q.workstreamIds}::text[])`] : []),
  // A branch's path: a few segments, each one range of the (workstream, seq) key.
  ...(q.path !== undefined
    ? [sql.or(q.path.map((p) =>
      p.upToSeq === undefined
        ? sql`(m.workstream = ${p.workstreamId} AND m.seq > ${p.afterSeq})`
        : sql`(m.workstream = ${p.workstreamId} AND m.seq > ${p.afterSeq} AND m.seq <= ${p.upToSeq})`
    ))]
    : []),
  ...(q.sessionId !== undefined ? [sql`m.session_id = ${q.sessionId}`] : []),
  ...(q.roles !== undefined ? [sql`m.role = ANY(${q.roles}::text[])`] : []),
  ...(q.since !== undefined ? [sql`m.timestamp >= ${q.since.epochMillis}`] : []),
  ...(q.until !== undefined ? [sql`m.timestamp <= ${q.until.epochMillis}`] : [])
]

/**
 * One statement: the filters apply inside the match before the limit, and the order is the Driver's (bm25 desc,
 * timestamp desc, workstream id asc in the "C" collation, seq asc), total, so the top never depends on the limit.
 */
export const search = (s: Store, q: SearchQuery) =>
  Effect.gen(function*() {
    if (q.terms.length === 0) return []
    const { sql, t } = s
    const messages = sql(t.messages)
    // Each word is a bound value that plainto_tsquery parses as plain text: it never reaches query syntax. Words
    // with one stem (migration, migrations) count once, as in the in-memory index; stop words parse to nothing.
    const words = wordQueries(sql, q.terms)
    // MATERIALIZED: inlined, the planner re-runs each word's document count once per matching message. The total
    // comes from the counters, which each write keeps equal to the log's rows (a branch's count less what it shares): one row per workstream, not per message.
    const rows = yield* all(decodeSearchRows, sql`WITH words AS MATERIALIZED (${words}),
      terms AS MATERIALIZED (
        SELECT tq, (SELECT count(*) FROM ${messages} d WHERE d.tsv @@ u.tq)::float8 AS df
        FROM (SELECT DISTINCT tq FROM words WHERE numnode(tq) > 0) u
      ),
      total AS MATERIALIZED (
        SELECT coalesce(sum(message_count - CASE WHEN forked_shared THEN forked_from_seq ELSE 0 END), 0)::float8 AS n
        FROM ${sql(t.workstreams)}
      ),
      scored AS (
        SELECT m.workstream, m.seq, sum(${bm25Term(sql)}) AS score
        FROM terms CROSS JOIN total JOIN ${messages} m ON m.tsv @@ terms.tq
        WHERE ${sql.and(filters(s, q))}
        GROUP BY m.workstream, m.seq
      )
      SELECT m.workstream AS found, ${sql.literal(MESSAGE_SELECT)}, scored.score::float8 AS score
      FROM scored JOIN ${messages} m ON m.workstream = scored.workstream AND m.seq = scored.seq
      ORDER BY scored.score DESC, m.timestamp DESC, m.workstream ASC, m.seq ASC LIMIT ${q.limit}`)
    return rows.flatMap((r): Array<SearchHit> => {
      const message = rowToMessage(r.found, r)
      return message === undefined ? [] : [{ message, bm25: r.score }]
    })
  })
