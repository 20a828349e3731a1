/**
 * Build step, not shipped: renders `arawn-store <path> --help` for every command path through the real command
 * line, in one process, and prints `{ "<path>": "<text>" }` as JSON (colour codes kept; the launcher drops them
 * unless colour is allowed). scripts/build-cli.mjs bundles and runs it, and stores the result as
 * dist/cli/help.json.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect } from "effect"
import { commandPaths, renderHelp } from "./app.js"

Effect.forEach(commandPaths, (path) => Effect.map(renderHelp(path), (text) => [path.join(" "), text] as const)).pipe(
  Effect.map((entries) => process.stdout.write(JSON.stringify(Object.fromEntries(entries)))),
  Effect.provide(NodeContext.layer),
  Effect.runPromise
).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exitCode = 1
})
