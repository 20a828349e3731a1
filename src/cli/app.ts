/**
 * The `arawn-store` command line: the command tree, and how its failures reach the person running it (one line on
 * stderr and a non-zero exit code; a stack trace only for a bug).
 *
 * @since 0.1.0
 */
import { Command, ValidationError } from "@effect/cli"
import type { CliApp } from "@effect/cli"
import { ConfigError, Console, Effect, Either, HashMap, Logger } from "effect"
import type { Conflict, EmbeddingError, EmbeddingSpaceMismatch, InvalidInput, NotFound, StorageError } from "../Errors.js"
import { demo } from "./demo.js"
import { exportCommand, migrateCommand } from "./dump.js"
import { importCommand } from "./import.js"
import { mcpCommand } from "./mcp.js"
import { memory } from "./memory.js"
import { preprocess } from "./argv.js"
import { fixCompletions, tidyHelp } from "./builtinText.js"
import { ANSI, colourAllowed } from "./colour.js"
import { causeLines, storageErrorLine } from "./errors.js"
import { root } from "./root.js"
import { ui } from "./ui.js"
import { workstream } from "./workstream.js"

/** The version the command line reports. @category constants */
export const VERSION = "0.1.0"

/** The full command tree. @category commands */
export const command = root.pipe(
  Command.withDescription(
    "Long-term memory, workstream logs and a live-session cache for an agent runtime, in one local directory"
  ),
  Command.withSubcommands([memory, workstream, importCommand, exportCommand, migrateCommand, mcpCommand, ui, demo])
)

// A group's own subcommands only: deeper ones (`workstream retention set`) come back keyed by their whole path, and
// their help is rendered by the command line itself.
const below = (group: string, subcommands: HashMap.HashMap<string, unknown>) =>
  Array.from(HashMap.keys(subcommands)).filter((name) => !name.includes(" ")).map((name): ReadonlyArray<string> => [group, name]).sort()

/**
 * Every command path of the tree, the root's `[]` first. The build renders `<path> --help` for each of them once,
 * and the launcher prints that text without loading the command line: @effect/cli's help renderer alone costs
 * more than the whole startup budget.
 *
 * @category commands
 */
export const commandPaths: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  ["memory"],
  ...below("memory", Command.getSubcommands(memory)),
  ["workstream"],
  ...below("workstream", Command.getSubcommands(workstream)),
  ["import"],
  ["export"],
  ["migrate"],
  ["mcp"],
  ["ui"],
  ["demo"]
]

const cli = Command.run(command, { name: "arawn-store", version: VERSION })

/** A failure the command reports itself, with the exit code to end with (it has already printed its line). */
export class Reported {
  readonly _tag = "Reported"
  constructor(readonly exitCode: number) {}
}

type KnownError = InvalidInput | NotFound | StorageError | EmbeddingError | EmbeddingSpaceMismatch | Conflict

const HINTS: Record<string, string> = {
  memory: "list memories with 'arawn-store memory list'",
  workstream: "list workstreams with 'arawn-store workstream list'"
}

/** The one line a person sees for a typed failure: what was wrong and what to do. @category errors */
export const errorLine = (e: KnownError): string => {
  switch (e._tag) {
    case "InvalidInput":
      return e.message
    case "NotFound":
      return `${e.entity} ${e.id} does not exist${HINTS[e.entity] !== undefined ? `; ${HINTS[e.entity]}` : ""}`
    case "StorageError":
      return storageErrorLine(e)
    case "EmbeddingError":
    case "EmbeddingSpaceMismatch":
    case "Conflict":
      return e.message
  }
}

/** @effect/cli's words for a value of the wrong type, as a person would say them. */
const plainWords = (text: string) =>
  text.replace(/is not a integer/g, "is not a whole number").replace(/is not a float/g, "is not a number")

/**
 * The console the commands print through. @effect/cli prints its own parse errors as help documents: they become
 * one line with a pointer to --help. Its help text carries colour codes: they are dropped unless stdout is a
 * terminal and `NO_COLOR` is unset. Help and completion scripts (`builtIn`) get the corrections of builtinText.ts.
 */
const cliConsole = (builtIn: "help" | "completions" | undefined) =>
  Effect.map(Effect.console, (base): Console.Console => {
    const plain = !colourAllowed()
    const fix = (text: string) =>
      builtIn === "help" ? tidyHelp(text) : builtIn === "completions" ? fixCompletions("arawn-store", text) : text
    return {
      ...base,
      log: (...args: ReadonlyArray<unknown>) =>
        base.log(...args.map((a) => (typeof a === "string" ? fix(plain ? a.replace(ANSI, "") : a) : a))),
      error: (...args: ReadonlyArray<unknown>) => {
        const text = args.map(String).join(" ").replace(ANSI, "").split(/\n+/).map((l) => l.trim()).filter((l) => l !== "")
          .join("; ")
        return base.error(`arawn-store: ${plainWords(text)} (run with --help for usage)`)
      }
    }
  })

const builtInOf = (args: ReadonlyArray<string>) => {
  const options = args.slice(0, args.includes("--") ? args.indexOf("--") : undefined)
  return options.some((a) => a === "--completions" || a.startsWith("--completions="))
    ? "completions" as const
    : options.some((a) => a === "--help" || a === "-h")
    ? "help" as const
    : undefined
}

const failWith = (line: string, exitCode = 1) =>
  Effect.zipRight(Console.error(`arawn-store: ${line}`), Effect.fail(new Reported(exitCode)))

/**
 * Runs the command line on `argv` (`process.argv` shape: runtime, script, then arguments). Every expected failure
 * is printed as one line on stderr and ends as `Reported` with an exit code; only defects (bugs) remain.
 *
 * @category run
 */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<void, Reported, CliApp.CliApp.Environment> =>
  Either.match(preprocess(argv.slice(2)), {
    onLeft: (line) => failWith(`${line} (run with --help for usage)`, 2),
    onRight: ({ args, logLevel }) => {
      const parsed = Effect.flatMap(cliConsole(builtInOf(args)), (console) =>
        Effect.withConsole(cli([...argv.slice(0, 2), ...args]), console))
      return (logLevel === undefined ? parsed : Logger.withMinimumLogLevel(parsed, logLevel)).pipe(
        Effect.catchIf(ValidationError.isValidationError, () => Effect.fail(new Reported(2))),
        Effect.catchTags({
          InvalidInput: (e) => failWith(errorLine(e), 2),
          NotFound: (e) => failWith(errorLine(e)),
          Conflict: (e) => failWith(errorLine(e)),
          StorageError: (e) =>
            Effect.zipRight(Effect.forEach(causeLines(e), (l) => Effect.logDebug(l), { discard: true }), failWith(errorLine(e))),
          EmbeddingError: (e) => failWith(errorLine(e)),
          EmbeddingSpaceMismatch: (e) => failWith(errorLine(e)),
          ImportIncomplete: (e) => failWith(e.message),
          NoStore: (e) => failWith(e.message)
        }),
        Effect.catchIf(ConfigError.isConfigError, (e) => failWith(`configuration: ${String(e)}`, 2)),
        // The level applies to the failure's own debug lines too.
        (effect) => (logLevel === undefined ? effect : Logger.withMinimumLogLevel(effect, logLevel))
      )
    }
  })

/**
 * What `arawn-store <path> --help` prints, captured instead of printed (colour codes kept when colour is allowed):
 * the build stores it for the launcher, and a test checks the stored text against it.
 *
 * @category run
 */
export const renderHelp = (path: ReadonlyArray<string>): Effect.Effect<string, Reported, CliApp.CliApp.Environment> =>
  Effect.flatMap(Effect.console, (base) => {
    let text = ""
    const capture: Console.Console = {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void (text += `${args.map(String).join(" ")}\n`))
    }
    return Effect.map(Effect.withConsole(run(["node", "arawn-store", ...path, "--help"]), capture), () => text)
  })
