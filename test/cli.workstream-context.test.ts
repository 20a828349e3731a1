/** `arawn-store workstream summarize` and `workstream context`, through the compiled binary. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cli } from "./support/cli.js"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 240_000

describe("arawn-store workstream summarize and context", () => {
  it("a summary stands for its range in the context; messages keep every original; a bad range is one line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arawn-cli-context-"))
    dirs.push(dir)
    const created = await cli(["--dir", dir, "--json", "workstream", "create", "Long thread"])
    expect(created.code, created.stderr).toBe(0)
    const id: string = JSON.parse(created.stdout).id
    for (const content of ["one", "two", "three", "four"]) {
      const r = await cli(["--dir", dir, "workstream", "append", id, "--role", "user", content])
      expect(r.code, r.stderr).toBe(0)
    }
    const made = await cli(["--dir", dir, "--json", "workstream", "summarize", id, "--from", "1", "--to", "3", "--content", "counted to three"])
    expect(made.code, made.stderr).toBe(0)
    expect(JSON.parse(made.stdout)).toMatchObject({ workstreamId: id, fromSeq: 1, toSeq: 3, content: "counted to three" })
    const context = await cli(["--dir", dir, "--json", "workstream", "context", id])
    expect(JSON.parse(context.stdout).map((i: { _tag: string; summary?: { content: string }; message?: { content: string } }) =>
      [i._tag, i.summary?.content ?? i.message?.content])).toEqual([["Summary", "counted to three"], ["Message", "four"]])
    const table = await cli(["--dir", dir, "workstream", "context", id, "--limit", "1"])
    expect(table.stdout).toContain("four")
    expect(table.stdout).not.toContain("counted")
    const text = await cli(["--dir", dir, "workstream", "context", id])
    expect(text.stdout).toMatch(/1-3 .*summary .*counted to three/)
    const messages = await cli(["--dir", dir, "--json", "workstream", "messages", id])
    expect(JSON.parse(messages.stdout)).toHaveLength(4)
    const bad = await cli(["--dir", dir, "workstream", "summarize", id, "--from", "2", "--to", "9", "--content", "x"])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain("toSeq 9 is past the last message")
  }, SLOW)
})
