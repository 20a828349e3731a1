/**
 * How the command line fails and ends: a backend failure names its root cause with a hint, `--log-level` works
 * where --help puts it, a reader that stops early ends it quietly, a read-only store can be read, and the help,
 * completion and error texts speak of this command line rather than of @effect/cli or the library.
 */
import { spawn } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BIN, cli, isOneLine } from "./support/cli.js"
import { PG_URL, skipPg } from "./support/pg.js"
import { sparePort } from "./support/redis.js"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-failures-"))
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

const SLOW = 240_000
const PG_BASE = PG_URL.slice(0, PG_URL.lastIndexOf("/"))

describe("a PostgreSQL failure names its root cause", async () => {
  const noPg = await skipPg()

  it.skipIf(noPg)("a server without pgvector: the extension, and that pgvector >= 0.8 is needed", async () => {
    const r = await cli(["--url", PG_URL, "memory", "list"])
    expect(r.code).toBe(1)
    expect(isOneLine(r.stderr), r.stderr).toBe(true)
    expect(r.stderr).toContain(`extension "vector" is not available`)
    expect(r.stderr).toContain("the server has no pgvector (>= 0.8 needed)")
  }, SLOW)

  it("a closed port: connection refused at host:port", async () => {
    const port = await sparePort()
    const r = await cli(["--url", `postgres://postgres@127.0.0.1:${port}/test`, "workstream", "list"])
    expect(r.code).toBe(1)
    expect(isOneLine(r.stderr), r.stderr).toBe(true)
    expect(r.stderr).toContain(`connection refused at 127.0.0.1:${port}`)
  }, SLOW)

  it.skipIf(noPg)("a database that does not exist, and a URL without a user", async () => {
    const missing = await cli(["--url", `${PG_BASE}/arawn_no_such_database`, "workstream", "list"])
    expect(missing.code).toBe(1)
    expect(isOneLine(missing.stderr), missing.stderr).toBe(true)
    expect(missing.stderr).toContain(`database "arawn_no_such_database" does not exist`)
    const anonymous = await cli(["--url", "postgres://127.0.0.1:5432/test", "workstream", "list"], { PGUSER: undefined, USER: "" })
    expect(anonymous.code).toBe(1)
    expect(isOneLine(anonymous.stderr), anonymous.stderr).toBe(true)
  }, SLOW)

  it("a URL of another scheme is refused as such, for --url and for migrate --to", async () => {
    const url = await cli(["--url", "mysql://root@127.0.0.1/agents", "memory", "list"])
    expect(url.code).toBe(2)
    expect(isOneLine(url.stderr), url.stderr).toBe(true)
    expect(url.stderr).toContain(`unsupported URL scheme "mysql://"`)
    const dir = freshDir()
    expect((await cli(["--dir", dir, "workstream", "create", "x"])).code).toBe(0)
    const cwd = freshDir()
    const to = await cli(["--dir", dir, "migrate", "--to", "mysql://root@127.0.0.1/agents"], {}, { cwd })
    expect(to.code).toBe(2)
    expect(to.stderr).toContain(`unsupported URL scheme "mysql://"`)
    // Not taken for a directory named "mysql:".
    expect(readdirSync(cwd)).toEqual([])
  }, SLOW)

  it("--log-level debug works before and after the subcommand, and prints the store and the cause chain", async () => {
    const port = await sparePort()
    const url = `postgres://postgres@127.0.0.1:${port}/test`
    for (const args of [
      ["--log-level", "debug", "--url", url, "workstream", "list"],
      ["--url", url, "--log-level", "debug", "workstream", "list"],
      ["--url", url, "workstream", "list", "--log-level=debug"]
    ]) {
      const r = await cli(args)
      expect(r.code, args.join(" ")).toBe(1)
      expect(r.stderr).toMatch(/^arawn-store: debug: store: PostgreSQL postgres:\/\/postgres@127\.0\.0\.1/m)
      expect(r.stderr).toMatch(/^arawn-store: debug: cause 2: .*ECONNREFUSED/m)
      expect(r.stderr).toMatch(/^arawn-store: WorkstreamStore\.open failed: .*connection refused/m)
    }
    const quiet = await cli(["--url", url, "workstream", "list"])
    expect(quiet.stderr).not.toContain("debug:")
    const bad = await cli(["--log-level", "loud", "workstream", "list"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--log-level takes one of")
  }, SLOW)
})

/** Runs the CLI with its stdout closed before it writes a byte: its first write meets a closed pipe. */
const closedStdout = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout.destroy()
    let stderr = ""
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()))
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stderr }))
  })

describe("a reader that stops early", () => {
  it("export and demo into a closed pipe end with status 0 and say nothing", async () => {
    const dir = join(freshDir(), "store")
    expect((await cli(["--dir", dir, "demo"])).code).toBe(0)
    for (const args of [["--dir", dir, "export"], ["--dir", join(freshDir(), "demo"), "demo"]]) {
      const r = await closedStdout(args)
      expect(r.stderr, args.join(" ")).toBe("")
      expect(r.code, args.join(" ")).toBe(0)
    }
  }, SLOW)
})

describe("a store this user cannot write", () => {
  // Root ignores file modes: as root the command runs as nobody, which they bind.
  const asRoot = process.getuid?.() === 0
  const user = asRoot ? { user: { uid: 65534, gid: 65534 } } : {}

  it("read commands read it; a write says the store is read-only", async () => {
    const parent = freshDir()
    chmodSync(parent, 0o755)
    const dir = join(parent, "store")
    const added = await cli(["--dir", dir, "--json", "memory", "add", "read me back"])
    expect(added.code, added.stderr).toBe(0)
    const ws = JSON.parse((await cli(["--dir", dir, "--json", "workstream", "create", "Frozen"])).stdout)
    expect((await cli(["--dir", dir, "workstream", "append", ws.id, "--role", "user", "still here"])).code).toBe(0)
    // The files are read-only; the directory is not, so SQLite can place its shared-memory files beside them.
    for (const f of ["memory.db", "workstreams.db"]) chmodSync(join(dir, f), 0o444)
    chmodSync(dir, 0o777)
    const env = { ARAWN_STORE_COMPILE_CACHE: "0", HOME: parent }
    const list = await cli(["--dir", dir, "memory", "list"], env, user)
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toContain("read me back")
    const search = await cli(["--dir", dir, "memory", "search", "read"], env, user)
    expect(search.code, search.stderr).toBe(0)
    expect(search.stdout).toContain("read me back")
    const messages = await cli(["--dir", dir, "workstream", "messages", ws.id], env, user)
    expect(messages.code, messages.stderr).toBe(0)
    expect(messages.stdout).toContain("still here")
    const write = await cli(["--dir", dir, "memory", "add", "one more"], env, user)
    expect(write.code).toBe(1)
    expect(isOneLine(write.stderr), write.stderr).toBe(true)
    expect(write.stderr).toContain("the store is read-only")
  }, SLOW)
})

describe("texts of this command line", () => {
  it("help carries no type boilerplate and no --wizard; --wizard is refused", async () => {
    for (const args of [["--help"], ["memory", "add", "--help"], ["memory", "list", "--log-level", "info", "--help"]]) {
      const r = await cli(args)
      expect(r.code, args.join(" ")).toBe(0)
      expect(r.stdout).toContain("--")
      expect(r.stdout).not.toContain("A user-defined piece of text.")
      expect(r.stdout).not.toContain("A true or false value.")
      expect(r.stdout).not.toContain("--wizard")
    }
    const wizard = await cli(["memory", "list", "--wizard"])
    expect(wizard.code).toBe(2)
    expect(wizard.stderr).toContain("unknown argument: '--wizard'")
  }, SLOW)

  it("workstream create --id scratch says how scratch starts, without naming a library method", async () => {
    const r = await cli(["--dir", freshDir(), "workstream", "create", "Mine", "--id", "scratch"])
    expect(r.code).toBe(2)
    expect(isOneLine(r.stderr), r.stderr).toBe(true)
    expect(r.stderr).not.toContain("ensureScratch")
    expect(r.stderr).toContain("workstream append scratch")
  }, SLOW)

  it("--where deeper than 8 keys says so", async () => {
    const dir = freshDir()
    expect((await cli(["--dir", dir, "memory", "add", "x"])).code).toBe(0)
    const r = await cli(["--dir", dir, "memory", "list", "--where", `{"extra.a.b.c.d.e.f.g.h.i": 1}`])
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain("unknown field")
    expect(r.stderr).toContain("9 keys deep")
  }, SLOW)

  it("a 0-byte memory.db or workstreams.db is refused, not made a new store", async () => {
    for (const [file, args] of [["memory.db", ["memory", "list"]], ["memory.db", ["memory", "add", "x"]], ["workstreams.db", ["workstream", "list"]]] as const) {
      const dir = freshDir()
      writeFileSync(join(dir, file), "")
      const r = await cli(["--dir", dir, ...args])
      expect(r.code, `${file} ${args.join(" ")}`).toBe(1)
      expect(isOneLine(r.stderr), r.stderr).toBe(true)
      expect(r.stderr).toContain("is an empty file (0 bytes), not a store")
      expect(existsSync(join(dir, `${file}-wal`))).toBe(false)
    }
  }, SLOW)

  it("memory stats counts live memories apart from superseded and expired ones", async () => {
    const dir = freshDir()
    const fact = (value: string) => cli(["--dir", dir, "memory", "add", `model is ${value}`, "--subject", "model", "--predicate", "is"])
    expect((await fact("opus")).code).toBe(0)
    expect((await fact("sonnet")).code).toBe(0)
    expect((await cli(["--dir", dir, "memory", "add", "gone soon", "--expires", "1 millis"])).code).toBe(0)
    expect((await cli(["--dir", dir, "memory", "add", "a note"])).code).toBe(0)
    const r = await cli(["--dir", dir, "--json", "memory", "stats"])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ memories: 2, superseded: 1, expired: 1, rows: 4 })
    const table = await cli(["--dir", dir, "memory", "stats"])
    expect(table.stdout).toMatch(/^memories: +2$/m)
    expect(table.stdout).toMatch(/^superseded: +1$/m)
    expect(table.stdout).toMatch(/^expired: +1 \(deleted by 'arawn-store memory sweep'\)$/m)
  }, SLOW)

  it("content over the OS's 128 KiB argument cap never reaches the command; stdin and --file take it", async () => {
    const big = "a".repeat(128 * 1024)
    // The kernel refuses to start a process with a 128 KiB argument (E2BIG): there is no command to answer.
    await expect(cli(["memory", "add", big])).rejects.toThrow(/E2BIG/)
    const dir = freshDir()
    const piped = await cli(["--dir", dir, "--json", "memory", "add", "-"], {}, { input: big })
    expect(piped.code, piped.stderr).toBe(0)
    const file = join(freshDir(), "big.txt")
    writeFileSync(file, big)
    expect((await cli(["--dir", dir, "memory", "add", "--file", file])).code).toBe(0)
  }, SLOW)
})
