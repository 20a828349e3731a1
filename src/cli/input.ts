/**
 * Where a command's text content comes from: the argument itself, standard input (`-`), or a file (`--file`).
 * Large content (a log, a document) does not fit an argument: Linux caps one at 128 KiB.
 *
 * @since 0.1.0
 */
import { Args, Options } from "@effect/cli"
import { readFile } from "node:fs/promises"
import { Effect, Option } from "effect"
import { InvalidInput, StorageError } from "../Errors.js"

/** The positional content argument: the text, or `-` for standard input. @category options */
export const contentArg = (description: string) =>
  Args.text({ name: "content" }).pipe(Args.withDescription(`${description}; - reads it from stdin`), Args.optional)

/** `--file PATH`: the content is that file's text. @category options */
export const fileOption = Options.file("file", { exists: "yes" }).pipe(
  Options.withDescription("Read the content from this file (UTF-8) instead of the argument"),
  Options.optional
)

const utf8 = new TextDecoder("utf-8", { fatal: true })

const decode = (method: string, from: string, bytes: Uint8Array) =>
  Effect.try({
    try: () => utf8.decode(bytes),
    catch: () => new InvalidInput({ method, message: `the content from ${from} is not valid UTF-8` })
  })

const readStdin = (method: string) =>
  Effect.flatMap(
    Effect.tryPromise({
      try: async () => {
        const chunks: Array<Buffer> = []
        for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
        return Buffer.concat(chunks)
      },
      catch: (cause) => new StorageError({ method: `${method}: reading stdin`, cause })
    }),
    (bytes) => decode(method, "stdin", bytes)
  )

const readPath = (method: string, path: string) =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => readFile(path),
      catch: (cause) => new StorageError({ method: `${method}: reading ${path}`, cause })
    }),
    (bytes) => decode(method, path, bytes)
  )

/**
 * The content a command was given: exactly one of the argument, `-` (stdin) or `--file`. Neither or both is
 * `InvalidInput`; so is content that is not UTF-8.
 *
 * @category input
 */
export const readContent = (
  method: string,
  arg: Option.Option<string>,
  file: Option.Option<string>
): Effect.Effect<string, InvalidInput | StorageError> => {
  if (Option.isSome(arg) && Option.isSome(file)) {
    return Effect.fail(new InvalidInput({ method, message: "give the content as an argument or with --file, not both" }))
  }
  if (Option.isSome(file)) return readPath(method, file.value)
  if (Option.isNone(arg)) {
    return Effect.fail(
      new InvalidInput({ method, message: "missing content: give it as an argument, - to read stdin, or --file PATH" })
    )
  }
  return arg.value === "-" ? readStdin(method) : Effect.succeed(arg.value)
}
