/**
 * Options that reach what the library offers: `memory add --meta/--extra` (a memory's `extra` metadata, which
 * `--where` filters on), `--pg-schema/--pg-prefix` and `migrate --to-pg-schema/--to-pg-prefix` (where a PostgreSQL
 * store's tables are), and bash completion below the first word.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Redacted } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { token } from "../src/testing/internal.js"
import { cli } from "./support/cli.js"
import { PG_URL, skipPg } from "./support/pg.js"
import { startPglite } from "./support/pglite.js"

const dirs: Array<string> = []
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cli-options-"))
  dirs.push(dir)
  return dir
}
const schemas: Array<string> = []
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  if (schemas.length === 0) return
  await Effect.runPromise(Effect.provide(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.forEach(schemas, (s) => sql`DROP SCHEMA IF EXISTS ${sql(s)} CASCADE`, { discard: true })),
    PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 1 })
  ))
})

const SLOW = 240_000

describe("memory add --meta / --extra", () => {
  it("set extra metadata that --where matches, JSON values typed, --meta over --extra", async () => {
    const dir = freshDir()
    const add = (...args: ReadonlyArray<string>) => cli(["--dir", dir, "--json", "memory", "add", ...args])
    const prod = JSON.parse((await add("deploy prod with ops/deploy.sh", "--meta", "env=prod", "--meta", "priority=2", "--meta", "note=a=b")).stdout)
    const staging = JSON.parse((await add("deploy staging by hand", "--extra", `{"env": "dev", "owner": {"team": "ops"}}`, "--meta", "env=staging")).stdout)
    expect((await add("deploy nothing on fridays")).code).toBe(0)
    const where = async (filter: string) =>
      (JSON.parse((await cli(["--dir", dir, "--json", "memory", "list", "--where", filter])).stdout) as Array<{ id: string }>)
        .map((m) => m.id).sort()
    // The README's filter.
    expect(await where(`{"extra.env":{"$in":["prod","staging"]}}`)).toEqual([prod.id, staging.id].sort())
    expect(await where(`{"extra.priority":{"$gte":2}}`)).toEqual([prod.id])
    expect(await where(`{"extra.owner.team":"ops"}`)).toEqual([staging.id])
    const got = JSON.parse((await cli(["--dir", dir, "--json", "memory", "get", prod.id])).stdout)
    expect(got.metadata.extra).toEqual({ env: "prod", priority: 2, note: "a=b" })
    const bad = await cli(["--dir", dir, "memory", "add", "x", "--extra", "[1]"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--extra must be a JSON object")
  }, SLOW)
})

describe("bash completion", () => {
  // The script is the same for every completion below: one process writes it.
  let written: Promise<string> | undefined
  const completionScript = () =>
    (written ??= cli(["--completions", "bash"]).then((r) => {
      const script = join(freshDir(), "arawn-store.bash")
      writeFileSync(script, r.stdout)
      return script
    }))
  const complete = async (words: ReadonlyArray<string>) => {
    const script = await completionScript()
    const quoted = words.map((w) => `'${w}'`).join(" ")
    const program = `source '${script}'; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; ` +
      `_arawn-store_bash_completions arawn-store '${words.at(-1)}' '${words.at(-2)}'; printf '%s\\n' "\${COMPREPLY[@]}"`
    return new Promise<ReadonlyArray<string>>((resolve, reject) =>
      execFile("bash", ["-c", program], (error, stdout) => (error !== null ? reject(error) : resolve(stdout.split("\n").filter((l) => l !== "")))))
  }

  it("completes the second and third words and an option's choices, after global options too", async () => {
    expect(await complete(["arawn-store", "mem"])).toEqual(["memory"])
    expect(await complete(["arawn-store", "memory", "se"])).toEqual(["search"])
    expect(await complete(["arawn-store", "--dir", "x", "workstream", "pro"])).toEqual(["promote-scratch"])
    expect(await complete(["arawn-store", "memory", "search", "--ex"])).toEqual(["--explain"])
    expect(await complete(["arawn-store", "workstream", "promote-scratch", "--ti"])).toEqual(["--title"])
    expect(await complete(["arawn-store", "memory", "search", "--mode", ""])).toEqual(["hybrid", "vector", "text"])
    expect(await complete(["arawn-store", "memory", "list", "--w"])).toEqual(["--where"])
  }, SLOW)
})

describe("where a PostgreSQL store's tables are", async () => {
  const noPg = await skipPg()

  it.skipIf(noPg)("--pg-schema / --pg-prefix place and find the tables of a --url store", async () => {
    const schema = `cli_${token()}`
    schemas.push(schema)
    const at = ["--url", PG_URL, "--pg-schema", schema, "--pg-prefix", "agents"]
    const created = await cli([...at, "--json", "workstream", "create", "In its own schema"])
    expect(created.code, created.stderr).toBe(0)
    const listed = await cli([...at, "workstream", "list"])
    expect(listed.stdout).toContain("In its own schema")
    // The same schema under the default prefix is another store; so is the environment's schema when set.
    expect((await cli(["--url", PG_URL, "--pg-schema", schema, "workstream", "list"])).stdout).not.toContain("In its own schema")
    const fromEnv = await cli(["--url", PG_URL, "workstream", "list"], { ARAWN_STORE_PG_SCHEMA: schema, ARAWN_STORE_PG_PREFIX: "agents" })
    expect(fromEnv.stdout).toContain("In its own schema")
    const tables = await Effect.runPromise(Effect.provide(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ table_schema: string; table_name: string }>`SELECT table_schema, table_name FROM information_schema.tables
          WHERE table_schema IN (${schema}, 'public') AND table_name LIKE 'agents\_%'`),
      PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 1 })
    ))
    expect(tables.map((t) => t.table_name)).toContain("agents_workstreams")
    expect(new Set(tables.map((t) => t.table_schema))).toEqual(new Set([schema]))
    const bad = await cli(["--url", PG_URL, "--pg-schema", "no; drop", "workstream", "list"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("must be an SQL identifier")
  }, SLOW)

  it("migrate --to-pg-schema / --to-pg-prefix write the copy there", async () => {
    const pg = await startPglite()
    try {
      const dir = freshDir()
      expect((await cli(["--dir", dir, "memory", "add", "moved with its schema"])).code).toBe(0)
      expect((await cli(["--dir", dir, "workstream", "create", "Moved too"])).code).toBe(0)
      const migrated = await cli(["--dir", dir, "migrate", "--to", pg.url, "--to-pg-schema", "agents", "--to-pg-prefix", "copy"])
      expect(migrated.code, migrated.stderr).toBe(0)
      const at = ["--url", pg.url, "--pg-schema", "agents", "--pg-prefix", "copy"]
      expect((await cli([...at, "memory", "list"])).stdout).toContain("moved with its schema")
      expect((await cli([...at, "workstream", "list"])).stdout).toContain("Moved too")
      expect((await cli(["--url", pg.url, "workstream", "list"])).stdout).toContain("no workstreams")
    } finally {
      await pg.stop()
    }
  }, SLOW)
})
