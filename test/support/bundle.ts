/**
 * Child processes for multi-process tests run as one bundled JavaScript file: it starts in ~0.2 s, where loading the
 * TypeScript sources through tsx costs seconds per process.
 */
import { mkdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))

/** Bundles `entry` (a path under test/support) once per test file and returns the command line to run it. */
export const bundled = (entry: string): (() => Promise<ReadonlyArray<string>>) => {
  const source = fileURLToPath(new URL(`./${entry}`, import.meta.url))
  const outfile = join(ROOT, "tmp", `${entry.replace(/\W+/g, "-")}-${process.pid}.mjs`)
  afterAll(() => rmSync(outfile, { force: true }))
  let built: Promise<ReadonlyArray<string>> | undefined
  return () => {
    built ??= import("esbuild").then(async (esbuild) => {
      mkdirSync(join(ROOT, "tmp"), { recursive: true })
      await esbuild.build({
        entryPoints: [source],
        bundle: true,
        platform: "node",
        format: "esm",
        outfile,
        // Native addons and the extension loader stay outside the bundle, resolved from node_modules; so does
        // ioredis, CommonJS that requires Node built-ins, which an ESM bundle cannot do.
        external: ["better-sqlite3", "sqlite-vec", "ioredis"],
        logLevel: "silent"
      })
      return [outfile]
    })
    return built
  }
}
