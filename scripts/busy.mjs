#!/usr/bin/env node
/**
 * Runs a command on a busy machine: starts busy-loop processes, runs the command beside them, stops them when it
 * ends and exits with its status. The load never outlives the bound: each busy process stops itself after
 * `--seconds` even if this script is killed.
 *
 *   node scripts/busy.mjs [--procs N] [--seconds S] [-- command args...]
 *
 * --procs    busy processes (default: 4 per core, which with the command's own work gives a load of about 5 per core)
 * --seconds  how long the load lasts at most (default 1800: a loaded npm test takes about 22 minutes); the command itself is never cut short
 * Without a command the load runs for `--seconds`, e.g. to slow down tests started from another shell.
 */
import { spawn } from "node:child_process"
import { availableParallelism, constants } from "node:os"

const usage = "usage: node scripts/busy.mjs [--procs N] [--seconds S] [-- command args...]"

const parse = (argv) => {
  const options = { procs: 4 * availableParallelism(), seconds: 1800, command: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--") {
      options.command = argv.slice(i + 1)
      break
    }
    const [flag, inline] = arg.split("=", 2)
    if (flag !== "--procs" && flag !== "--seconds") throw new Error(`unknown argument ${arg}`)
    const value = Number(inline ?? argv[++i])
    if (!Number.isInteger(value) || value < (flag === "--procs" ? 0 : 1)) throw new Error(`${flag} needs a whole number`)
    options[flag.slice(2)] = value
  }
  return options
}

let options
try {
  options = parse(process.argv.slice(2))
} catch (e) {
  console.error(`busy: ${e.message}\n${usage}`)
  process.exit(2)
}

// Each loop checks its own deadline, so an orphaned one (this script SIGKILLed) still ends on time.
const loop = `const end = Date.now() + ${options.seconds * 1000}; let x = 0; while (Date.now() < end) x = (x * 31 + 7) % 1000003`
const busy = Array.from({ length: options.procs }, () => spawn(process.execPath, ["-e", loop], { stdio: "ignore" }))
const started = Date.now()
console.error(`busy: ${options.procs} busy-loop processes for at most ${options.seconds} s`)

const stopBusy = () => {
  for (const child of busy) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}
const report = () => console.error(`busy: load stopped after ${((Date.now() - started) / 1000).toFixed(0)} s`)

if (options.command.length === 0) {
  // No command: the loops end by their own deadline.
  let left = busy.length
  if (left === 0) report()
  for (const child of busy) child.on("exit", () => --left === 0 && report())
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (stopBusy(), report(), process.exit(130)))
} else {
  const [file, ...args] = options.command
  const command = spawn(file, args, { stdio: "inherit" })
  // The terminal's Ctrl-C reaches the command through the process group; a signal sent to this script alone is
  // passed on, so the command is never left running without its supervisor.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => command.kill(signal))
  command.on("error", (e) => {
    stopBusy()
    console.error(`busy: cannot run ${file}: ${e.message}`)
    process.exit(127)
  })
  command.on("exit", (code, signal) => {
    stopBusy()
    report()
    process.exit(code ?? 128 + (constants.signals[signal] ?? 1))
  })
}
