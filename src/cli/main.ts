/**
 * Entry point of the `arawn-store` binary.
 *
 * @since 0.1.0
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { run } from "./app.js"

run(process.argv).pipe(
  Effect.catchTag("Reported", (r) => Effect.sync(() => void (process.exitCode = r.exitCode))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
