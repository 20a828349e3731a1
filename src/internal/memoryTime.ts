/**
 * The as-of predicate over both time axes, once for every layer: the in-process drivers evaluate `visibleAt`, the
 * SQL drivers compile the same condition (`timeSql`), and the suites hold both against a reference model.
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Fragment } from "@effect/sql/Statement"
import type { AsOf, Timed } from "../MemoryTime.js"

/** An as-of read: the recorded instant, and the valid instant (absent: every valid time). */
export interface TimeFilter {
  readonly recordedMillis: number
  readonly validMillis?: number | undefined
}

/** Only facts of this subject (and predicate). */
export interface FactFilter {
  readonly subject: string
  readonly predicate?: string | undefined
}

export const validFromMillis = (m: Timed): number => (m.validFrom ?? m.createdAt).epochMillis
export const recordedMillis = (m: Timed): number => (m.recordedAt ?? m.createdAt).epochMillis

/** The end of the valid interval as the store held it at `recorded` (undefined: open). */
export const validToAt = (m: Timed, recorded: number): number | undefined =>
  m.validToRecordedAt !== undefined && m.validToRecordedAt.epochMillis > recorded
    ? m.priorValidTo?.epochMillis
    : m.validTo?.epochMillis

/** Whether the store held `m` at the recorded instant, and (when given) held it true at the valid instant. */
export const visibleAt = (m: Timed, t: TimeFilter): boolean => {
  if (recordedMillis(m) > t.recordedMillis) return false
  if (m.retractedAt !== undefined && m.retractedAt.epochMillis <= t.recordedMillis) return false
  if (t.validMillis === undefined) return true
  const to = validToAt(m, t.recordedMillis)
  return validFromMillis(m) <= t.validMillis && (to === undefined || to > t.validMillis)
}

/** A caller's `asOf` at `nowMillis`: each axis not given is now (`validDefault: false` leaves valid time open). */
export const timeFilterOf = (asOf: AsOf, nowMillis: number, validDefault = true): TimeFilter => ({
  recordedMillis: asOf.recorded?.epochMillis ?? nowMillis,
  validMillis: asOf.valid?.epochMillis ?? (validDefault ? nowMillis : undefined)
})

/** `visibleAt` over the memories table (alias `m`), the same on SQLite and PostgreSQL. */
export const timeSql = (sql: SqlClient.SqlClient, t: TimeFilter): Fragment => {
  const r = t.recordedMillis
  const recorded = sql`m.recorded_at <= ${r} AND (m.retracted_at IS NULL OR m.retracted_at > ${r})`
  if (t.validMillis === undefined) return recorded
  const v = t.validMillis
  // The end held at `r`: the prior one when a later fact set the end after `r`.
  const end = sql`(CASE WHEN m.valid_to_recorded_at > ${r} THEN m.prior_valid_to ELSE m.valid_to END)`
  return sql`${recorded} AND m.valid_from <= ${v} AND (${end} IS NULL OR ${end} > ${v})`
}

/** The fact-key condition over alias `m` (the generated subject and predicate columns). */
export const factSql = (sql: SqlClient.SqlClient, f: FactFilter): Fragment =>
  f.predicate === undefined ? sql`m.subject = ${f.subject}` : sql`m.subject = ${f.subject} AND m.predicate = ${f.predicate}`

/** The two axes of `m` as Memory fields (absent ones left out), for a rewrite that keeps them. */
export const timesOfMemory = (m: Timed) => ({
  ...(m.validFrom !== undefined ? { validFrom: m.validFrom } : {}),
  ...(m.validTo !== undefined ? { validTo: m.validTo } : {}),
  ...(m.recordedAt !== undefined ? { recordedAt: m.recordedAt } : {}),
  ...(m.retractedAt !== undefined ? { retractedAt: m.retractedAt } : {}),
  ...(m.validToRecordedAt !== undefined ? { validToRecordedAt: m.validToRecordedAt } : {}),
  ...(m.priorValidTo !== undefined ? { priorValidTo: m.priorValidTo } : {})
})
