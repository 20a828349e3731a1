/**
 * MCP clients of the built `arawn-store mcp` server, as an agent's host starts it: the official SDK client over
 * stdio (the client spawns the server) or over Streamable HTTP (the test spawns the server and reads its URL from
 * stderr). Every server and client a file starts is closed when the file ends.
 */
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { join } from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect, Layer } from "effect"
import { afterAll, expect } from "vitest"
import * as Embedder from "../../src/Embedder.js"
import { MemoryBackend } from "../../src/MemoryBackend.js"
import * as SqliteMemoryBackend from "../../src/MemoryBackend/Sqlite.js"
import { BIN } from "./cli.js"

const closers: Array<() => Promise<void>> = []
afterAll(async () => {
  await Promise.allSettled(closers.splice(0).map((close) => close()))
})

/** An SDK client connected to a server it spawned over stdio: `arawn-store --dir <dir> <global> mcp <args>`. */
export const stdioClient = async (dir: string, args: ReadonlyArray<string> = [], global: ReadonlyArray<string> = []) => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, "--dir", dir, ...global, "mcp", ...args],
    env: { ...cleanEnv(), NO_COLOR: "1" },
    stderr: "pipe"
  })
  const client = new Client({ name: "arawn-store-test", version: "1.0.0" })
  await client.connect(transport)
  closers.push(() => client.close())
  return { client, transport }
}

const cleanEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined))

/** A server spawned with `--http 127.0.0.1:0`, and its URL once it listens. */
export const httpServer = (dir: string, args: ReadonlyArray<string> = [], global: ReadonlyArray<string> = []) =>
  new Promise<{ readonly url: URL; readonly child: ChildProcess }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "--dir", dir, ...global, "mcp", "--http", "127.0.0.1:0", ...args], {
      env: { ...cleanEnv(), NO_COLOR: "1" },
      stdio: ["ignore", "ignore", "pipe"]
    })
    closers.push(() => stop(child))
    let err = ""
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString("utf8")
      const m = /MCP server at (http:\/\/\S+)/.exec(err)
      if (m !== null) resolve({ url: new URL(m[1]!), child })
    })
    child.on("exit", (code) => reject(new Error(`the server exited (${code}) before listening: ${err}`)))
  })

const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/** An SDK client of a Streamable HTTP server. */
export const httpClient = async (url: URL) => {
  const client = new Client({ name: "arawn-store-test", version: "1.0.0" })
  await client.connect(new StreamableHTTPClientTransport(url))
  closers.push(() => client.close())
  return client
}

/** The text of a tool result that must have succeeded. */
export const okText = (result: Awaited<ReturnType<Client["callTool"]>>): string => {
  const content = result.content as ReadonlyArray<{ readonly type: string; readonly text?: string }>
  expect(result.isError ?? false, content[0]?.text).toBe(false)
  return content[0]!.text!
}

/** The JSON of a tool result that must have succeeded. */
export const ok = (result: Awaited<ReturnType<Client["callTool"]>>): any => JSON.parse(okText(result))

/** The message of a tool result that must have failed. */
export const errorText = (result: Awaited<ReturnType<Client["callTool"]>>): string => {
  const content = result.content as ReadonlyArray<{ readonly type: string; readonly text?: string }>
  expect(result.isError, content[0]?.text).toBe(true)
  return content[0]!.text!
}

/** Runs `body` on the SQLite memories of the store at `dir`, opened in this process. */
export const onMemories = <A, E>(dir: string, body: Effect.Effect<A, E, MemoryBackend>) =>
  Effect.runPromise(Effect.provide(
    body,
    SqliteMemoryBackend.layer({ filename: join(dir, "memory.db"), readers: 0 }).pipe(Layer.provide(Embedder.layerHashing))
  ))
