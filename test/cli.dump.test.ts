/**
 * `export`, `import --dump` and `migrate --to`, run through the compiled binary.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cli, isOneLine } from "./support/cli.js"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-dump-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 120_000
const ok = async (args: ReadonlyArray<string>) => {
  const r = await cli(args)
  expect(r.code, r.stderr).toBe(0)
  return r.stdout
}

/** The dump's records without the header, the scratch record's timestamps left out (see test/Dump.test.ts). */
const records = (dump: string) =>
  dump.trim().split("\n").slice(1).map((l) => {
    const r = JSON.parse(l)
    if (r.kind !== "workstream" || r.workstream.id !== "scratch") return r
    const { createdAt: _c, updatedAt: _u, ...rest } = r.workstream
    return { ...r, workstream: rest }
  })

describe("export, import --dump and migrate", () => {
  it("a store exported to a file or stdout, imported and migrated elsewhere keeps every record", async () => {
    const work = freshDir()
    const src = join(work, "src")
    await ok(["--dir", src, "memory", "add", "the build uses esbuild", "--tag", "build"])
    await ok(["--dir", src, "memory", "add", "--subject", "db", "--predicate", "uses", "uses sqlite"])
    await ok(["--dir", src, "memory", "add", "--subject", "db", "--predicate", "uses", "uses postgres"])
    const ws = JSON.parse(await ok(["--json", "--dir", src, "workstream", "create", "plan", "--tag", "x"]))
    await ok(["--dir", src, "workstream", "append", ws.id, "--role", "user", "hello there"])
    await ok(["--dir", src, "workstream", "summarize", ws.id, "--from", "1", "--to", "1", "--content", "a greeting"])
    const file = join(work, "store.jsonl")
    await ok(["--dir", src, "export", "--out", file])
    const dumped = readFileSync(file, "utf8")
    expect(await ok(["--dir", src, "export"])).toContain('"kind":"memory"')
    expect(records(dumped).map((r) => r.kind)).toEqual(["memory", "memory", "memory", "workstream", "message", "summary"])

    const imported = join(work, "imported")
    const report = JSON.parse(await ok(["--json", "--dir", imported, "import", "--dump", file]))
    expect(report.memories).toEqual({ imported: 3, skipped: 0, failed: 0 })
    expect(report.messages).toEqual({ imported: 1, skipped: 0, failed: 0 })
    expect(report.summaries).toEqual({ imported: 1, skipped: 0, failed: 0 })
    expect(records(await ok(["--dir", imported, "export"]))).toEqual(records(dumped))

    const migrated = join(work, "migrated")
    expect(await ok(["--dir", src, "migrate", "--to", migrated])).toContain("memories")
    expect(records(await ok(["--dir", migrated, "export"]))).toEqual(records(dumped))
    const again = JSON.parse(await ok(["--json", "--dir", src, "migrate", "--to", migrated]))
    expect(again.memories).toEqual({ imported: 0, skipped: 3, failed: 0 })
    expect(again.summaries).toEqual({ imported: 0, skipped: 1, failed: 0 })
  }, SLOW)

  it("import needs exactly one source; migrate refuses its own store; a file that is not a dump is one line", async () => {
    const work = freshDir()
    const src = join(work, "src")
    await ok(["--dir", src, "memory", "add", "something"])
    const neither = await cli(["--dir", src, "import"])
    expect(neither.code).toBe(2)
    expect(isOneLine(neither.stderr)).toBe(true)
    const self = await cli(["--dir", src, "migrate", "--to", src])
    expect(self.code).toBe(2)
    expect(self.stderr).toContain("the store itself")
    const notDump = await cli(["--dir", src, "import", "--dump", join(src, "memory.db")])
    expect(notDump.code).toBe(2)
    expect(isOneLine(notDump.stderr)).toBe(true)
  }, SLOW)
})
