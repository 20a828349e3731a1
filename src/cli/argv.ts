/**
 * The command line's own reading of two of @effect/cli's built-in options before @effect/cli parses the rest:
 * `--log-level` works wherever it is given (@effect/cli takes it only before the first option, and its effect on
 * the logger never reached the command), and `--wizard` (an interactive mode this command line does not offer)
 * is refused like any unknown option.
 *
 * @since 0.1.0
 */
import { Either, LogLevel } from "effect"

/** The arguments left for @effect/cli and the log level asked for, if any. @category models */
export interface Preprocessed {
  readonly args: ReadonlyArray<string>
  readonly logLevel: LogLevel.LogLevel | undefined
}

const LEVELS = new Map(LogLevel.allLevels.map((l) => [l._tag.toLowerCase(), l] as const))
const NAMES = Array.from(LEVELS.keys()).join(", ")

/**
 * Takes `--log-level LEVEL` / `--log-level=LEVEL` out of `args` wherever it stands (before a `--`), and refuses
 * `--wizard`. The message on Left is the one line to print.
 *
 * @category parsing
 */
export const preprocess = (args: ReadonlyArray<string>): Either.Either<Preprocessed, string> => {
  const kept: Array<string> = []
  let logLevel: LogLevel.LogLevel | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      kept.push(...args.slice(i))
      break
    }
    if (arg === "--wizard") return Either.left("unknown argument: '--wizard'")
    if (arg !== "--log-level" && !arg.startsWith("--log-level=")) {
      kept.push(arg)
      continue
    }
    const value = arg === "--log-level" ? args[++i] : arg.slice("--log-level=".length)
    const level = value === undefined ? undefined : LEVELS.get(value.toLowerCase())
    if (level === undefined) {
      return Either.left(`--log-level takes one of ${NAMES}${value === undefined ? "" : `, not ${JSON.stringify(value)}`}`)
    }
    logLevel = level
  }
  return Either.right({ args: kept, logLevel })
}
