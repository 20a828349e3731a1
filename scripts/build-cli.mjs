/**
 * Builds the command line into dist/cli/:
 * - `main.cjs`: src/cli/main.ts bundled with its JavaScript dependencies;
 * - `help.json`: `<command> --help` for every command, rendered by that same code (src/cli/help-texts.ts);
 * - `arawn-store.js`: the launcher package.json's `bin` names (src/cli/launcher.ts), which answers `--help` from
 *   help.json and otherwise runs main.cjs through V8's code cache.
 *
 * Why a bundle and not tsc's output: on Node 20, resolving and compiling the ~1,000 ES modules that effect,
 * @effect/cli and @effect/platform-node are made of costs about a second before the first line runs; one file,
 * compiled from a code cache, costs a fraction of that. CommonJS because Node 20 can cache compiled code only for
 * a script (`vm.Script`), not for an ES module. The bundle carries its own copy of every JavaScript dependency, so
 * it never mixes with another Effect version in one process; modules a command loads lazily (`import()`) stay
 * unevaluated until it runs. Native code stays outside: better-sqlite3 (a .node addon) and sqlite-vec (it finds
 * its loadable extension through its own package) are required from node_modules.
 *
 * Files are written only when their content changed, and help.json is rendered again only when the bundle
 * changed, so a build that changes nothing takes about a second and never disturbs a CLI process starting at the
 * same moment.
 */
import { execFileSync } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const outdir = join(root, "dist", "cli")
const external = ["better-sqlite3", "sqlite-vec", "ioredis"]
const common = { absWorkingDir: root, bundle: true, platform: "node", target: "node20", legalComments: "none", logLevel: "warning", write: false }
// The library resolves packages next to itself with createRequire(import.meta.url) (the SQLite store's reader
// threads load better-sqlite3 by path); in a CommonJS bundle that URL is the bundle's own file.
const commonjs = {
  format: "cjs",
  external,
  define: { "import.meta.url": "__arawnModuleUrl" },
  banner: { js: "const __arawnModuleUrl = require(\"node:url\").pathToFileURL(__filename).href;" }
}

/**
 * effect's `FastCheck` module re-exports fast-check, which Schema and Arbitrary import for building test data
 * generators: evaluating it is ~240 modules (fast-check and pure-rand) on every start, for a command line that never
 * generates test data. In the bundle it becomes an object with fast-check's export names whose getters load
 * fast-check on first use, so anything that does use it still gets the real functions.
 */
const lazyFastCheck = {
  name: "lazy-fast-check",
  setup(b) {
    // A module of its own namespace, so that esbuild takes it for CommonJS (effect's own files are ES modules).
    b.onResolve({ filter: /^\.\/FastCheck\.js$/ }, (args) =>
      /[\\/]effect[\\/]dist[\\/]esm$/.test(args.resolveDir) ? { path: relative(root, join(args.resolveDir, "FastCheck.js")), namespace: "lazy-fast-check" } : undefined)
    b.onLoad({ filter: /.*/, namespace: "lazy-fast-check" }, (args) => {
      const path = join(root, args.path)
      const names = Object.keys(createRequire(path)("fast-check")).filter((n) => n !== "default" && n !== "__esModule")
      const contents = `let fc;\nconst load = () => (fc ??= require("fast-check"));\n` +
        `for (const name of ${JSON.stringify(names)}) Object.defineProperty(module.exports, name, { enumerable: true, get: () => load()[name] });\n`
      return { contents, loader: "js", resolveDir: dirname(path) }
    })
  }
}

let written = 0
const writeIfChanged = (path, contents) => {
  let current
  try {
    current = readFileSync(path)
  } catch {
    current = undefined
  }
  if (current !== undefined && Buffer.compare(current, Buffer.from(contents)) === 0) return
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, contents, { mode: 0o755 })
  written++
}

const bundle = async (entry, outfile, options) => {
  const result = await build({ ...common, ...options, entryPoints: [entry], outfile })
  return result.outputFiles[0].contents
}

// The inspector's page script (`arawn-store ui`), bundled for the browser and inlined into the command line, so the
// page never loads anything from elsewhere.
const page = await bundle("src/cli/uiPage/main.ts", join(outdir, "ui-page.js"), { platform: "browser", format: "iife", target: "es2022", minify: true })
// Whitespace and syntax minified, names kept (stack traces and class names read as in the sources): without the
// comments and indentation the file is a third smaller, and it is plain ASCII (esbuild escapes the rest), which
// the launcher reads as Latin-1 into a one-byte string instead of decoding UTF-8 into a two-byte one.
const main = await bundle("src/cli/main.ts", join(outdir, "main.cjs"), {
  ...commonjs,
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
  plugins: [lazyFastCheck],
  define: { ...commonjs.define, __ARAWN_UI_SCRIPT__: JSON.stringify(Buffer.from(page).toString("utf8")) }
})
if (main.some((byte) => byte > 0x7f)) throw new Error("main.cjs is not ASCII: the launcher reads it as Latin-1")
writeIfChanged(join(outdir, "main.cjs"), main)
const hash = createHash("sha256").update(main).digest("hex").slice(0, 16)

const helpFile = join(outdir, "help.json")
let help
try {
  help = JSON.parse(readFileSync(helpFile, "utf8"))
} catch {
  help = undefined
}
if (help?.bundle !== hash) {
  const renderer = join(outdir, `.help-texts-${process.pid}.cjs`)
  writeFileSync(renderer, await bundle("src/cli/help-texts.ts", renderer, commonjs))
  try {
    const env = { ...process.env, FORCE_COLOR: "1" }
    delete env.NO_COLOR
    const texts = JSON.parse(execFileSync(process.execPath, [renderer], { env, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }))
    writeIfChanged(helpFile, `${JSON.stringify({ bundle: hash, texts }, null, 1)}\n`)
  } finally {
    rmSync(renderer, { force: true })
  }
}

const launcher = await bundle("src/cli/launcher.ts", join(outdir, "arawn-store.js"), {
  format: "esm",
  define: { __ARAWN_BUNDLE__: JSON.stringify(hash) }
})
writeIfChanged(join(outdir, "arawn-store.js"), launcher)

process.stdout.write(`built ${relative(root, outdir)}: ${written === 0 ? "unchanged" : `${written} file(s) written`}\n`)
