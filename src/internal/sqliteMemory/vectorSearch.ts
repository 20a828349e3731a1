/**
 * Vector candidates: exact cosine over the float vectors when the filter leaves few memories, otherwise the bit
 * index proposes candidates per partition and exact cosine ranks them.
 */
import type { Fragment } from "@effect/sql/Statement"
import { Effect } from "effect"
import type { DriverFilter } from "../memoryRules.js"
import type { VectorCandidate } from "../ranking.js"
import { decodeRows, rowCount } from "../sql.js"
import { whereOf } from "./filter.js"
import { CountRow, headOfRow, HEAD_SELECT, PARTITIONS, VectorHeadRow } from "./schema.js"
import type { Store } from "./vectors.js"
import { bytes } from "./vectors.js"

const decodeVectorHeadRows = decodeRows(VectorHeadRow)
const decodeCountRows = decodeRows(CountRow)

/** vec0's hard limit on k. */
const MAX_K = 4096

export const vectorCandidates = (
  s: Store,
  filter: DriverFilter,
  query: Float32Array,
  depth: number,
  generation: number,
  exactScanLimit: number,
  tooLarge: WeakSet<DriverFilter>
) =>
  Effect.gen(function*() {
    const { sql } = s
    const where = whereOf(sql, s.t, filter)
    const q = bytes(query)
    const distance = sql`coalesce(vec_distance_cosine(v.vector, ${q}), 1.0)`
    const order = sql`ORDER BY distance, m.created_at DESC, m.id ASC LIMIT ${rowCount(sql, depth)}`
    const vectors = sql(s.t.vectors(generation))
    const exactWhere = (gate: Fragment) =>
      s.reads.all(decodeVectorHeadRows, sql`SELECT ${sql.literal(HEAD_SELECT)}, ${distance} AS distance
        FROM ${gate} CROSS JOIN ${sql(s.t.memories)} m JOIN ${vectors} v ON v.pk = m.pk WHERE ${where} ${order}`)
    const matching = sql`SELECT count(*) AS n FROM (SELECT 1 FROM ${sql(s.t.memories)} m WHERE ${where} LIMIT ${rowCount(sql, exactScanLimit + 1)})`
    // One statement while the filter leaves few memories: the bounded count is its outer loop, so a set too large
    // is never scanned. No row means no match, or too many to scan, which the count alone then tells; a search
    // that learned its set is too large (its whole-set ranking did) goes to the bit index at once.
    if (!tooLarge.has(filter)) {
      const small = yield* exactWhere(sql`(${matching} HAVING count(*) <= ${exactScanLimit})`)
      if (small.length > 0) return small.map(toCandidate)
      const counted = yield* s.reads.all(decodeCountRows, matching)
      if ((counted[0]?.n ?? 0) <= exactScanLimit) return []
      tooLarge.add(filter)
    }
    // The bit index proposes k per partition, exact cosine on the float vectors ranks them and the filter joins in
    // SQL. A filter that keeps too few of them widens the proposal (vec0's selection costs O(k x n), so each step is
    // dearer), and past the widest one the filtered memories are scanned exactly. Every choice here depends on the
    // depth alone, never on the caller's limit, so the head of the ranking is the same for every limit.
    const qcode = s.code(query)
    const codes = sql(s.t.codes(generation))
    for (const perPartition of proposals(depth)) {
      const k = BigInt(perPartition)
      const knn = sql.join(" UNION ALL ", false)(
        Array.from({ length: PARTITIONS }, (_, p) =>
          sql`SELECT rowid FROM ${codes} WHERE code MATCH vec_bit(${qcode}) AND k = ${k} AND part = ${BigInt(p)}`)
      )
      const hits = yield* s.reads.all(decodeVectorHeadRows, sql`WITH knn AS MATERIALIZED (${knn})
        SELECT ${sql.literal(HEAD_SELECT)}, ${distance} AS distance
        FROM knn CROSS JOIN ${sql(s.t.memories)} m ON m.pk = knn.rowid JOIN ${vectors} v ON v.pk = knn.rowid
        WHERE ${where} ${order}`)
      if (hits.length >= depth) return hits.map(toCandidate)
    }
    return (yield* exactWhere(sql`(SELECT 1)`)).map(toCandidate)
  })

/**
 * Candidates per partition to try, narrowest first: 8 (512 in all, recall@10 ~0.99 at 100k) serves depths up to 200
 * unfiltered; each wider step is for filters that keep a smaller share of the store.
 */
const proposals = (depth: number): ReadonlyArray<number> => {
  const first = Math.min(MAX_K, Math.max(8, Math.ceil((depth * 2.5) / PARTITIONS)))
  return [first, first * 4, first * 16].filter((k, i) => i === 0 || k <= MAX_K)
}

const toCandidate = (r: typeof VectorHeadRow.Type): VectorCandidate => ({ ...headOfRow(r), distance: r.distance })
