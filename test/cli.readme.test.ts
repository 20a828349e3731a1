/**
 * Every command line of README's "The command line" section, read from README.md (so the two cannot drift), run
 * in order through bash on one fresh store: each must exit 0. `<id>` becomes the newest memory's id in a memory
 * command and the README's workstream's id in a workstream command; `a|b|c` in the command word runs each; the
 * PostgreSQL URL points at a PGlite server (pgvector in WASM).
 */
import { execFile } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { homedir, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { Effect } from "effect"
import { ContentType } from "../src/Memory.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Fixture from "./support/arawnDataDir.js"
import { BIN, cli } from "./support/cli.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"

const README = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8")
const README_URL = "postgres://app@db/agents"

/** The lines of the first `sh` block under "## The command line". */
const readmeLines = (): ReadonlyArray<string> => {
  const section = README.slice(README.indexOf("## The command line"))
  const block = /```sh\n([\s\S]*?)```/.exec(section)
  if (block === null) throw new Error("README has no sh block under '## The command line'")
  return block[1]!.split("\n").filter((l) => l.trim() !== "")
}

/** One line as the commands it runs: comments dropped, `;` split, `get|history|delete` expanded in order. */
const commandsOf = (line: string): ReadonlyArray<string> =>
  line.replace(/\s+#\s.*$/, "").split(/;\s+/).flatMap((command) => {
    const alt = /arawn-store (?:--\S+ \S+ )*(?:memory|workstream) ([a-z-]+(?:\|[a-z-]+)+)/.exec(command)
    return alt === null ? [command] : alt[1]!.split("|").map((word) => command.replace(alt[1]!, word))
  })

let root: string
let pg: PgliteServer
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "arawn-cli-readme-"))
  pg = await startPglite()
}, 120_000)
afterAll(async () => {
  await pg?.stop()
  if (root !== undefined) rmSync(root, { recursive: true, force: true })
})

const sh = (command: string, env: Record<string, string>, cwd: string) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile("bash", ["-c", `set -o pipefail; ${command}`], { env: { ...process.env, ...env }, cwd, timeout: 240_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })))

describe("README's command lines", () => {
  it("each one exits 0 on a fresh store", async () => {
    const store = join(root, "store")
    const home = join(root, "home")
    const work = join(root, "work")
    const bin = join(root, "bin")
    const temp = join(root, "tmp")
    for (const d of [home, work, bin, temp]) mkdirSync(d, { recursive: true })
    mkdirSync(join(home, ".config", "arawn"), { recursive: true })
    await Effect.runPromise(Fixture.build(join(home, ".config", "arawn")))
    // The fixture keeps one memory of a type the store does not know (for the importer's failure report): the
    // README's import is of a clean directory.
    await Effect.runPromise(Effect.gen(function*() {
      const sql = yield* SqliteClient.make({ filename: join(home, ".config", "arawn", "memory.db") })
      yield* sql.unsafe(`DELETE FROM memories WHERE content_type NOT IN (${ContentType.literals.map(() => "?").join(", ")})`, ContentType.literals)
    }).pipe(Effect.scoped, Effect.provide(Reactivity.layer)))
    writeFileSync(join(work, "notes.md"), "# Notes\n\nThe release checklist lives in docs/release.md.\n")
    writeFileSync(join(bin, "arawn-store"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
    chmodSync(join(bin, "arawn-store"), 0o755)
    const env = {
      PATH: `${bin}:${process.env["PATH"] ?? ""}`,
      ARAWN_STORE_DIR: store,
      HOME: home,
      XDG_CACHE_HOME: process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"),
      TMPDIR: temp,
      NO_COLOR: "1"
    }
    // `git log` in the README reads a repository's last commit message.
    const git = await sh("git init -q && git -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m 'Releases are cut from main'", env, work)
    expect(git.code, git.stderr).toBe(0)

    // The newest memory changes from line to line; the README's workstream, once created, keeps its id.
    let workstreamId: string | undefined
    const idFor = async (command: string) => {
      if (/ memory /.test(command)) {
        const r = await cli(["--dir", store, "--json", "memory", "list", "-n", "1"])
        return JSON.parse(r.stdout)[0].id as string
      }
      if (workstreamId !== undefined) return workstreamId
      const r = await cli(["--dir", store, "--json", "workstream", "list"])
      workstreamId = (JSON.parse(r.stdout) as Array<{ id: string; title: string }>).find((w) => w.title === "Fix the flaky TTL test")!.id
      return workstreamId
    }
    const ran: Array<string> = []
    for (const line of readmeLines()) {
      for (const raw of commandsOf(line)) {
        let command = raw.replaceAll(README_URL, pg.url)
        if (command.includes("<id>")) command = command.replaceAll("<id>", await idFor(command))
        const r = await sh(command, env, work)
        expect(r.code, `${command}\n${r.stderr}`).toBe(0)
        ran.push(command)
      }
    }
    // Every line ran, the alternatives each on their own.
    expect(ran.length).toBeGreaterThan(readmeLines().length)
    expect(ran.some((c) => c.includes("memory history "))).toBe(true)
  }, 600_000)
})
