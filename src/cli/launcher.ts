#!/usr/bin/env node
/**
 * The `arawn-store` binary: runs the bundled command line (`main.cjs` beside this file) through V8's code cache.
 *
 * Why: the command line is ~2.7 MB of JavaScript (effect, @effect/cli, the store), and on Node 20, which has no
 * module compile cache of its own, compiling it costs more than everything else a short command does. The first
 * run compiles it and, on exit, saves V8's cached code for every function that ran; later runs start from that
 * cache. The cache lives in the user's own cache directory (`$XDG_CACHE_HOME/arawn-store`, else
 * `~/.cache/arawn-store`), one file per build of the bundle and Node version; V8 rejects a cache that does not fit
 * its version or flags, and a directory that cannot be written just means no cache; the newest 8 caches are kept.
 * `ARAWN_STORE_COMPILE_CACHE=0` turns it off.
 *
 * `<command> --help` is answered here, from text the build rendered (help.json), without loading the bundle:
 * @effect/cli's help renderer costs several hundred milliseconds per call.
 *
 * Only Node built-ins (and the colour rule, bundled in) are imported here, so nothing but this file loads before
 * the cache is consulted.
 *
 * @since 0.1.0
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Script } from "node:vm"
import { ANSI, colourAllowed } from "./colour.js"

/** The bundle's content hash, written in by the build: it names the code cache and checks help.json. */
declare const __ARAWN_BUNDLE__: string

const here = dirname(fileURLToPath(import.meta.url))
const bundle = join(here, "main.cjs")
const KEEP_CACHES = 8

const readIfPresent = (path: string): Buffer | undefined => {
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}

/**
 * `arawn-store [command...] --help` for a command of the tree: prints the text the build rendered with the same
 * command line (dist/cli/help.json) and reports whether it did. Anything else, global options included, goes to
 * the command line itself.
 */
const servedHelp = (args: ReadonlyArray<string>): boolean => {
  if (args.at(-1) !== "--help" || !args.slice(0, -1).every((a) => /^[a-z][a-z-]*$/.test(a))) return false
  const file = readIfPresent(join(here, "help.json"))
  if (file === undefined) return false
  let help: { readonly bundle?: string; readonly texts?: Record<string, string> }
  try {
    help = JSON.parse(file.toString("utf8"))
  } catch {
    return false
  }
  const text = help.bundle === __ARAWN_BUNDLE__ ? help.texts?.[args.slice(0, -1).join(" ")] : undefined
  if (text === undefined) return false
  process.stdout.write(colourAllowed() ? text : text.replace(ANSI, ""))
  return true
}

/** The cache directory, created private to this user, or undefined when there is none to be had. */
const cacheDir = (): string | undefined => {
  if (process.env["ARAWN_STORE_COMPILE_CACHE"] === "0") return undefined
  try {
    const xdg = process.env["XDG_CACHE_HOME"]
    const dir = join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".cache"), "arawn-store")
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    return dir
  } catch {
    return undefined
  }
}

/** Keeps the newest few caches: other builds (another checkout, an installed copy) may be in use too. */
const prune = (dir: string) => {
  const caches = readdirSync(dir).filter((f) => f.endsWith(".v8cache")).map((f) => ({
    path: join(dir, f),
    mtime: statSync(join(dir, f)).mtimeMs
  }))
  caches.sort((a, b) => b.mtime - a.mtime)
  for (const old of caches.slice(KEEP_CACHES)) rmSync(old.path, { force: true })
}

const runBundle = () => {
  // The build keeps the bundle ASCII, so Latin-1 reads it exactly, into a one-byte string and without decoding.
  const source = readFileSync(bundle, "latin1")
  const dir = cacheDir()
  // V8 checks a cache against the source's length only: the bundle's hash in the name keeps builds apart.
  const cacheFile = dir === undefined ? undefined : join(dir, `${__ARAWN_BUNDLE__}-${process.version}-${process.arch}.v8cache`)
  const cachedData = cacheFile === undefined ? undefined : readIfPresent(cacheFile)
  // The same wrapper Node gives a CommonJS module.
  const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`
  const script = new Script(wrapped, { filename: bundle, ...(cachedData !== undefined ? { cachedData } : {}) })
  if (dir !== undefined && cacheFile !== undefined && (cachedData === undefined || script.cachedDataRejected === true)) {
    // At exit the cache also holds the functions this run compiled lazily, which a bare compile would leave out.
    process.once("exit", () => {
      try {
        const temp = `${cacheFile}.${process.pid}.tmp`
        writeFileSync(temp, script.createCachedData())
        renameSync(temp, cacheFile)
        prune(dir)
      } catch {
        // A cache that cannot be written only costs the next run its head start.
      }
    })
  }
  const module = { exports: {} }
  const run: unknown = script.runInThisContext()
  if (typeof run === "function") run.call(module.exports, module.exports, createRequire(bundle), module, bundle, here)
}

if (!servedHelp(process.argv.slice(2))) runBundle()
