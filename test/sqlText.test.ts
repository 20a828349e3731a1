/**
 * Statements that SQLite runs never bind a LIMIT or OFFSET: SQLite reads a bound LIMIT while planning, so such a
 * statement is prepared again on every run, which cost a small store's search more than running it. Counts go into
 * the text through `rowCount` (src/internal/sql.ts). PostgreSQL-only modules bind them, as that costs nothing there.
 */
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const ROOT = join(import.meta.dirname, "..", "src")
const PG_ONLY = /(^|\/)(pgMemory|pgWorkstream)\/|(^|\/)pg[A-Z][A-Za-z0-9]*\.ts$|\/Pg\.ts$/

const sources = (dir: string): ReadonlyArray<string> =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = dir === "" ? e.name : `${dir}/${e.name}`
    return e.isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

describe("SQL text", () => {
  it("binds no LIMIT or OFFSET in a statement SQLite may run", () => {
    const bound = sources("").filter((p) => !PG_ONLY.test(p)).flatMap((path) =>
      readFileSync(join(ROOT, path), "utf8").split("\n").flatMap((line, i) =>
        // `sql.unsafe` takes text the module wrote itself: its interpolations are already part of the text.
        /\b(LIMIT|OFFSET)\s+\$\{(?!rowCount\()/.test(line) && !line.includes("sql.unsafe(`") ? [`${path}:${i + 1}: ${line.trim()}`] : []
      )
    )
    expect(bound).toEqual([])
  })

  it("finds a bound LIMIT where there is one, and passes a written one", () => {
    expect(/\b(LIMIT|OFFSET)\s+\$\{(?!rowCount\()/.test("ORDER BY seq LIMIT ${o.limit}`")).toBe(true)
    expect(/\b(LIMIT|OFFSET)\s+\$\{(?!rowCount\()/.test("ORDER BY seq LIMIT ${rowCount(sql, o.limit)}`")).toBe(false)
  })
})
