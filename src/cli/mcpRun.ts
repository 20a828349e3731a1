/**
 * What `arawn-store mcp` runs once the store is open: the tool set for its options, on the chosen transport.
 * Loaded only by that command, so no other command pays for the MCP SDK.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { compatTools } from "./mcpCompatTools.js"
import { memoryTools } from "./mcpMemoryTools.js"
import { serveHttp, serveStdio } from "./mcpServer.js"
import type { HttpAddress, ServeOptions } from "./mcpServer.js"
import { threadTools } from "./mcpThreadTools.js"

export { parseAddress } from "./mcpServer.js"

/** The version the server reports. @category constants */
export const SERVER_VERSION = "0.1.0"

/** The tools of a server bound to `namespace`, with the reference memory server's nine when `compat`. @category tools */
export const toolsFor = (namespace: string, compat: boolean) => [
  ...memoryTools,
  ...threadTools(namespace),
  ...(compat ? compatTools(namespace) : [])
]

/** Serves until the client goes away (stdio) or the process is stopped (HTTP). @category run */
export const serve = (options: { readonly namespace: string; readonly compat: boolean; readonly http: HttpAddress | undefined }) => {
  const served: ServeOptions = {
    name: "arawn-store",
    version: SERVER_VERSION,
    namespace: options.namespace,
    tools: toolsFor(options.namespace, options.compat)
  }
  return options.http === undefined
    ? serveStdio(served)
    : serveHttp(served, options.http, (url) =>
      Effect.sync(() => void process.stderr.write(`arawn-store: MCP server at ${url} (namespace ${JSON.stringify(options.namespace)})\n`)))
}
