/**
 * What a person or a script relies on from the command line beyond each command's result: output streams,
 * store-directory handling, where content comes from, outcome wording, defaults and colour.
 */
import { execFile } from "node:child_process"
import { createHash } from "node:crypto"
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { promisify } from "node:util"
import { afterAll, describe, expect, it } from "vitest"
import { MAX_MEMORY_CONTENT } from "../src/Memory.js"
import { BIN, cli, isOneLine } from "./support/cli.js"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-behaviour-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const run = promisify(execFile)
const SLOW = 120_000
const ANSI = /\u001b\[/

describe("output streams", () => {
  it("a store-repair warning goes to stderr; --json stdout stays one JSON document", async () => {
    const dir = freshDir()
    const ws = JSON.parse((await cli(["--dir", dir, "--json", "workstream", "create", "Torn"])).stdout)
    for (const text of ["first", "second"]) {
      expect((await cli(["--dir", dir, "workstream", "append", ws.id, "--role", "user", text])).code).toBe(0)
    }
    // A write cut short by a crash: half a JSON line, no newline.
    appendFileSync(join(dir, "workstreams", ws.id, "messages.jsonl"), "{\"id\":\"0000\",\"workstream_id\":")
    const r = await cli(["--dir", dir, "--json", "workstream", "messages", ws.id])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).map((m: { content: string }) => m.content)).toEqual(["first", "second"])
    expect(r.stderr).toMatch(/^arawn-store: warning: removed a torn last line from a workstream log/m)
  }, SLOW)
})

describe("each command opens only the backend it uses", () => {
  it("a damaged memory.db does not block workstream commands; memory commands report it in one line", async () => {
    const dir = freshDir()
    expect((await cli(["--dir", dir, "workstream", "create", "Still readable"])).code).toBe(0)
    writeFileSync(join(dir, "memory.db"), "this is not a SQLite database, it is a text file ".repeat(100))
    const listed = await cli(["--dir", dir, "workstream", "list"])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain("Still readable")
    const memories = await cli(["--dir", dir, "memory", "list"])
    expect(memories.code).toBe(1)
    expect(memories.stdout).toBe("")
    expect(isOneLine(memories.stderr), memories.stderr).toBe(true)
  }, SLOW)

  it("a workstream command leaves no memory.db behind, a memory command no workstream files", async () => {
    const a = freshDir()
    expect((await cli(["--dir", a, "workstream", "create", "Only threads"])).code).toBe(0)
    expect(existsSync(join(a, "memory.db"))).toBe(false)
    const b = freshDir()
    expect((await cli(["--dir", b, "memory", "add", "only a memory"])).code).toBe(0)
    expect(existsSync(join(b, "workstreams.db"))).toBe(false)
  }, SLOW)

  it("no native module loads at startup: without node_modules --version runs, memory stats says the install is broken", async () => {
    // The bundle alone, in a directory with no node_modules above it: better-sqlite3 cannot be found.
    const alone = freshDir()
    copyFileSync(join(dirname(BIN), "main.cjs"), join(alone, "main.cjs"))
    const run = (args: ReadonlyArray<string>) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [join(alone, "main.cjs"), ...args], { env: { ...process.env, NO_COLOR: "1" } }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })))
    const version = await run(["--version"])
    expect(version.code, version.stderr).toBe(0)
    const stats = await run(["--dir", freshDir(), "memory", "stats"])
    expect(stats.code).toBe(1)
    expect(isOneLine(stats.stderr), stats.stderr).toBe(true)
    expect(stats.stderr).toMatch(/loading the SQLite memory store failed: .*better-sqlite3.*reinstall arawn-store/)
  }, SLOW)
})

describe("the store directory", () => {
  const reads: ReadonlyArray<ReadonlyArray<string>> = [
    ["memory", "search", "anything"],
    ["memory", "list"],
    ["memory", "stats"],
    ["memory", "get", "00000000-0000-4000-8000-000000000001"],
    ["workstream", "list"],
    ["workstream", "messages", "scratch"]
  ]
  for (const args of reads) {
    it(`${args.slice(0, 2).join(" ")} on a directory that does not exist: exit 1, "no store at <dir>", nothing created`, async () => {
      const dir = join(freshDir(), "typo")
      const r = await cli(["--dir", dir, ...args])
      expect(r.code).toBe(1)
      expect(r.stdout).toBe("")
      expect(isOneLine(r.stderr), r.stderr).toBe(true)
      expect(r.stderr).toContain(`no store at ${dir}`)
      expect(existsSync(dir)).toBe(false)
    }, SLOW)
  }

  it("a write command creates the directory and its parents", async () => {
    const dir = join(freshDir(), "new", "nested")
    const r = await cli(["--dir", dir, "workstream", "create", "First"])
    expect(r.code, r.stderr).toBe(0)
    expect((await cli(["--dir", dir, "workstream", "list"])).stdout).toContain("First")
  }, SLOW)
})

describe("content from stdin and files", () => {
  it("memory add - stores the largest memory accepted (1 MiB characters, 1.5 MB of UTF-8) from stdin byte for byte", async () => {
    const dir = freshDir()
    // Multi-byte characters throughout, so a chunk boundary inside one would corrupt it. Few words: the test is
    // about the transport, not the cost of indexing a megabyte of prose.
    const piece = "-.…·,;".repeat(4096)
    const content = `start of a large paste ${piece.repeat(Math.floor((MAX_MEMORY_CONTENT - 100) / piece.length))} end`
    const added = await cli(["--dir", dir, "--json", "memory", "add", "-"], {}, { input: content })
    expect(added.code, added.stderr).toBe(0)
    const { id, outcome } = JSON.parse(added.stdout)
    expect(outcome).toBe("inserted")
    const got = await cli(["--dir", dir, "--json", "memory", "get", id])
    const stored: string = JSON.parse(got.stdout).content
    expect(Buffer.byteLength(stored)).toBe(Buffer.byteLength(content))
    const sha = (s: string) => createHash("sha256").update(s).digest("hex")
    expect(sha(stored)).toBe(sha(content))
  }, SLOW)

  it("--file reads the content from a file; workstream append - reads stdin", async () => {
    const dir = freshDir()
    const file = join(freshDir(), "note.md")
    const text = "# Release notes\n\nLine two ✓\n".repeat(20_000)
    writeFileSync(file, text)
    const added = await cli(["--dir", dir, "--json", "memory", "add", "--file", file, "--tag", "docs"])
    expect(added.code, added.stderr).toBe(0)
    const got = JSON.parse((await cli(["--dir", dir, "--json", "memory", "get", JSON.parse(added.stdout).id])).stdout)
    expect(got.content).toBe(text)

    const appended = await cli(["--dir", dir, "--json", "workstream", "append", "scratch", "--role", "user", "-"], {}, {
      input: "from a pipe\nsecond line"
    })
    expect(appended.code, appended.stderr).toBe(0)
    expect(JSON.parse(appended.stdout).content).toBe("from a pipe\nsecond line")
  }, SLOW)

  const bad: ReadonlyArray<readonly [string, ReadonlyArray<string>, string | Buffer | undefined, RegExp]> = [
    ["no content at all", ["memory", "add"], undefined, /missing content: give it as an argument, - to read stdin, or --file PATH/],
    ["an argument and --file", ["memory", "add", "x", "--file", BIN], undefined, /not both/],
    ["stdin that is not UTF-8", ["memory", "add", "-"], Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0x6f]), /not valid UTF-8/],
    ["a --file that does not exist", ["workstream", "append", "scratch", "--role", "user", "--file", "/nonexistent/x"], undefined, /\/nonexistent\/x/]
  ]
  for (const [what, args, input, message] of bad) {
    it(`${what}: exits non-zero with one line and writes nothing`, async () => {
      const dir = join(freshDir(), "store")
      const r = await cli(["--dir", dir, ...args], {}, input === undefined ? {} : { input })
      expect(r.code).not.toBe(0)
      expect(isOneLine(r.stderr), r.stderr).toBe(true)
      expect(r.stderr).toMatch(message)
      expect(existsSync(dir)).toBe(false)
    }, SLOW)
  }
})

describe("memory add", () => {
  it("says what happened to a fact: inserted, reinforced, then inserted and superseded <old id>", async () => {
    const dir = freshDir()
    const fact = (object: string) => ["--dir", dir, "memory", "add", `user.editor is ${object}`, "--subject", "user.editor", "--predicate", "is"]
    const first = await cli(fact("vim"))
    expect(first.stdout.trim()).toMatch(/^inserted [0-9a-f-]{36}$/)
    const firstId = first.stdout.trim().split(" ")[1]!
    const again = await cli(fact("vim"))
    expect(again.stdout.trim()).toBe(`reinforced ${firstId}`)
    const changed = await cli(fact("helix"))
    const m = changed.stdout.trim().match(/^inserted ([0-9a-f-]{36}); superseded (.+)$/)
    expect(m, changed.stdout).not.toBeNull()
    expect(m![1]).not.toBe(firstId)
    expect(m![2]).toBe(firstId)
    const json = await cli([...fact("emacs").slice(0, 2), "--json", ...fact("emacs").slice(2)])
    expect(JSON.parse(json.stdout)).toMatchObject({ outcome: "superseded", supersededIds: [m![1]] })
  }, SLOW)

  it("--subject/--predicate makes a fact unless --type says otherwise; the default source is the library's (inferred)", async () => {
    const dir = freshDir()
    const add = async (...args: Array<string>) =>
      JSON.parse((await cli(["--dir", dir, "--json", "memory", "add", ...args])).stdout).id as string
    const get = async (id: string) => JSON.parse((await cli(["--dir", dir, "--json", "memory", "get", id])).stdout)
    const fact = await get(await add("user.shell is zsh", "--subject", "user.shell", "--predicate", "is"))
    expect(fact.contentType).toBe("fact")
    expect(fact.confidence.source).toBe("inferred")
    const typed = await get(await add("user.os is linux", "--subject", "user.os", "--predicate", "is", "--type", "summary"))
    expect(typed.contentType).toBe("summary")
    const note = await get(await add("a plain note", "--source", "stated"))
    expect([note.contentType, note.confidence.source]).toEqual(["note", "stated"])
  }, SLOW)
})

describe("colour", () => {
  it("help carries no colour codes when stdout is not a terminal, even without NO_COLOR", async () => {
    const r = await cli(["--help"], { NO_COLOR: undefined })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain("memory search")
    expect(r.stdout).not.toMatch(ANSI)
  }, SLOW)

  it("on a terminal help is coloured, unless NO_COLOR is set", async () => {
    // `script` (util-linux) runs the command on a pseudo-terminal and copies what it printed.
    const onTty = async (noColor: string | undefined) => {
      const env: Record<string, string> = {}
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "NO_COLOR") env[k] = v
      if (noColor !== undefined) env["NO_COLOR"] = noColor
      const { stdout } = await run("script", ["-qec", `${process.execPath} ${BIN} --help`, "/dev/null"], { env })
      return stdout
    }
    const coloured = await onTty(undefined)
    expect(coloured).toContain("memory search")
    expect(coloured).toMatch(ANSI)
    expect(await onTty("1")).not.toMatch(ANSI)
  }, SLOW)
})
