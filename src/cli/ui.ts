/**
 * `arawn-store ui`: a local web inspector for the store's memories and threads. It serves one page, bundled into the
 * command line at build time (nothing is fetched from elsewhere), on the loopback address, behind a random token.
 *
 * @since 0.2.0
 */
import { Command, Options } from "@effect/cli"
import { spawn } from "node:child_process"
import { Console, Effect, Layer, Option, Schema } from "effect"
import type { MemoryBackend } from "../MemoryBackend.js"
import type { WorkstreamStore } from "../WorkstreamStore.js"
import * as Layers from "./layers.js"
import { memoryNamespace, storeLocation } from "./root.js"
import type { Route } from "./uiHttp.js"
import { makeToken, serve } from "./uiHttp.js"
import { memoryRoutes } from "./uiMemories.js"
import { pageHtml } from "./uiPageHtml.js"
import { storeRoutes } from "./uiStore.js"
import { threadRoutes } from "./uiThreads.js"

/** The page's script, bundled by scripts/build-cli.mjs from src/cli/uiPage/main.ts; absent when run from source. */
declare const __ARAWN_UI_SCRIPT__: string

const script = (): string | undefined => (typeof __ARAWN_UI_SCRIPT__ === "string" ? __ARAWN_UI_SCRIPT__ : undefined)

const Port = Schema.Int.pipe(Schema.between(0, 65535, { message: () => "--port must be a port number from 0 to 65535" }))

/** Opens `url` in the desktop's browser; a machine without one only misses the convenience. */
const openBrowser = (url: string) =>
  Effect.sync(() => {
    const [command, args] = process.platform === "darwin"
      ? ["open", [url]] as const
      : process.platform === "win32"
      ? ["cmd", ["/c", "start", "", url]] as const
      : ["xdg-open", [url]] as const
    try {
      const child = spawn(command, args, { detached: true, stdio: "ignore" })
      child.on("error", () => {})
      child.unref()
    } catch {
      // No browser launcher: the address is printed anyway.
    }
  })

/** Every endpoint of the inspector. @category routes */
export const routes = (
  at: Layers.Location,
  info: { readonly readOnly: boolean; readonly namespace: string | null }
): Readonly<Record<string, Route<MemoryBackend | WorkstreamStore>>> => ({
  ...memoryRoutes,
  ...threadRoutes,
  ...storeRoutes(at, info)
})

/** `arawn-store ui`. @category commands */
export const ui = Command.make("ui", {
  port: Options.integer("port").pipe(
    Options.withSchema(Port),
    Options.withDescription("Port to listen on (default: 0, any free port)"),
    Options.withDefault(0)
  ),
  host: Options.text("host").pipe(
    Options.withDescription("Address to listen on (default: 127.0.0.1; the token is still required on any other)"),
    Options.withDefault("127.0.0.1")
  ),
  open: Options.boolean("open").pipe(Options.withDescription("Open the page in the default browser")),
  readOnly: Options.boolean("read-only").pipe(Options.withDescription("Show no edit, expire or delete, and refuse them"))
}, (o) =>
  Effect.gen(function*() {
    const at = yield* storeLocation(o.readOnly ? "read" : "open")
    const namespace = yield* memoryNamespace
    const memories = Option.match(namespace, {
      onNone: () => Layers.memoriesAt(at),
      onSome: (ns) => Layers.scopedMemories(at, ns)
    })
    const store = Layer.merge(memories, Layers.workstreamsAt(at))
    const token = makeToken()
    yield* Effect.scoped(Effect.gen(function*() {
      const url = yield* serve({
        host: o.host,
        port: o.port,
        token,
        readOnly: o.readOnly,
        page: pageHtml(script()),
        routes: routes(at, { readOnly: o.readOnly, namespace: Option.getOrNull(namespace) })
      })
      yield* Console.log(`arawn-store ui: ${url}`)
      yield* Console.log(`store: ${Layers.describe(at)}${o.readOnly ? " (read-only)" : ""}; stop with Ctrl-C`)
      if (o.open) yield* openBrowser(url)
      return yield* Effect.never
    })).pipe(Effect.provide(store))
  })).pipe(Command.withDescription("Serve a local web page to browse, search and audit memories and threads"))
