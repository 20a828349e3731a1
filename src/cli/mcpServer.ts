/**
 * The MCP server of `arawn-store mcp`, on the official TypeScript SDK's low-level `Server`: the tools, the resources,
 * and the two transports (stdio, and Streamable HTTP with one session per client).
 *
 * Why the SDK and not `@effect/ai`'s McpServer: the store's resources are one per memory and per thread, so
 * `resources/list` must be computed per call and paged with a cursor; @effect/ai 0.37 lists only resources
 * registered up front, in one unpaged answer. Its HTTP transport is @effect/rpc's JSON-RPC over POST, without the
 * Streamable HTTP sessions (`Mcp-Session-Id`) and the host checks the SDK's client and transport carry. The tools
 * here are still Effect programs, run on the command's runtime; only the protocol is the SDK's.
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import type { CallToolResult, ListResourcesResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, Runtime } from "effect"
import { StorageError } from "../Errors.js"
import { listResources, readResource, resourceTemplates } from "./mcpResources.js"
import { toolErrorText } from "./mcpTool.js"
import type { Tool, ToolContext, ToolError } from "./mcpTool.js"

/** What a server serves: its tools and the namespace it is bound to. @category models */
export interface ServeOptions {
  readonly name: string
  readonly version: string
  readonly namespace: string
  readonly tools: ReadonlyArray<Tool>
}

const instructions = (namespace: string) =>
  `Long-term memory and conversation threads of arawn-store, namespace "${namespace}". Store what should outlive ` +
  "this conversation with memory_store (subject + predicate for facts that a newer value should replace), look it " +
  "up with memory_search before asking the user again. Lists are paged: pass nextCursor back to read on."

/** The answer to a call that failed: an MCP tool error the model reads, never a failed request. */
const failed = (name: string, text: string): CallToolResult => ({ isError: true, content: [{ type: "text", text: `${name}: ${text}` }] })

const replyText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value, null, 2))

/** Runs an Effect on the runtime; a typed failure becomes `onError`'s value, a defect is logged and becomes `onDefect`'s. */
const runWith = <R>(runtime: Runtime.Runtime<R>) =>
<A, B>(effect: Effect.Effect<A, ToolError, R>, onSuccess: (a: A) => B, onError: (e: ToolError) => B, onDefect: () => B): Promise<B> =>
  Runtime.runPromiseExit(runtime)(effect).then((exit) =>
    Exit.match(exit, {
      onSuccess,
      onFailure: (cause) => {
        const error = Cause.failureOption(cause)
        if (error._tag === "Some") return onError(error.value)
        Runtime.runSync(runtime)(Effect.logError("MCP request failed", cause))
        return onDefect()
      }
    })
  )

/** A protocol-level error for a resource request (resources have no error result of their own). */
const resourceError = (e: ToolError) =>
  new McpError(e._tag === "NotFound" || e._tag === "InvalidInput" ? ErrorCode.InvalidParams : ErrorCode.InternalError, toolErrorText(e))

/** A new SDK server over `options`' tools and the namespace's resources, running its handlers on `runtime`. @category constructors */
export const makeServer = (runtime: Runtime.Runtime<ToolContext>, options: ServeOptions): Server => {
  const server = new Server(
    { name: options.name, version: options.version },
    { capabilities: { tools: {}, resources: {} }, instructions: instructions(options.namespace) }
  )
  const run = runWith(runtime)
  const byName = new Map(options.tools.map((t) => [t.name, t] as const))
  server.setRequestHandler(ListToolsRequestSchema, () => ({
    tools: options.tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations }))
  }))
  server.setRequestHandler(CallToolRequestSchema, (request) => {
    const t = byName.get(request.params.name)
    if (t === undefined) {
      return failed(request.params.name, `no such tool; the tools are ${options.tools.map((x) => x.name).join(", ")}`)
    }
    return run(
      t.call(request.params.arguments ?? {}),
      (value): CallToolResult => ({ content: [{ type: "text", text: replyText(value) }] }),
      (e) => failed(t.name, toolErrorText(e)),
      () => failed(t.name, "internal error (logged by the server); the call may be retried")
    )
  })
  server.setRequestHandler(ListResourcesRequestSchema, (request) =>
    run(listResources(options.namespace, request.params?.cursor), (page): ListResourcesResult => page, (e) => {
      throw resourceError(e)
    }, () => {
      throw new McpError(ErrorCode.InternalError, "internal error (logged by the server)")
    }))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates }))
  server.setRequestHandler(ReadResourceRequestSchema, (request) =>
    run(
      readResource(options.namespace, request.params.uri),
      (text) => ({ contents: [{ uri: request.params.uri, mimeType: "application/json", text }] }),
      (e) => {
        throw resourceError(e)
      },
      () => {
        throw new McpError(ErrorCode.InternalError, "internal error (logged by the server)")
      }
    ))
  return server
}

/** Serves one client on stdin/stdout until stdin ends (the client closed it or went away). @category transports */
export const serveStdio = (options: ServeOptions) =>
  Effect.flatMap(Effect.runtime<ToolContext>(), (runtime) =>
    Effect.async<void, StorageError>((resume) => {
      const server = makeServer(runtime, options)
      const done = () => resume(Effect.void)
      process.stdin.once("end", done)
      process.stdin.once("close", done)
      server.connect(new StdioServerTransport()).catch((cause: unknown) =>
        resume(Effect.fail(new StorageError({ method: "mcp.stdio", cause })))
      )
      return Effect.promise(() => server.close())
    }))

/** Where the HTTP server listens. @category models */
export interface HttpAddress {
  readonly host: string
  readonly port: number
}

/** `PORT`, `HOST:PORT` or `[IPv6]:PORT`; a bare port listens on loopback. @category transports */
export const parseAddress = (text: string): HttpAddress | undefined => {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(text.trim())
  if (m === null) return undefined
  const port = Number(m[2])
  if (port > 65535) return undefined
  return { host: (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, ""), port }
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"])

/**
 * Serves Streamable HTTP at `/mcp` until interrupted: each client that initializes gets its own session (an SDK
 * server and transport). On loopback, requests naming another host are refused (DNS rebinding). Calls
 * `onListening` with the URL once the port is bound.
 *
 * @category transports
 */
export const serveHttp = (options: ServeOptions, at: HttpAddress, onListening: (url: string) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<ToolContext>()
    const sessions = new Map<string, StreamableHTTPServerTransport>()
    const http = createServer()
    const url = yield* Effect.acquireRelease(
      Effect.async<string, StorageError>((resume) => {
        http.once("error", (cause) => resume(Effect.fail(new StorageError({ method: "mcp.http.listen", cause }))))
        http.listen(at.port, at.host, () => {
          const address = http.address()
          const port = typeof address === "object" && address !== null ? address.port : at.port
          const host = at.host.includes(":") ? `[${at.host}]` : at.host
          resume(Effect.succeed(`http://${host}:${port}/mcp`))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const t of sessions.values()) void t.close()
          http.closeAllConnections()
          http.close(() => resume(Effect.void))
        })
    )
    const hostPort = new URL(url).host
    const allowedHosts = LOOPBACK.has(at.host) ? [hostPort, `localhost:${new URL(url).port}`, `127.0.0.1:${new URL(url).port}`] : undefined
    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      if (new URL(req.url ?? "/", "http://x").pathname !== "/mcp") {
        res.writeHead(404).end("not found: the MCP endpoint is /mcp\n")
        return
      }
      const id = req.headers["mcp-session-id"]
      const existing = typeof id === "string" ? sessions.get(id) : undefined
      if (existing !== undefined) return existing.handleRequest(req, res)
      if (typeof id === "string") {
        res.writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32001, message: "unknown or closed session: initialize again" }, id: null }))
        return
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        // A session id is a protocol token the transport hands the client, not a record of the store.
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void sessions.set(sid, transport),
        ...(allowedHosts !== undefined ? { enableDnsRebindingProtection: true, allowedHosts } : {})
      })
      transport.onclose = () => {
        if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
      }
      await makeServer(runtime, options).connect(transport)
      return transport.handleRequest(req, res)
    }
    http.on("request", (req: IncomingMessage, res: ServerResponse) => {
      handle(req, res).catch((cause: unknown) => {
        Runtime.runSync(runtime)(Effect.logError("MCP HTTP request failed", cause))
        if (!res.headersSent) res.writeHead(500).end()
      })
    })
    yield* onListening(url)
    return yield* Effect.never
  }).pipe(Effect.scoped)
