/** `arawn-store workstream fork` and `workstream search`, through the compiled binary. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cli } from "./support/cli.js"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-branch-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 240_000

/** A store with one workstream of four messages; returns its directory and the workstream's id. */
const seeded = async () => {
  const dir = freshDir()
  const created = await cli(["--dir", dir, "--json", "workstream", "create", "TTL bug hunt"])
  expect(created.code, created.stderr).toBe(0)
  const id: string = JSON.parse(created.stdout).id
  for (const [role, content] of [
    ["user", "the cache TTL bug is back"],
    ["assistant", "eviction runs before the TTL expires"],
    ["user", "try a longer lease"],
    ["assistant", "the lease fixed the TTL bug"]
  ]) {
    const r = await cli(["--dir", dir, "workstream", "append", id, "--role", role!, content!])
    expect(r.code, r.stderr).toBe(0)
  }
  return { dir, id }
}

describe("arawn-store workstream fork and search", () => {
  it("fork --at-seq makes a branch sharing the messages up to that seq, which names its source", async () => {
    const { dir, id } = await seeded()
    const forked = await cli(["--dir", dir, "--json", "workstream", "fork", id, "--at-seq", "2", "--title", "Other plan", "--tag", "alt"])
    expect(forked.code, forked.stderr).toBe(0)
    const fork = JSON.parse(forked.stdout)
    expect(fork.forkedFrom).toEqual({ workstreamId: id, seq: 2, shared: true })
    expect(fork.messageCount).toBe(2)
    expect(fork.tags).toEqual(["alt"])
    const messages = await cli(["--dir", dir, "--json", "workstream", "messages", fork.id])
    expect(JSON.parse(messages.stdout).map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([
      [1, "the cache TTL bug is back"],
      [2, "eviction runs before the TTL expires"]
    ])
    const shown = await cli(["--dir", dir, "workstream", "show", fork.id])
    expect(shown.stdout).toMatch(new RegExp(`forked from:\\s+${id} at seq 2 \\(branch`))
    const listed = await cli(["--dir", dir, "--json", "workstream", "list", "--forked-from", id])
    expect(JSON.parse(listed.stdout).map((w: { id: string }) => w.id)).toEqual([fork.id])
    const all = await cli(["--dir", dir, "--json", "workstream", "fork", id, "--title", "Everything"])
    expect(JSON.parse(all.stdout).messageCount).toBe(4)
    const past = await cli(["--dir", dir, "workstream", "fork", id, "--at-seq", "9", "--title", "Too far"])
    expect(past.code).toBe(2)
    expect(past.stderr).toMatch(/atSeq 9/)
    const unknown = await cli(["--dir", dir, "workstream", "fork", "nope", "--title", "x"])
    expect(unknown.code).not.toBe(0)
    expect(unknown.stderr).toMatch(/nope/)
  }, SLOW)

  it("tree shows branches and copies below a workstream; search --branch stays on its path; delete --subtree takes the branches", async () => {
    const { dir, id } = await seeded()
    const run = async (args: ReadonlyArray<string>) => {
      const r = await cli(["--dir", dir, ...args])
      expect(r.code, r.stderr).toBe(0)
      return r.stdout
    }
    const branch = JSON.parse(await run(["--json", "workstream", "fork", id, "--at-seq", "1", "--title", "Short lease"])).id as string
    await run(["workstream", "append", branch, "--role", "user", "a short TTL lease instead"])
    const copy = JSON.parse(await run(["--json", "workstream", "fork", id, "--at-seq", "3", "--title", "Copy", "--copy"]))
    expect(copy.forkedFrom).toEqual({ workstreamId: id, seq: 3 })
    const deeper = JSON.parse(await run(["--json", "workstream", "fork", branch, "--title", "Deeper"])).id as string
    const shown = await run(["workstream", "tree", id])
    expect(shown.split("\n")[0]).toContain(`${id}  "TTL bug hunt"  4 messages`)
    expect(shown).toMatch(new RegExp(`├─ ${branch}  "Short lease"  2 messages \\(branch at 1\\)`))
    expect(shown).toMatch(new RegExp(`│  └─ ${deeper}  "Deeper"  2 messages \\(branch at 2\\)`))
    expect(shown).toMatch(new RegExp(`└─ ${copy.id}  "Copy"  3 messages \\(copy of 1..3\\)`))
    const json = JSON.parse(await run(["--json", "workstream", "tree", id]))
    expect(json.branches.map((b: { id: string }) => b.id)).toEqual([branch, copy.id])
    expect(json.branches[0].branches[0]).toMatchObject({ id: deeper, forkedFrom: { workstreamId: branch, seq: 2, shared: true } })
    const hits = JSON.parse(await run(["--json", "workstream", "search", "ttl", "--branch", deeper, "--limit", "50"]))
    expect(hits.map((h: { workstreamId: string; seq: number }) => `${h.workstreamId}:${h.seq}`).sort()).toEqual([`${branch}:2`, `${id}:1`].sort())
    const refused = await cli(["--dir", dir, "workstream", "delete", id])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/branches/)
    await run(["workstream", "delete", id, "--subtree"])
    expect(JSON.parse(await run(["--json", "workstream", "list"])).map((w: { id: string }) => w.id)).toEqual([copy.id])
  }, SLOW)

  it("search finds messages across workstreams, best first, with filters, as a table or JSON", async () => {
    const { dir, id } = await seeded()
    const other = JSON.parse((await cli(["--dir", dir, "--json", "workstream", "create", "Elsewhere"])).stdout).id as string
    expect((await cli(["--dir", dir, "workstream", "append", other, "--role", "user", "unrelated TTL note"])).code).toBe(0)
    const json = await cli(["--dir", dir, "--json", "workstream", "search", "ttl bug"])
    expect(json.code, json.stderr).toBe(0)
    const hits = JSON.parse(json.stdout) as ReadonlyArray<{ workstreamId: string; seq: number; score: number; snippet: string; message: { content: string } }>
    expect(hits.length).toBe(4)
    expect(hits.slice(0, 2).map((h) => [h.workstreamId, h.seq].join(":")).sort()).toEqual([`${id}:1`, `${id}:4`])
    for (const h of hits) expect(h.score > 0 && h.score <= 1).toBe(true)
    expect(hits[0]!.snippet.toLowerCase()).toContain("ttl")
    const filtered = await cli(["--dir", dir, "--json", "workstream", "search", "TTL", "--workstream", other])
    expect(JSON.parse(filtered.stdout).map((h: { workstreamId: string }) => h.workstreamId)).toEqual([other])
    const roles = await cli(["--dir", dir, "--json", "workstream", "search", "ttl", "--role", "assistant", "--limit", "1"])
    const byRole = JSON.parse(roles.stdout) as ReadonlyArray<{ message: { role: string } }>
    expect(byRole.map((h) => h.message.role)).toEqual(["assistant"])
    const table = await cli(["--dir", dir, "workstream", "search", "lease"])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/score\s+workstream\s+seq\s+role\s+snippet/)
    expect(table.stdout).toContain("try a longer lease")
    const none = await cli(["--dir", dir, "workstream", "search", "\"*) OR NEAR("])
    expect(none.code, none.stderr).toBe(0)
    expect(none.stdout.trim()).toBe("no messages match")
  }, SLOW)
})
