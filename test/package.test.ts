/**
 * The package as npm users get it: `npm pack`'s tarball checked by publint and attw, installed into a fresh
 * project by the README's own install lines, a program compiled there by tsc under strict user settings and run by plain node, and
 * the installed `arawn-store` binary. Plus two properties of the development setup: tests run on the sources,
 * and the root entry loads no native module or network client.
 */
import { execFile } from "node:child_process"
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Root from "arawn-store"
import * as Embedder from "../src/Embedder.js"

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL("..", import.meta.url))
const bin = (name: string) => join(ROOT, "node_modules", ".bin", name)
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  readonly exports: Record<string, unknown>
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta: Record<string, { readonly optional?: boolean }>
  readonly devDependencies: Record<string, string>
  readonly overrides: Record<string, string>
}

/** The `npm install` lines of the README's "Use it from your project", comments cut off, each as its arguments. */
const installLines = (): ReadonlyArray<ReadonlyArray<string>> => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8")
  const section = readme.slice(readme.indexOf("## Use it from your project"))
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? ""
  return block.split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter((line) => line.startsWith("npm install "))
    .map((line) => line.split(/\s+/).slice(2))
}

/** `name@version` split at the version's `@` (a scoped name starts with one). */
const nameAndVersion = (spec: string) => {
  const at = spec.lastIndexOf("@")
  return at > 0 ? { name: spec.slice(0, at), version: spec.slice(at + 1) } : { name: spec, version: undefined }
}

describe("the README's install lines", () => {
  it("name every peer at the version this repository tests with, the required ones on the line with the package", () => {
    const lines = installLines()
    expect(lines[0]).toContain("arawn-store")
    const named = new Map<string, string | undefined>()
    for (const arg of lines.flat()) {
      if (arg.startsWith("-") || arg === "arawn-store") continue
      const { name, version } = nameAndVersion(arg)
      named.set(name, version)
      // An unversioned name would take npm's `latest`, which for effect and several @effect packages is Effect 4.
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/)
      if (manifest.devDependencies[name] !== undefined) expect(version, name).toBe(manifest.devDependencies[name])
    }
    for (const peer of Object.keys(manifest.peerDependencies)) expect([...named.keys()], peer).toContain(peer)
    const required = Object.keys(manifest.peerDependencies).filter((p) => manifest.peerDependenciesMeta[p]?.optional !== true)
    expect(lines[0]!.map((a) => nameAndVersion(a).name)).toEqual(expect.arrayContaining(required))
    // @effect/sql-pg's declarations import pg's types, which a project with skipLibCheck: false needs.
    expect([...named.keys()]).toContain("@types/pg")
  })
})

describe("development runs on the sources", () => {
  it("`arawn-store` resolves to src/ under vitest (the arawn-store:source condition), not to dist/", () => {
    expect(Root.Embedder.Embedder).toBe(Embedder.Embedder)
  })
})

/** Bare specifiers the ES modules reachable from `entry` import (tsc output: one import per statement). */
const bareImports = (entry: string): Set<string> => {
  const seen = new Set<string>()
  const bare = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, "utf8")
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s*"([^"]+)"|^\s*import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm)) {
      const spec = (m[1] ?? m[2] ?? m[3])!
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec))
      else bare.add(spec)
    }
  }
  visit(entry)
  return bare
}

describe("the built entry points", () => {
  it("the root entry reaches only effect and Node built-ins: no native module, no network client", () => {
    const reached = [...bareImports(join(ROOT, "dist", "index.js"))]
    expect(reached.filter((s) => s !== "effect" && !s.startsWith("node:"))).toEqual([])
  })

  it("each driver is loaded only by its own subpath", () => {
    const reaches = (subpath: string) => [...bareImports(join(ROOT, "dist", `${subpath}.js`))]
    expect(reaches("SessionStore/Redis")).toContain("ioredis")
    expect(reaches("SessionStore/Tiered")).toEqual(expect.arrayContaining(["ioredis", "lru-cache"]))
    expect(reaches("Embedder/OpenAi")).toEqual(expect.arrayContaining(["@effect/ai/EmbeddingModel", "@effect/ai-openai/OpenAiClient"]))
    expect(reaches("MemoryBackend/Pg")).toContain("@effect/sql-pg/PgClient")
    expect(reaches("WorkstreamStore/Pg")).toContain("@effect/sql-pg/PgClient")
    // Effect AI (an optional peer) only behind arawn-store/ai, which needs no backend of its own.
    expect(reaches("ai")).toEqual(expect.arrayContaining(["@effect/ai/Chat", "@effect/experimental/Persistence"]))
    expect(reaches("ai").filter((s) => s === "ioredis" || s.startsWith("@effect/sql"))).toEqual([])
    // The OpenTelemetry names need no OpenTelemetry package: any Effect tracer exports them.
    expect(reaches("otel").filter((s) => s !== "effect" && !s.startsWith("node:"))).toEqual([])
    expect(reaches("LangGraph")).toContain("@langchain/langgraph-checkpoint")
    // A dump moves a store between any two backends, so it must load none of them.
    expect(reaches("Dump").filter((s) => s !== "effect" && !s.startsWith("node:"))).toEqual([])
    for (const subpath of ["MemoryBackend/Sqlite", "WorkstreamStore/Local", "SessionStore/Lru", "testing/index"]) {
      expect(reaches(subpath).filter((s) => s === "ioredis" || s.startsWith("@effect/ai") || s.startsWith("@effect/sql-pg") || s.startsWith("@langchain/")), subpath)
        .toEqual([])
    }
  })
})

const SLOW = 240_000

describe("the packed tarball", () => {
  let work = ""
  let tarball = ""
  let files: ReadonlyArray<string> = []
  let consumer = ""

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "arawn-package-"))
    // vitest's globalSetup has built dist/; --ignore-scripts keeps `prepare` from rebuilding it under the CLI tests.
    const packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT })
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    tarball = join(work, info!.filename)
    files = info!.files.map((f) => f.path)

    // A fresh project, as a user starts one, then the README's install lines as they are written, with the tarball
    // for `arawn-store`.
    consumer = join(work, "consumer")
    mkdirSync(join(consumer, "src"), { recursive: true })
    writeFileSync(join(consumer, "package.json"), JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      devDependencies: { "@types/node": manifest.devDependencies["@types/node"] },
      // The same better-sqlite3 as ours, whose compiled addon is copied in below.
      overrides: manifest.overrides
    }, null, 2))
    // From npm's cache where it can, without install scripts: compiling better-sqlite3 takes minutes, so the addon
    // this repository already compiled (same version, same Node) is copied in instead.
    const flags = ["--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"]
    for (const args of installLines()) {
      await run("npm", ["install", ...args.map((a) => (a === "arawn-store" ? tarball : a)), ...flags], { cwd: consumer })
    }
    const addon = join("node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node")
    mkdirSync(dirname(join(consumer, addon)), { recursive: true })
    copyFileSync(join(ROOT, addon), join(consumer, addon))
  }, 3 * SLOW)

  afterAll(() => {
    if (work !== "") rmSync(work, { recursive: true, force: true })
  })

  it("holds the built code, its declarations and the sources they map to; no tests, benches, CI or build state", () => {
    expect(files).toEqual(expect.arrayContaining([
      "package.json",
      "README.md",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/arawn-store.js",
      "dist/cli/main.cjs",
      "dist/cli/help.json",
      "src/index.ts"
    ]))
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target !== "object" || target === null) continue
      for (const file of Object.values(target)) expect(files, subpath).toContain(String(file).replace(/^\.\//, ""))
    }
    const unwanted = files.filter((f) => /^(test|bench|examples|scripts|\.ci|src\/cli)\/|tsbuildinfo|tsconfig/.test(f))
    expect(unwanted).toEqual([])
  })

  it("publint finds nothing to report", async () => {
    const { stdout } = await run(bin("publint"), ["run", tarball, "--strict"], { cwd: work })
    expect(stdout).toContain("All good!")
  }, SLOW)

  it("attw (ESM-only profile) finds no problem in any entry point's types", async () => {
    // ESM only: CommonJS `require` and node10 resolution are out of scope (the package has no CJS build). attw
    // exits non-zero on a problem the profile covers; the report lists the ignored ones too.
    const { stdout } = await run(bin("attw"), [tarball, "--profile", "esm-only", "--format", "json"], { cwd: work })
    const report = JSON.parse(stdout) as { analysis: { problems: ReadonlyArray<{ resolutionKind?: string }> } }
    const ignored = new Set(["node10", "node16-cjs"])
    expect(report.analysis.problems.filter((p) => p.resolutionKind === undefined || !ignored.has(p.resolutionKind)))
      .toEqual([])
  }, SLOW)

  it("a program compiled by tsc (strict, NodeNext, lib ES2020, erasableSyntaxOnly, every subpath) runs under plain node", async () => {
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2020",
        lib: ["ES2020"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        erasableSyntaxOnly: true,
        types: ["node"],
        // Checked like any user's project that leaves the default: our declarations included.
        skipLibCheck: false,
        outDir: "out",
        rootDir: "src"
      },
      include: ["src"]
    }, null, 2))
    copyFileSync(join(ROOT, "test", "support", "consumer-main.ts"), join(consumer, "src", "main.ts"))
    await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", consumer], { cwd: consumer })
    const { stdout } = await run(process.execPath, [join(consumer, "out", "main.js")], { cwd: consumer })
    expect(JSON.parse(stdout)).toEqual({
      found: true,
      messages: ["1:cut the release branch", "2:branch release/2.0 created"],
      session: true,
      reopened: { memories: 1, messages: 2 }
    })
  }, SLOW)

  it("a Chat persisted through arawn-store/ai, compiled there too (with the DOM lib @effect/ai's types need), runs under plain node", async () => {
    const ai = join(consumer, "ai")
    mkdirSync(ai, { recursive: true })
    copyFileSync(join(ROOT, "test", "support", "consumer-ai.ts"), join(ai, "main.ts"))
    writeFileSync(join(consumer, "tsconfig.ai.json"), JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2020",
        lib: ["ES2020", "DOM"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        types: ["node"],
        skipLibCheck: false,
        outDir: "out-ai",
        rootDir: "ai"
      },
      include: ["ai"]
    }, null, 2))
    await run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(consumer, "tsconfig.ai.json")], { cwd: consumer })
    const { stdout } = await run(process.execPath, [join(consumer, "out-ai", "main.js")], { cwd: consumer })
    expect(JSON.parse(stdout)).toEqual({ same: true, log: ["user:hello", "assistant:1 messages so far"] })
  }, SLOW)

  it("the installed arawn-store binary works from node_modules/.bin", async () => {
    const store = join(work, "cli-store")
    const cli = (...args: Array<string>) =>
      run(join(consumer, "node_modules", ".bin", "arawn-store"), ["--dir", store, ...args], { cwd: consumer })
    await cli("memory", "add", "The staging database runs on port 5433", "--type", "fact")
    const { stdout } = await cli("--json", "memory", "search", "staging database port")
    expect(JSON.parse(stdout)[0].memory.content).toBe("The staging database runs on port 5433")
  }, SLOW)
})
