/** CLI round trips across separate invocations on one store directory (the local workstream backend). */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
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

describe("arawn-store keeps workstreams between invocations", () => {
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
})
