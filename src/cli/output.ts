/**
 * How the command line prints: aligned tables for people, JSON for programs, a progress bar on stderr, and one
 * line per error.
 *
 * @since 0.1.0
 */
import { Cause, Console, DateTime, Effect, Logger, Schema } from "effect"
import { StorageError } from "../Errors.js"

/** Cuts `text` to `width` characters on one line, marking the cut with an ellipsis. @category formatting */
export const clip = (text: string, width: number): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= width ? flat : `${flat.slice(0, Math.max(0, width - 1))}…`
}

/** An aligned plain-text table; numbers are right-aligned. @category formatting */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)))
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"))
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)))
  const line = (r: ReadonlyArray<string>) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")
}

/** `key: value` lines with the keys aligned. @category formatting */
export const fields = (entries: ReadonlyArray<readonly [string, string | number | undefined]>): string => {
  const present = entries.filter((e): e is readonly [string, string | number] => e[1] !== undefined)
  const width = Math.max(0, ...present.map(([k]) => k.length))
  return present.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${typeof v === "number" ? formatNumber(v) : v}`)
    .join("\n")
}

/** Integers as they are, fractions with three decimals. @category formatting */
export const formatNumber = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(3))

/** A UTC instant as `YYYY-MM-DD HH:MM:SS`. @category formatting */
export const formatTime = (t: DateTime.Utc): string => DateTime.formatIso(t).slice(0, 19).replace("T", " ")

/** Encodes `value` with `schema` to plain JSON data (timestamps become ISO strings). @category json */
export const encode = <A, I>(schema: Schema.Schema<A, I, never>, value: A): Effect.Effect<I, StorageError> =>
  Effect.mapError(Schema.encode(schema)(value), (cause) => new StorageError({ method: "cli.encode", cause }))

/** Prints a value as indented JSON on stdout. @category json */
export const printJson = (value: unknown): Effect.Effect<void> => Console.log(JSON.stringify(value, null, 2))

const BAR_WIDTH = 30

/**
 * A progress bar on stderr, redrawn in place when stderr is a terminal and silent otherwise (so pipes and logs get
 * only the final summary).
 *
 * @category progress
 */
export const makeProgress = (label: string) => {
  const tty = process.stderr.isTTY === true
  let drawn = false
  return {
    update: (done: number, total: number) =>
      Effect.sync(() => {
        if (!tty) return
        const ratio = total <= 0 ? 1 : Math.min(1, done / total)
        const filled = Math.round(ratio * BAR_WIDTH)
        process.stderr.write(
          `\r${label} [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${done}/${total}\u001b[K`
        )
        drawn = true
      }),
    finish: Effect.sync(() => {
      if (tty && drawn) process.stderr.write("\n")
      drawn = false
    })
  }
}

export { ANSI, colourAllowed } from "./colour.js"

/**
 * A logger for the command line: one `arawn-store: <level>: <message>` line per entry on stderr, so a warning (a
 * repaired log, say) never lands in the output a script parses. A cause is printed under it.
 *
 * @category logging
 */
export const stderrLogger = Logger.make(({ annotations, cause, logLevel, message }) => {
  const text = (m: unknown) => (typeof m === "string" ? m : JSON.stringify(m))
  const parts = (Array.isArray(message) ? message : [message]).map(text)
  const context = Array.from(annotations, ([k, v]) => `${k}=${text(v)}`)
  const where = context.length > 0 ? ` (${context.join(", ")})` : ""
  const detail = Cause.isEmpty(cause) ? "" : `\n${Cause.pretty(cause, { renderErrorCause: true })}`
  process.stderr.write(`arawn-store: ${logLevel._tag.toLowerCase()}: ${parts.join(" ")}${where}${detail}\n`)
})
