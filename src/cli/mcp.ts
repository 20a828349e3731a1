/**
 * `arawn-store mcp`: the store as a Model Context Protocol server, for agents that reach memory through MCP (one
 * server per window or session, any number of them on one store). The server is bound to one namespace: its
 * tools and resources neither read nor change another's memories or threads.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { Effect, Layer, Option } from "effect"
import { InvalidInput } from "../Errors.js"
import { DEFAULT_NAMESPACE } from "../Memory.js"
import * as Layers from "./layers.js"
import { load } from "./layers.js"
import { memoryNamespace, storeLocation } from "./root.js"

const http = Options.text("http").pipe(
  Options.withDescription(
    "Serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio; a bare PORT listens on 127.0.0.1 only (0 picks a free port)"
  ),
  Options.optional
)
const compat = Options.choice("compat", ["server-memory"] as const).pipe(
  Options.withDescription(
    "Also serve the nine tools of @modelcontextprotocol/server-memory (create_entities, read_graph, ...) over the store"
  ),
  Options.optional
)

/** `arawn-store mcp`. @category commands */
export const mcpCommand = Command.make("mcp", { http, compat }, (o) =>
  Effect.gen(function*() {
    const address = Option.getOrUndefined(o.http)
    const Serve = yield* load("the MCP server", () => import("./mcpRun.js"))
    const at = address === undefined ? undefined : Serve.parseAddress(address)
    if (address !== undefined && at === undefined) {
      return yield* new InvalidInput({ method: "mcp", message: `--http ${JSON.stringify(address)} is not PORT or HOST:PORT` })
    }
    const namespace = Option.getOrElse(yield* memoryNamespace, () => DEFAULT_NAMESPACE)
    const store = yield* storeLocation("create")
    const serve = Serve.serve({ namespace, compat: Option.isSome(o.compat), http: at })
    return yield* Effect.provide(serve, Layer.merge(Layers.scopedMemories(store, namespace), Layers.workstreamsAt(store)))
  })).pipe(Command.withDescription(
    "Serve the store over the Model Context Protocol (stdio, or --http), bound to one namespace (--namespace, else default)"
  ))
