/** Runs the compiled `arawn-store` binary as a subprocess, the way a person or a script would. */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"

/** Path of the launcher package.json's `bin` names (built by `npm run build`, which vitest's globalSetup runs). */
export const BIN = fileURLToPath(new URL("../../dist/cli/arawn-store.js", import.meta.url))

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  /** Environment on top of the test process's own (which has `NO_COLOR=1` unless this overrides it). */
  readonly env?: Record<string, string | undefined>
  /** Bytes or text written to the command's stdin (closed at once when absent). */
  readonly input?: string | Buffer
  /** Working directory (default: the test process's). */
  readonly cwd?: string
  /** Run as this user and group (only root may), e.g. to meet file modes that root itself ignores. */
  readonly user?: { readonly uid: number; readonly gid: number }
}

/** vitest runs a file's tests concurrently: at most two CLI processes at a time keep a 2-core machine responsive. */
const MAX_PARALLEL = 2
let running = 0
const waiting: Array<() => void> = []
const acquire = () =>
  new Promise<void>((resolve) => {
    if (running < MAX_PARALLEL) {
      running++
      resolve()
    } else waiting.push(resolve)
  })
const release = () => {
  const next = waiting.shift()
  if (next !== undefined) next()
  else running--
}

/** Runs the CLI with `args`; the store directory comes from `env` or `--dir` (never the working directory's). */
export const cli = async (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {},
  options: Omit<CliOptions, "env"> = {}
): Promise<CliResult> => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build`)
  await acquire()
  try {
    return await run(args, { ...options, env })
  } finally {
    release()
  }
}

const run = (args: ReadonlyArray<string>, options: CliOptions): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...options.env }
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
    const child = spawn(process.execPath, [BIN, ...args], {
      env,
      cwd: options.cwd ?? process.cwd(),
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 120_000,
      ...(options.user !== undefined ? { uid: options.user.uid, gid: options.user.gid } : {})
    })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.on("error", reject)
    // A command that does not read stdin may exit before the write finishes: that is not the test's failure.
    child.stdin.on("error", () => {})
    child.stdin.end(options.input)
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? (signal !== null ? 128 : 1),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8")
      }))
  })

/** True when `stderr` is one line of explanation and carries no stack trace. */
export const isOneLine = (stderr: string): boolean => {
  const lines = stderr.trim().split("\n")
  return lines.length === 1 && lines[0]!.length > 0 && !/^\s+at /m.test(stderr)
}
