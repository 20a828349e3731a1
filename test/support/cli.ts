/** Runs the `arawn-store` binary as a subprocess, the way a person or a script would. */
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"

/** Path of the bin shim that package.json names. */
export const BIN = fileURLToPath(new URL("../../bin/arawn-store.mjs", import.meta.url))

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Each run starts a Node process that loads TypeScript through tsx (about a second of CPU); vitest runs a file's
 * tests concurrently, so at most two run at a time to keep a 2-core machine responsive.
 */
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
export const cli = async (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> => {
  await acquire()
  try {
    return await spawn(args, env)
  } finally {
    release()
  }
}

const spawn = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<CliResult> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
        resolve({ code, stdout, stderr })
      }
    )
  })

/** True when `stderr` is one line of explanation and carries no stack trace. */
export const isOneLine = (stderr: string): boolean => {
  const lines = stderr.trim().split("\n")
  return lines.length === 1 && lines[0]!.length > 0 && !/^\s+at /m.test(stderr)
}
