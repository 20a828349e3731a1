/** The time-axis columns of a memories row, the same on every SQL engine (epoch milliseconds, NULL: absent). */
import { Schema } from "effect"
import type { DateTime } from "effect"
import type { Timed } from "../MemoryTime.js"

const Millis = Schema.NullOr(Schema.DateTimeUtcFromNumber)

export const timeColumnFields = {
  valid_from: Millis,
  valid_to: Millis,
  recorded_at: Millis,
  retracted_at: Millis,
  valid_to_recorded_at: Millis,
  prior_valid_to: Millis
}

export interface TimeColumns {
  readonly valid_from: DateTime.Utc | null
  readonly valid_to: DateTime.Utc | null
  readonly recorded_at: DateTime.Utc | null
  readonly retracted_at: DateTime.Utc | null
  readonly valid_to_recorded_at: DateTime.Utc | null
  readonly prior_valid_to: DateTime.Utc | null
}

/** The Memory fields of a row's time columns (NULL columns left out). */
export const timesOfRow = (r: TimeColumns) => ({
  ...(r.valid_from !== null ? { validFrom: r.valid_from } : {}),
  ...(r.valid_to !== null ? { validTo: r.valid_to } : {}),
  ...(r.recorded_at !== null ? { recordedAt: r.recorded_at } : {}),
  ...(r.retracted_at !== null ? { retractedAt: r.retracted_at } : {}),
  ...(r.valid_to_recorded_at !== null ? { validToRecordedAt: r.valid_to_recorded_at } : {}),
  ...(r.prior_valid_to !== null ? { priorValidTo: r.prior_valid_to } : {})
})

/** The written time columns; valid_from and recorded_at default to the creation time, so as-of reads need no COALESCE. */
export const timeColumns = (m: Timed) => ({
  valid_from: (m.validFrom ?? m.createdAt).epochMillis,
  valid_to: m.validTo?.epochMillis ?? null,
  recorded_at: (m.recordedAt ?? m.createdAt).epochMillis,
  retracted_at: m.retractedAt?.epochMillis ?? null,
  valid_to_recorded_at: m.validToRecordedAt?.epochMillis ?? null,
  prior_valid_to: m.priorValidTo?.epochMillis ?? null
})

/**
 * The migration that adds the time columns to a memories table (`table`: a quoted or qualified name built from
 * validated identifiers) and fills valid_from and recorded_at of existing rows with their creation time
 * (`superseded`: the engine's test of the superseded column).
 */
export const bitemporalDdl = (table: string, type: string, superseded: string): ReadonlyArray<string> => [
  ...Object.keys(timeColumnFields).map((c) => `ALTER TABLE ${table} ADD COLUMN ${c} ${type}`),
  `UPDATE ${table} SET valid_from = created_at, recorded_at = created_at`,
  // A fact superseded before the store had time axes was replaced, as far as it is known, when it last changed.
  `UPDATE ${table} SET retracted_at = updated_at WHERE ${superseded}`
]
