/**
 * Memories rows decoded once per state of the row. Decoding a row through `MemoryRow` (thirty columns, JSON
 * metadata, a dozen instants) and building its `Memory` costs more than reading it; a row read again unchanged
 * decodes to an equal value, so the store keeps the last decoding of recently read rows beside the raw values it
 * came from, and reuses it only when every column read now is identical to them.
 */
import { Effect } from "effect"
import type { Memory } from "../../Memory.js"
import { decodeRows } from "../sql.js"
import type { RowsDecoder } from "../sql.js"
import { MemoryRow, rowToMemory } from "./schema.js"

const decodeMemoryRows = decodeRows(MemoryRow)

/** A memory with the store's key for it. */
export type KeyedMemory = readonly [pk: bigint, memory: Memory]

interface Decoded {
  readonly raw: Readonly<Record<string, unknown>>
  readonly keyed: KeyedMemory
}

/** The columns a memory is decoded from: a statement may return others beside them (a ranking's), which are not compared. */
const COLUMNS = Object.keys(MemoryRow.fields)

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Whether `row` holds the values `d` was decoded from in every memory column (values are SQLite scalars). */
const unchanged = (d: Decoded, row: Readonly<Record<string, unknown>>): boolean => {
  for (const key of COLUMNS) if (row[key] !== d.raw[key]) return false
  return true
}

/** A decoder of memories rows that reuses the decoding of rows seen unchanged among the last `capacity` decoded. */
export const memoryRowsDecoder = (capacity: number): RowsDecoder<KeyedMemory> => {
  const seen = new Map<unknown, Decoded>()
  const remember = (raw: Readonly<Record<string, unknown>>, keyed: KeyedMemory) => {
    if (seen.size >= capacity) seen.delete(seen.keys().next().value)
    seen.set(raw.id, { raw, keyed })
  }
  return (rows) => {
    if (!Array.isArray(rows)) return Effect.map(decodeMemoryRows(rows), (decoded) => decoded.map(keyedOf))
    const out: Array<KeyedMemory | undefined> = []
    const fresh: Array<Readonly<Record<string, unknown>>> = []
    const at: Array<number> = []
    for (const row of rows) {
      const hit = isRecord(row) ? seen.get(row.id) : undefined
      if (hit !== undefined && isRecord(row) && unchanged(hit, row)) out.push(hit.keyed)
      else {
        at.push(out.length)
        out.push(undefined)
        fresh.push(isRecord(row) ? row : {})
      }
    }
    if (fresh.length === 0) return Effect.succeed(out.flatMap((k) => (k === undefined ? [] : [k])))
    // Rows not seen (or changed) are decoded through the schema, which fails the read on any that does not decode.
    return Effect.map(decodeMemoryRows(fresh.length === rows.length ? rows : fresh), (decoded) => {
      decoded.forEach((r, i) => {
        const keyed = keyedOf(r)
        out[at[i]!] = keyed
        remember(fresh[i]!, keyed)
      })
      return out.flatMap((k) => (k === undefined ? [] : [k]))
    })
  }
}

const keyedOf = (r: typeof MemoryRow.Type): KeyedMemory => [BigInt(r.pk), rowToMemory(r)]
