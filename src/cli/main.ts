/**
 * Entry point of the `arawn-store` binary.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect } from "effect"
import { run } from "./app.js"

run(process.argv).pipe(
  Effect.catchTag("Reported", (r) => Effect.sync(() => void (process.exitCode = r.exitCode))),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain
)
