/**
 * Builds the command line into dist/cli/: `main.cjs`, one bundle of src/cli/main.ts with its JavaScript
 * dependencies, and `arawn-store.js`, the small launcher package.json's `bin` names (src/cli/launcher.ts), which
 * runs the bundle through V8's code cache.
 *
 * Why a bundle and not tsc's output: on Node 20, resolving and compiling the ~1,000 ES modules that effect,
 * @effect/cli and @effect/platform-node are made of costs about a second before the first line runs; one file,
 * compiled from a code cache, costs a fraction of that. CommonJS because Node 20 can cache compiled code only for
 * a script (`vm.Script`), not for an ES module. The bundle carries its own copy of every JavaScript dependency, so
 * it never mixes with another Effect version in one process; modules a command loads lazily (`import()`) stay
 * unevaluated until it runs. Native code stays outside: better-sqlite3 (a .node addon) and sqlite-vec (it finds
 * its loadable extension through its own package) are required from node_modules.
 *
 * Files are written only when their content changed, so a rebuild that changes nothing never disturbs a CLI
 * process starting at the same moment, and the launcher's code cache (keyed by the bundle's size and mtime) stays
 * valid.
 */
import { build } from "esbuild"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const outdir = join(root, "dist", "cli")

const common = { absWorkingDir: root, bundle: true, platform: "node", target: "node20", legalComments: "none", logLevel: "warning", write: false }

const results = await Promise.all([
  build({ ...common, entryPoints: ["src/cli/main.ts"], format: "cjs", outfile: join(outdir, "main.cjs"), external: ["better-sqlite3", "sqlite-vec", "ioredis"] }),
  build({ ...common, entryPoints: ["src/cli/launcher.ts"], format: "esm", outfile: join(outdir, "arawn-store.js") })
])

let written = 0
for (const file of results.flatMap((r) => r.outputFiles)) {
  let current
  try {
    current = readFileSync(file.path)
  } catch {
    current = undefined
  }
  if (current !== undefined && Buffer.compare(current, file.contents) === 0) continue
  mkdirSync(dirname(file.path), { recursive: true })
  writeFileSync(file.path, file.contents, { mode: 0o755 })
  written++
}
process.stdout.write(`built ${relative(root, outdir)}: ${written === 0 ? "unchanged" : `${written} file(s) written`}\n`)
