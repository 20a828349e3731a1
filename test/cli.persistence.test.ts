/** CLI round trips across separate invocations on one store directory (SQLite memories, JSONL workstreams). */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as Fixture from "./support/arawnDataDir.js"
import { cli } from "./support/cli.js"

const dirs: Array<string> = []
const freshDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 240_000

describe("arawn-store keeps its data between invocations", () => {
  it("the store directory also comes from ARAWN_STORE_DIR", async () => {
    const dir = freshDir("arawn-cli-env-")
    const created = await cli(["workstream", "create", "From the environment"], { ARAWN_STORE_DIR: dir })
    expect(created.code, created.stderr).toBe(0)
    const listed = await cli(["--dir", dir, "workstream", "list"])
    expect(listed.stdout).toContain("From the environment")
  }, SLOW)

  it("workstream create and append, then messages in later runs", async () => {
    const dir = freshDir("arawn-cli-ws-")
    const created = await cli(["--dir", dir, "--json", "workstream", "create", "Release 2.0", "--tag", "release"])
    expect(created.code, created.stderr).toBe(0)
    const ws = JSON.parse(created.stdout)
    for (const [role, content] of [["user", "cut the release branch"], ["assistant", "branch release/2.0 created"]]) {
      const r = await cli(["--dir", dir, "workstream", "append", ws.id, "--role", role!, content!])
      expect(r.code, r.stderr).toBe(0)
    }
    const messages = await cli(["--dir", dir, "--json", "workstream", "messages", ws.id])
    expect(JSON.parse(messages.stdout).map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([
      [1, "cut the release branch"],
      [2, "branch release/2.0 created"]
    ])
    const last = await cli(["--dir", dir, "workstream", "messages", ws.id, "--limit", "1"])
    expect(last.stdout).toContain("branch release/2.0 created")
    expect(last.stdout).not.toContain("cut the release branch")
    const shown = await cli(["--dir", dir, "--json", "workstream", "show", ws.id])
    expect(JSON.parse(shown.stdout).messageCount).toBe(2)
  }, SLOW)

  it("scratch fills, is promoted, and the new workstream is updated and deleted across runs", async () => {
    const dir = freshDir("arawn-cli-promote-")
    for (const text of ["idea one", "idea two"]) {
      const r = await cli(["--dir", dir, "workstream", "append", "scratch", "--role", "user", text])
      expect(r.code, r.stderr).toBe(0)
    }
    const promoted = await cli(["--dir", dir, "--json", "workstream", "promote-scratch", "--title", "Ideas", "--tag", "later"])
    expect(promoted.code, promoted.stderr).toBe(0)
    const ws = JSON.parse(promoted.stdout)
    expect([ws.title, ws.messageCount, ws.tags]).toEqual(["Ideas", 2, ["later"]])
    expect((await cli(["--dir", dir, "workstream", "messages", "scratch"])).stdout.trim()).toBe("no messages")
    const moved = await cli(["--dir", dir, "workstream", "messages", ws.id])
    expect(moved.stdout).toContain("idea two")

    const updated = await cli(["--dir", dir, "--json", "workstream", "update", ws.id, "--state", "paused", "--summary", "for Q3"])
    expect(updated.code, updated.stderr).toBe(0)
    expect(JSON.parse(updated.stdout)).toMatchObject({ state: "paused", summary: "for Q3" })
    const paused = await cli(["--dir", dir, "workstream", "list", "--state", "paused"])
    expect(paused.stdout).toContain("Ideas")

    expect((await cli(["--dir", dir, "workstream", "delete", ws.id])).code).toBe(0)
    const gone = await cli(["--dir", dir, "workstream", "show", ws.id])
    expect(gone.code).toBe(1)
    expect(gone.stderr.trim()).toBe(`arawn-store: workstream ${ws.id} does not exist; list workstreams with 'arawn-store workstream list'`)
  }, SLOW)

  it("memory add, then memory search and get in later runs", async () => {
    const dir = freshDir("arawn-cli-mem-")
    const added = await cli(["--dir", dir, "--json", "memory", "add", "The staging database runs on port 5433",
      "--type", "fact", "--tag", "infra"])
    expect(added.code, added.stderr).toBe(0)
    const { id } = JSON.parse(added.stdout)
    const found = await cli(["--dir", dir, "--json", "memory", "search", "staging database port"])
    expect(found.code, found.stderr).toBe(0)
    const matches = JSON.parse(found.stdout)
    expect(matches[0].memory.id).toBe(id)
    expect(matches[0].memory.metadata.tags).toEqual(["infra"])
    const table = await cli(["--dir", dir, "memory", "search", "staging", "--explain"])
    expect(table.stdout).toContain("relevance")
    expect(table.stdout).toContain(id)
    const stats = await cli(["--dir", dir, "--json", "memory", "stats"])
    expect(JSON.parse(stats.stdout).memories).toBe(1)
  }, SLOW)

  it("import brings an arawn data directory in once; a second import adds nothing", async () => {
    const source = freshDir("arawn-cli-src-")
    await Effect.runPromise(Fixture.build(source))
    const dir = freshDir("arawn-cli-import-")
    const first = await cli(["--dir", dir, "--json", "import", source])
    const report = JSON.parse(first.stdout)
    expect(report.memories).toEqual({ imported: Fixture.importableMemories, skipped: 0, failed: 1 })
    expect(report.workstreams).toEqual({ imported: 2, skipped: 0, failed: 0 })
    expect(report.messages.imported).toBe(Fixture.messageCounts.workstream + Fixture.messageCounts.scratch)
    // The fixture holds one row with an unknown content type: reported, and the exit code says so.
    expect(first.code).toBe(1)
    expect(first.stderr.trim()).toBe("arawn-store: 1 record could not be imported (listed in the report); the rest were")

    const second = await cli(["--dir", dir, "import", source])
    expect(second.stdout).toMatch(/memories\s+0\s+7\s+1/)
    expect(second.stdout).toMatch(/workstreams\s+0\s+2\s+0/)
    expect(second.stdout).toMatch(/messages\s+0\s+6\s+0/)

    const scratch = await cli(["--dir", dir, "--json", "workstream", "messages", "scratch"])
    expect(JSON.parse(scratch.stdout).map((m: { id: string }) => m.id)).toEqual(Fixture.ids.scratchMessages)
    const fact = await cli(["--dir", dir, "--json", "memory", "get", Fixture.ids.postgresFact])
    expect(JSON.parse(fact.stdout).confidence.supersededBy).toBe(Fixture.ids.sqliteFact)
  }, SLOW)
})
