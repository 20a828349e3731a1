/**
 * The memory commands' namespace, expiry, history and metadata-filter options, run through the compiled binary.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cli, isOneLine } from "./support/cli.js"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-features-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 120_000
const json = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const r = await cli(["--json", ...args], env)
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

describe("memory commands", () => {
  it("--namespace (or ARAWN_STORE_NAMESPACE) confines every memory command to one namespace", async () => {
    const dir = freshDir()
    const a = await json(["--dir", dir, "--namespace", "alice", "memory", "add", "alice likes tea"])
    await json(["--dir", dir, "--namespace", "bob", "memory", "add", "bob likes tea"])
    const aliceHits = await json(["--dir", dir, "--namespace", "alice", "memory", "search", "tea"])
    expect(aliceHits.map((h: { memory: { id: string } }) => h.memory.id)).toEqual([a.id])
    const bobView = await json(["--dir", dir, "memory", "list"], { ARAWN_STORE_NAMESPACE: "bob" })
    expect(bobView.map((m: { content: string }) => m.content)).toEqual(["bob likes tea"])
    const foreign = await cli(["--dir", dir, "--namespace", "bob", "memory", "get", a.id])
    expect(foreign.code).toBe(1)
    expect(isOneLine(foreign.stderr)).toBe(true)
    expect((await json(["--dir", dir, "memory", "list"])).length).toBe(2)
  }, SLOW)

  it("--expires takes a duration or an ISO time; sweep deletes what ran out; a bad value is one line, exit 2", async () => {
    const dir = freshDir()
    const added = await json(["--dir", dir, "memory", "add", "short lived", "--expires", "2 hours"])
    const shown = await json(["--dir", dir, "memory", "get", added.id])
    expect(Date.parse(shown.expiresAt) - Date.parse(shown.createdAt)).toBe(2 * 3_600_000)
    const at = await json(["--dir", dir, "memory", "add", "until new year", "--expires", "2999-01-01T00:00:00Z"])
    expect((await json(["--dir", dir, "memory", "get", at.id])).expiresAt).toBe("2999-01-01T00:00:00.000Z")
    expect(await json(["--dir", dir, "memory", "sweep"])).toEqual({ deleted: 0 })
    const bad = await cli(["--dir", dir, "memory", "add", "x", "--expires", "someday"])
    expect(bad.code).toBe(2)
    expect(isOneLine(bad.stderr)).toBe(true)
  }, SLOW)

  it("memory purge deletes a namespace and those below it only with --yes; without, it says how many and keeps them", async () => {
    const dir = freshDir()
    for (const ns of ["acme", "acme/users/42", "acme2"]) await json(["--dir", dir, "--namespace", ns, "memory", "add", `a memory of ${ns}`])
    const asked = await cli(["--dir", dir, "memory", "purge", "acme"])
    expect(asked.code).toBe(2)
    expect(asked.stderr).toMatch(/would delete 2 memories of "acme".*--yes/)
    expect((await json(["--dir", dir, "memory", "list"])).length).toBe(3)
    expect(await json(["--dir", dir, "memory", "purge", "acme", "--yes"])).toEqual({ namespace: "acme", purged: 2 })
    expect((await json(["--dir", dir, "memory", "list"])).map((m: { namespace: string }) => m.namespace)).toEqual(["acme2"])
    const outside = await cli(["--dir", dir, "--namespace", "acme2", "memory", "purge", "acme", "--yes"])
    expect(outside.code).toBe(2)
    expect(isOneLine(outside.stderr)).toBe(true)
  }, SLOW)

  it("memory history lists a fact's events; --where filters search and list on metadata", async () => {
    const dir = freshDir()
    const fact = (object: string) => ["--dir", dir, "memory", "add", `editor is ${object}`, "--subject", "user.editor", "--predicate", "is"]
    const first = await json(fact("vim"))
    await json(fact("vim"))
    await json(fact("emacs"))
    const events = await json(["--dir", dir, "memory", "history", first.id])
    expect(events.map((e: { _tag: string }) => e._tag)).toEqual(["stored", "reinforced", "superseded"])
    const table = await cli(["--dir", dir, "memory", "history", first.id])
    expect(table.stdout).toContain("reinforced")
    const where = await json(["--dir", dir, "memory", "list", "--include-superseded", "--where", JSON.stringify({ subject: "user.editor" })])
    expect(where.length).toBe(2)
    const none = await json(["--dir", dir, "memory", "search", "editor", "--where", JSON.stringify({ subject: "someone.else" })])
    expect(none).toEqual([])
    const badJson = await cli(["--dir", dir, "memory", "list", "--where", "{not json"])
    expect(badJson.code).toBe(2)
    const badOperator = await cli(["--dir", dir, "memory", "list", "--where", JSON.stringify({ subject: { $regex: "x" } })])
    expect(badOperator.code).toBe(2)
    expect(badOperator.stderr).toContain("$regex")
  }, SLOW)

  it("memory add --valid-from/--valid-to and memory facts: a subject's timeline, as of a valid and a recorded instant", async () => {
    const dir = freshDir()
    const fact = (object: string, from: string) =>
      ["--dir", dir, "memory", "add", `plan is ${object}`, "--subject", "user.plan", "--predicate", "is", "--valid-from", from]
    await json(fact("free", "2026-01-01T00:00:00Z"))
    await json(fact("pro", "2026-03-01T00:00:00Z"))
    type Entry = { memory: { content: string }; validFrom: string; validTo: string | null }
    const span = (e: Entry) => [e.memory.content, e.validFrom, e.validTo]
    expect((await json(["--dir", dir, "memory", "facts", "user.plan"])).map(span)).toEqual([
      ["plan is free", "2026-01-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
      ["plan is pro", "2026-03-01T00:00:00.000Z", null]
    ])
    const then = await json(["--dir", dir, "memory", "facts", "user.plan", "--predicate", "is", "--as-of", "2026-02-01T00:00:00Z"])
    expect(then.map(span)).toEqual([["plan is free", "2026-01-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"]])
    expect(await json(["--dir", dir, "memory", "facts", "user.plan", "--known-at", "2000-01-01T00:00:00Z"])).toEqual([])
    const bounded = await json(["--dir", dir, "memory", "add", "on leave", "--valid-from", "2026-05-01", "--valid-to", "2026-05-10"])
    const shown = await json(["--dir", dir, "memory", "get", bounded.id])
    expect([shown.validFrom, shown.validTo]).toEqual(["2026-05-01T00:00:00.000Z", "2026-05-10T00:00:00.000Z"])
    expect((await cli(["--dir", dir, "memory", "facts", "user.plan"])).stdout).toContain("plan is pro")
    const bad = await cli(["--dir", dir, "memory", "facts", "user.plan", "--as-of", "someday"])
    expect(bad.code).toBe(2)
    expect(isOneLine(bad.stderr)).toBe(true)
  }, SLOW)
})
