/**
 * Full-text search over the memories' content: a contentless FTS5 index (`porter unicode61`) keyed by pk, ranked by
 * FTS5's bm25. Query words are always quoted, so user text never reaches FTS5 syntax.
 */
import { Array as Arr, Effect } from "effect"
import type { DriverFilter } from "../memory.js"
import type { TextCandidate } from "../ranking.js"
import { single } from "../sql.js"
import { ftsMatch } from "../text.js"
import { read } from "./read.js"
import { whereOf } from "./filter.js"
import { headOfRow, HEAD_SELECT, TextHeadRow } from "./schema.js"
import type { Store } from "./vectors.js"
import { INSERT_CHUNK } from "./vectors.js"

export const writeText = (s: Store, items: ReadonlyArray<readonly [pk: bigint, content: string]>) =>
  Effect.forEach(
    Arr.chunksOf(items, INSERT_CHUNK),
    (chunk) => s.sql`INSERT INTO ${s.sql(s.t.fts)} ${s.sql.insert(chunk.map(([rowid, content]) => ({ rowid, content })))}`,
    { discard: true }
  )

export const deleteText = (s: Store, pk: bigint) => s.sql`DELETE FROM ${s.sql(s.t.fts)} WHERE rowid = ${pk}`

/** Rows in the store: the highest pk, which an index answers at once (deletes leave it an upper bound). */
export const storeSize = (s: Store) => single(s.sql`SELECT coalesce(max(pk), 0) AS n FROM ${s.sql(s.t.memories)}`)

/** The best `depth` text matches that pass the filter, as candidate heads (no row is read whole). */
export const textCandidates = (s: Store, filter: DriverFilter, terms: ReadonlyArray<string>, depth: number) =>
  Effect.gen(function*() {
    if (terms.length === 0) return []
    const match = ftsMatch(terms)
    const where = whereOf(s.sql, s.t, filter)
    const fts = s.sql(s.t.fts)
    const order = s.sql`ORDER BY text_rank, m.created_at DESC, m.id ASC LIMIT ${depth}`
    // FTS5 ranks alone first: joining every match to its row before the sort costs a row lookup per match, which
    // is most of the time on a large store. Only when the filter rejects too many of the best matches does the
    // join run over all of them.
    const pool = depth * 4
    const best = yield* read(s.readers, TextHeadRow, s.sql`WITH hits AS MATERIALIZED (
          SELECT rowid, bm25(${fts}) AS text_rank FROM ${fts} WHERE ${fts} MATCH ${match} ORDER BY rank LIMIT ${pool}
        )
        SELECT ${s.sql.literal(HEAD_SELECT)}, hits.text_rank AS text_rank, (SELECT count(*) FROM hits) AS pool
        FROM hits CROSS JOIN ${s.sql(s.t.memories)} m ON m.pk = hits.rowid WHERE ${where} ${order}`)
    // Every match was in the pool (fewer than asked for): what passed the filter is all there is.
    const whole = best.length > 0 && (best[0]!.pool ?? pool) < pool
    const rows = best.length >= depth || whole ? best : yield* read(
      s.readers,
      TextHeadRow,
      s.sql`SELECT ${s.sql.literal(HEAD_SELECT)}, bm25(${fts}) AS text_rank
        FROM ${fts} CROSS JOIN ${s.sql(s.t.memories)} m ON m.pk = ${fts}.rowid
        WHERE ${fts} MATCH ${match} AND ${where} ${order}`
    )
    return rows.map((r): TextCandidate => ({ ...headOfRow(r), score: -r.text_rank }))
  })
