/**
 * Build step, not shipped: renders `arawn-store <path> --help` for every command path through the real command
 * line, in one process, and prints `{ "<path>": "<text>" }` as JSON (colour codes kept; the launcher drops them
 * unless colour is allowed). scripts/build-cli.mjs bundles and runs it, and stores the result as
 * dist/cli/help.json.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Console, Effect } from "effect"
import { commandPaths, run } from "./app.js"

const render = (path: ReadonlyArray<string>) =>
  Effect.flatMap(Effect.console, (base) => {
    let text = ""
    const capture: Console.Console = {
      ...base,
      log: (...args: ReadonlyArray<unknown>) => Effect.sync(() => void (text += `${args.map(String).join(" ")}\n`))
    }
    return Effect.map(
      Effect.withConsole(run(["node", "arawn-store", ...path, "--help"]), capture),
      () => [path.join(" "), text] as const
    )
  })

Effect.forEach(commandPaths, render).pipe(
  Effect.map((entries) => process.stdout.write(JSON.stringify(Object.fromEntries(entries)))),
  Effect.provide(NodeContext.layer),
  Effect.runPromise
).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
