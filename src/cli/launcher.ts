#!/usr/bin/env node
/**
 * The `arawn-store` binary: runs the bundled command line (`main.cjs` beside this file) through V8's code cache.
 *
 * Why: the command line is ~2.7 MB of JavaScript (effect, @effect/cli, the store), and on Node 20, which has no
 * module compile cache of its own, compiling it costs more than everything else a short command does. The first
 * run compiles it and, on exit, saves V8's cached code for every function that ran; later runs start from that
 * cache. The cache lives in the user's own cache directory (`$XDG_CACHE_HOME/arawn-store`, else
 * `~/.cache/arawn-store`), one file per build of the bundle and Node version; V8 rejects a cache that does not fit
 * its version or flags, and a directory that cannot be written just means no cache. `ARAWN_STORE_COMPILE_CACHE=0`
 * turns it off.
 *
 * Only Node built-ins are imported here, so nothing but this file loads before the cache is consulted.
 *
 * @since 0.1.0
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Script } from "node:vm"

const bundle = join(dirname(fileURLToPath(import.meta.url)), "main.cjs")

/** The cache directory, created private to this user, or undefined when there is none to be had. */
const cacheDir = (): string | undefined => {
  if (process.env["ARAWN_STORE_COMPILE_CACHE"] === "0") return undefined
  try {
    const base = process.env["XDG_CACHE_HOME"] !== undefined && process.env["XDG_CACHE_HOME"] !== ""
      ? process.env["XDG_CACHE_HOME"]
      : join(homedir(), ".cache")
    const dir = join(base, "arawn-store")
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    return dir
  } catch {
    return undefined
  }
}

const readIfPresent = (path: string): Buffer | undefined => {
  try {
    return readFileSync(path)
  } catch {
    return undefined
  }
}

const source = readFileSync(bundle, "utf8")
const dir = cacheDir()
// V8 checks a cache against the source's length only, so the file name carries the bundle's identity.
const stat = statSync(bundle)
const name = `${stat.size}-${Math.trunc(stat.mtimeMs)}-${process.version}-${process.arch}.v8cache`
const cacheFile = dir === undefined ? undefined : join(dir, name)
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
      for (const other of readdirSync(dir)) {
        if (other !== name && other.endsWith(".v8cache")) rmSync(join(dir, other), { force: true })
      }
    } catch {
      // A cache that cannot be written only costs the next run its head start.
    }
  })
}

const module = { exports: {} }
const run: unknown = script.runInThisContext()
if (typeof run === "function") run.call(module.exports, module.exports, createRequire(bundle), module, bundle, dirname(bundle))
