/**
 * Starts the PGlite test server (`pglite-server.mjs`) as a child process and hands out its URL. PGlite is
 * PostgreSQL 18 with pgvector compiled to WASM and runs single-threaded: correct, not fast.
 */
import { spawn } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const ROOT = fileURLToPath(new URL("../..", import.meta.url))
const SERVER = fileURLToPath(new URL("./pglite-server.mjs", import.meta.url))
/** An initialised data directory, made once per checkout: a fresh initdb in WASM takes 10-20 s, a copy a moment. */
const TEMPLATE = join(ROOT, "tmp", "pglite-template")

export interface PgliteServer {
  readonly url: string
  readonly stop: () => Promise<void>
}

const start = (dataDir: string): Promise<PgliteServer> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER, dataDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    let err = ""
    child.stderr.on("data", (d: Buffer) => (err += d.toString()))
    child.on("exit", (code) => reject(new Error(`pglite server exited (${code}): ${err}`)))
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      const ready = /ready (\d+)/.exec(out)
      if (ready === null) return
      resolve({
        url: `postgres://postgres@127.0.0.1:${ready[1]}/postgres`,
        stop: () =>
          new Promise<void>((done) => {
            child.removeAllListeners("exit")
            child.on("exit", () => done())
            child.kill("SIGTERM")
            setTimeout(() => child.kill("SIGKILL"), 5_000).unref()
          })
      })
    })
  })

/** A server on its own copy of the template data directory (removed when it stops). */
export const startPglite = async (): Promise<PgliteServer> => {
  if (!existsSync(TEMPLATE)) {
    // Initialise into a fresh directory and move it in place, so a concurrent first run never sees half a template.
    mkdirSync(join(ROOT, "tmp"), { recursive: true })
    const fresh = mkdtempSync(join(ROOT, "tmp", "pglite-init-"))
    const server = await start(fresh)
    await server.stop()
    if (!existsSync(TEMPLATE)) renameSync(fresh, TEMPLATE)
    else rmSync(fresh, { recursive: true, force: true })
  }
  const dataDir = mkdtempSync(join(tmpdir(), "arawn-pglite-"))
  cpSync(TEMPLATE, dataDir, { recursive: true })
  const server = await start(dataDir)
  return {
    url: server.url,
    stop: async () => {
      await server.stop()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}
