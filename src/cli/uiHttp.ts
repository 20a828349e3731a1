/**
 * The inspector's HTTP server (`arawn-store ui`): one page with its script inlined, and a JSON API. It is meant for
 * the person at this machine only, so every request must carry the random token printed in the page's address, its
 * `Host` must name the loopback address the server listens on (a DNS-rebinding page names its own host), an
 * `Origin`, when sent, must be the server's own, and every write is a POST with the token in a header and a JSON
 * body, which a page from another site cannot send without a preflight this server never answers.
 *
 * @since 0.2.0
 */
import { randomBytes, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { Effect, Exit, Runtime } from "effect"
import type { Scope } from "effect"
import { StorageError } from "../Errors.js"

/** A request as a route sees it. @category models */
export interface ApiRequest {
  readonly query: URLSearchParams
  readonly body: unknown
}

/** A failure a route reports to the page: the HTTP status and one line. @category errors */
export class ApiFailure {
  readonly _tag = "ApiFailure"
  constructor(readonly status: number, readonly message: string) {}
}

/** One endpoint: reads are GETs, writes POSTs (refused by a read-only server). @category models */
export interface Route<R> {
  readonly write: boolean
  readonly handle: (request: ApiRequest) => Effect.Effect<unknown, ApiFailure, R>
}

/** @category models */
export interface ServerOptions<R> {
  readonly host: string
  /** 0 picks a free port. */
  readonly port: number
  readonly token: string
  readonly readOnly: boolean
  /** The page's HTML with `%NONCE%` where its inline script and style take the response's nonce. */
  readonly page: string
  readonly routes: Readonly<Record<string, Route<R>>>
}

/** A random token of 32 bytes, as URL-safe text. @category security */
export const makeToken = (): string => randomBytes(32).toString("base64url")

/** The header API requests carry the token in. @category security */
export const TOKEN_HEADER = "x-arawn-token"

const MAX_BODY = 1024 * 1024

const sameToken = (given: string | null | undefined, token: string): boolean => {
  if (typeof given !== "string") return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The `Host` values that name this server: its own address, and the loopback names when it listens on loopback. */
const allowedHosts = (host: string, port: number): ReadonlySet<string> => {
  const names = new Set([host.includes(":") ? `[${host}]` : host])
  if (host === "127.0.0.1" || host === "::1" || host === "localhost") {
    for (const n of ["127.0.0.1", "localhost", "[::1]"]) names.add(n)
  }
  return new Set(Array.from(names, (n) => `${n}:${port}`))
}

/** Why the request is refused, or undefined when it may go on. */
export const refusal = (
  req: { readonly method: string; readonly headers: IncomingMessage["headers"]; readonly url: URL },
  hosts: ReadonlySet<string>,
  token: string
): string | undefined => {
  const host = req.headers.host
  if (host === undefined || !hosts.has(host.toLowerCase())) return "unknown Host"
  const origin = req.headers.origin
  if (origin !== undefined && (origin === "null" || !hosts.has(origin.toLowerCase().replace(/^http:\/\//, "")))) {
    return "foreign Origin"
  }
  if (req.headers["sec-fetch-site"] === "cross-site") return "cross-site request"
  const headerToken = req.headers[TOKEN_HEADER]
  const given = typeof headerToken === "string" ? headerToken : req.method === "GET" ? req.url.searchParams.get("token") : null
  return sameToken(given, token) ? undefined : "missing or wrong token"
}

const send = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) => {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    ...extra
  })
  res.end(body)
}

const sendJson = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, "application/json; charset=utf-8", JSON.stringify(value))

const readBody = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (b: Buffer) => {
      size += b.length
      if (size > MAX_BODY) reject(new ApiFailure(413, "request body too large"))
      else chunks.push(b)
    })
    req.on("error", reject)
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      try {
        resolve(text === "" ? {} : JSON.parse(text))
      } catch {
        reject(new ApiFailure(400, "the body is not JSON"))
      }
    })
  })

const servePage = <R>(res: ServerResponse, options: ServerOptions<R>) => {
  const nonce = randomBytes(16).toString("base64")
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
  send(res, 200, "text/html; charset=utf-8", options.page.replaceAll("%NONCE%", nonce), { "content-security-policy": csp })
}

const handle = async <R>(
  runtime: Runtime.Runtime<R>,
  options: ServerOptions<R>,
  hosts: ReadonlySet<string>,
  req: IncomingMessage,
  res: ServerResponse
) => {
  const method = req.method ?? "GET"
  const url = new URL(req.url ?? "/", "http://127.0.0.1")
  const why = refusal({ method, headers: req.headers, url }, hosts, options.token)
  if (why !== undefined) return send(res, 403, "text/plain; charset=utf-8", `forbidden: ${why}\n`)
  if (url.pathname === "/" && method === "GET") return servePage(res, options)
  const route = Object.hasOwn(options.routes, url.pathname) ? options.routes[url.pathname] : undefined
  if (route === undefined) return sendJson(res, 404, { error: `no such endpoint ${url.pathname}` })
  if (method !== (route.write ? "POST" : "GET")) return sendJson(res, 405, { error: `${url.pathname} takes ${route.write ? "POST" : "GET"}` })
  if (route.write && options.readOnly) return sendJson(res, 403, { error: "the inspector is read-only" })
  if (route.write && !(req.headers["content-type"] ?? "").startsWith("application/json")) {
    return sendJson(res, 415, { error: "a write takes a JSON body" })
  }
  const body = route.write ? await readBody(req) : {}
  const exit = await Runtime.runPromiseExit(runtime)(route.handle({ query: url.searchParams, body }))
  if (Exit.isSuccess(exit)) return sendJson(res, 200, exit.value)
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure !== undefined) return sendJson(res, failure.status, { error: failure.message })
  process.stderr.write(`arawn-store: error: ui ${url.pathname}: ${String(exit.cause)}\n`)
  return sendJson(res, 500, { error: "internal error (see the server's output)" })
}

/**
 * Starts the server in the current scope (closed with it) and returns its address: `http://host:port/?token=…`.
 *
 * @category server
 */
export const serve = <R>(options: ServerOptions<R>): Effect.Effect<string, StorageError, R | Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<R>()
    const server = yield* Effect.acquireRelease(
      Effect.async<Server, StorageError>((resume) => {
        const s = createServer()
        s.once("error", (cause) => resume(Effect.fail(new StorageError({ method: "ui.listen", cause }))))
        s.listen(options.port, options.host, () => resume(Effect.succeed(s)))
      }),
      (s) => Effect.async<void>((resume) => {
        s.close(() => resume(Effect.void))
        s.closeAllConnections()
      })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : options.port
    const hosts = allowedHosts(options.host, port)
    const resolved = { ...options, port }
    server.on("request", (req: IncomingMessage, res: ServerResponse) => {
      handle(runtime, resolved, hosts, req, res).catch((error: unknown) => {
        const status = error instanceof ApiFailure ? error.status : 500
        if (!res.headersSent) sendJson(res, status, { error: error instanceof ApiFailure ? error.message : "internal error" })
      })
    })
    const shown = options.host.includes(":") ? `[${options.host}]` : options.host
    return `http://${shown}:${port}/?token=${options.token}`
  })
