/**
 * Full-text search over the memories' content: a contentless FTS5 index (`porter unicode61`) keyed by pk, ranked by
 * FTS5's bm25. Query words are always quoted, so user text never reaches FTS5 syntax.
 */
import { Array as Arr, Effect } from "effect"
import type { DriverFilter } from "../memoryRules.js"
import type { TextCandidate } from "../ranking.js"
import { decodeRows, rowCount, single } from "../sql.js"
import { ftsMatch } from "../text.js"
import { whereOf } from "./filter.js"
import { headOfRow, HEAD_SELECT, TextHeadRow } from "./schema.js"
import type { Store } from "./vectors.js"
import { INSERT_CHUNK } from "./vectors.js"

const decodeTextHeadRows = decodeRows(TextHeadRow)

export const writeText = (s: Store, items: ReadonlyArray<readonly [pk: bigint, content: string]>) =>
  Effect.forEach(
    Arr.chunksOf(items, INSERT_CHUNK),
    (chunk) => s.sql`INSERT INTO ${s.sql(s.t.fts)} ${s.sql.insert(chunk.map(([rowid, content]) => ({ rowid, content })))}`,
    { discard: true }
  )

export const deleteText = (s: Store, pk: bigint) => s.sql`DELETE FROM ${s.sql(s.t.fts)} WHERE rowid = ${pk}`

/** Rows in the store: the highest pk, which an index answers at once (deletes leave it an upper bound). */
export const storeSize = (s: Store) => single(s.sql`SELECT coalesce(max(pk), 0) AS n FROM ${s.sql(s.t.memories)}`)

/**
 * The best `depth` text matches that pass the filter, as candidate heads (no row is read whole). The filter is in
 * the one query: ranking the whole store first and filtering afterwards read matches no caller could see, and a
 * filter that kept few of them paid for a second, filtered query as well.
 */
export const textCandidates = (s: Store, filter: DriverFilter, terms: ReadonlyArray<string>, depth: number) =>
  Effect.gen(function*() {
    if (terms.length === 0) return []
    const fts = s.sql(s.t.fts)
    const rows = yield* s.reads.all(
      decodeTextHeadRows,
      s.sql`SELECT ${s.sql.literal(HEAD_SELECT)}, bm25(${fts}) AS text_rank
        FROM ${fts} CROSS JOIN ${s.sql(s.t.memories)} m ON m.pk = ${fts}.rowid
        WHERE ${fts} MATCH ${ftsMatch(terms)} AND ${whereOf(s.sql, s.t, filter)}
        ORDER BY text_rank, m.created_at DESC, m.id ASC LIMIT ${rowCount(s.sql, depth)}`
    )
    return rows.map((r): TextCandidate => ({ ...headOfRow(r), score: -r.text_rank }))
  })
