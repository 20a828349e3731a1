/**
 * Entry point of the `arawn-store` binary.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Cause, Effect, Layer, Logger } from "effect"
import { run } from "./app.js"
import { stderrLogger } from "./output.js"

/**
 * A reader that stops early (`arawn-store export | head`) closes the pipe: the command ends at once, quietly and
 * with status 0, as `head` got what it asked for (a shell's `set -o pipefail` does not fail the pipeline). A
 * closed stderr is ignored: there is nowhere left to say anything.
 */
const closedPipe = (stream: NodeJS.WriteStream, onEpipe: () => void) =>
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") return onEpipe()
    process.stderr.write(`arawn-store: writing the output failed: ${error.message}\n`)
    process.exit(1)
  })
closedPipe(process.stdout, () => process.exit(0))
closedPipe(process.stderr, () => {})

run(process.argv).pipe(
  Effect.catchTag("Reported", (r) => Effect.sync(() => void (process.exitCode = r.exitCode))),
  // Only a defect (a bug) is left: its trace goes to stderr through the same logger as every warning.
  Effect.tapErrorCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError(cause))),
  Effect.provide(Logger.replace(Logger.defaultLogger, stderrLogger)),
  // What @effect/cli needs (CliApp.Environment), not all of NodeContext: no process spawner, no worker pool to load.
  Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)),
  // runMain's own logger and error report print to stdout: both are replaced above.
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
