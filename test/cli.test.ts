import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { commandPaths, renderHelp as render } from "../src/cli/app.js"
import { ANSI } from "../src/cli/colour.js"
import { cli, isOneLine } from "./support/cli.js"

const scratchDirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-"))
  scratchDirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 240_000

/** What the command line itself prints for `<path> --help`, rendered in this process, colour codes dropped. */
const renderHelp = (path: ReadonlyArray<string>) =>
  Effect.runPromise(Effect.map(render(path), (text) => text.replace(ANSI, "")).pipe(Effect.provide(NodeContext.layer)))

describe("help served by the launcher", () => {
  const built = JSON.parse(readFileSync(fileURLToPath(new URL("../dist/cli/help.json", import.meta.url)), "utf8")) as {
    readonly texts: Record<string, string>
  }

  it("covers every command the root help lists", async () => {
    const listed = (await renderHelp([])).split("\n").filter((l) => l.startsWith("  - "))
      .map((l) => l.slice(4).split(/ (?=[[<(-])|\s{2,}/)[0]!.trim())
    expect(commandPaths.slice(1).map((p) => p.join(" ")).sort()).toEqual([...listed].sort())
    expect(Object.keys(built.texts).sort()).toEqual(commandPaths.map((p) => p.join(" ")).sort())
  }, SLOW)

  it("is, for every command, the text the command line renders", async () => {
    for (const path of commandPaths) {
      expect(built.texts[path.join(" ")]!.replace(ANSI, ""), path.join(" ")).toBe(await renderHelp(path))
    }
  }, SLOW)

  it("reaches stdout as it is (colour dropped off a terminal) for a command and a subcommand", async () => {
    for (const path of [[], ["workstream", "append"]]) {
      const r = await cli([...path, "--help"])
      expect(r.code).toBe(0)
      expect(r.stdout).toBe(built.texts[path.join(" ")]!.replace(ANSI, ""))
    }
  }, SLOW)
})

describe("arawn-store (subprocess)", () => {
  it("--help lists the commands and the global options", async () => {
    const r = await cli(["--help"])
    expect(r.code).toBe(0)
    for (const text of ["memory add", "memory search", "memory reindex", "workstream append", "workstream messages",
      "workstream promote-scratch", "import", "demo", "--dir", "--json", "--completions"]) {
      expect(r.stdout).toContain(text)
    }
  }, SLOW)

  it("a subcommand's --help documents its options", async () => {
    const r = await cli(["memory", "search", "--help"])
    expect(r.code).toBe(0)
    for (const text of ["--limit", "--mode", "hybrid", "--explain", "--type"]) expect(r.stdout).toContain(text)
  }, SLOW)

  it("offers shell completion", async () => {
    const r = await cli(["--completions", "bash"])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("arawn-store")
    expect(r.stdout).toContain("complete")
  }, SLOW)

  it("demo seeds a fresh store and shows search, messages and a session round trip", async () => {
    const dir = join(freshDir(), "demo-store")
    const r = await cli(["--dir", dir, "demo"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Seeded 2\d\d memories \(\d+ superseded by newer facts\) and 2 workstreams/)
    expect(r.stdout).toContain(dir)
    expect(r.stdout.match(/^\? /gm)?.length).toBeGreaterThanOrEqual(3)
    expect(r.stdout).toContain("relevance")
    expect(r.stdout).toContain("ledgerly.database is PostgreSQL 16")
    expect(r.stdout).toContain("Last 4 messages")
    expect(r.stdout).toContain("get returned the same session")
  }, SLOW)

  it("demo --json prints one JSON document", async () => {
    // Without --dir the demo keeps its store in a new directory under TMPDIR, which is this test's to remove.
    const r = await cli(["--json", "demo"], { TMPDIR: freshDir() })
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.seeded.memories).toBeGreaterThanOrEqual(200)
    expect(out.searches.length).toBeGreaterThanOrEqual(3)
    expect(out.searches[0].matches[0]).toHaveProperty("explain.relevance")
    expect(out.session.identical).toBe(true)
  }, SLOW)

  it("demo refuses a store directory that is not empty", async () => {
    const dir = freshDir()
    await cli(["--dir", dir, "memory", "add", "something"])
    const { writeFileSync } = await import("node:fs")
    writeFileSync(join(dir, "keep.txt"), "x")
    const r = await cli(["--dir", dir, "demo"])
    expect(r.code).not.toBe(0)
    expect(isOneLine(r.stderr)).toBe(true)
    expect(r.stderr).toContain("not empty")
  }, SLOW)

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, RegExp]> = [
    ["a memory id that is not a UUID", ["memory", "get", "not-a-uuid"], /memory id "not-a-uuid" must be a lowercase hyphenated UUID/],
    ["a workstream id that would escape its directory", ["workstream", "show", "../x"], /workstream id "\.\.\/x" must match/],
    ["an empty search query", ["memory", "search", ""], /query must not be empty/],
    ["an unknown option", ["memory", "list", "--bogus"], /unknown argument: '--bogus'/],
    ["an unknown memory", ["memory", "get", "00000000-0000-4000-8000-000000000001"], /memory 00000000-0000-4000-8000-000000000001 does not exist/],
    ["an unknown workstream", ["workstream", "messages", "nope"], /workstream "?nope"? does not exist/],
    ["a limit out of range", ["memory", "search", "x", "--limit", "0"], /--limit must be a whole number from 1 to 1000/],
    ["a value that is not a number", ["memory", "list", "--limit", "many"], /'many' is not a whole number/],
    ["a missing argument", ["workstream", "append", "scratch"], /Expected to find option: '--role'/],
    ["half a fact key", ["memory", "add", "x", "--subject", "a"], /--subject and --predicate go together/],
    ["an unknown content type", ["memory", "add", "x", "--type", "poem"], /Expected one of the following cases/],
    ["an import source that does not exist", ["import", "/nonexistent/arawn"], /\/nonexistent\/arawn/]
  ]
  for (const [what, args, message] of bad) {
    it(`${what}: exits non-zero with one line on stderr and no stack trace`, async () => {
      const r = await cli(["--dir", freshDir(), ...args])
      expect(r.code).not.toBe(0)
      expect(r.stdout).toBe("")
      expect(isOneLine(r.stderr), r.stderr).toBe(true)
      expect(r.stderr).toMatch(message)
    }, SLOW)
  }
})
