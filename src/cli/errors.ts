/**
 * How a backend failure reads on the command line: the root of its cause chain (the driver's own words, which a
 * wrapper such as "Failed to execute statement" hides) and, for causes a person can act on, what to do.
 *
 * @since 0.1.0
 */
import type { StorageError } from "../Errors.js"
import { LOADING } from "./layers.js"

type Fields = { readonly message?: unknown; readonly code?: unknown; readonly cause?: unknown; readonly errors?: unknown }

const asFields = (u: unknown): Fields | undefined => (typeof u === "object" && u !== null ? u as Fields : undefined)

/**
 * The chain from `error` down to its root cause, following `cause` (and the first of an `AggregateError`'s
 * `errors`, as a refused `localhost` gives one per address), at most 16 links, never round a cycle.
 *
 * @category errors
 */
export const causeChain = (error: unknown): ReadonlyArray<unknown> => {
  const chain: Array<unknown> = []
  let at: unknown = error
  while (at !== undefined && at !== null && chain.length < 16 && !chain.includes(at)) {
    chain.push(at)
    const f = asFields(at)
    const errors = f?.errors
    at = f?.cause ?? (Array.isArray(errors) ? errors[0] : undefined)
  }
  return chain
}

const messageOf = (u: unknown): string => {
  const m = asFields(u)?.message
  const text = typeof m === "string" && m !== "" ? m : String(u)
  // A driver's message may run on over lines (a require stack, a SQL excerpt): the first says what failed.
  return text.split("\n")[0]!
}

const fieldOf = (u: unknown, key: string): string | undefined => {
  const v = (asFields(u) as Record<string, unknown> | undefined)?.[key]
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined
}

/** What to do about a root cause the command line recognises, if it does. */
const hintFor = (root: unknown): string | undefined => {
  const code = fieldOf(root, "code")
  const message = messageOf(root)
  if (code === "0A000" && /extension "vector"/.test(message)) return "the server has no pgvector (>= 0.8 needed)"
  if (code === "ECONNREFUSED") {
    const where = fieldOf(root, "address") !== undefined ? `${fieldOf(root, "address")}:${fieldOf(root, "port")}` : "the server"
    return `connection refused at ${where}: is PostgreSQL running there, on that port?`
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `host ${fieldOf(root, "hostname") ?? ""} not found: check the URL`
  if (code === "3D000") return "create the database or fix its name in the URL"
  if (code === "28000" && /user name/.test(message)) return "name a user in the URL: postgres://USER@host/database"
  if (code === "28P01" || code === "28000") return "check the user and password in the URL"
  if (code === "3F000") return "create the schema or fix --pg-schema"
  if (/^SQLITE_READONLY/.test(code ?? "") || /readonly database/.test(message) || code === "EROFS") {
    return "the store is read-only: only commands that read it work (memory list|search|get|history|stats, workstream list|show|messages|search, export)"
  }
  if (code === "EACCES" || code === "EPERM") return "this user may not open that file: run as the store's owner, or check its permissions"
  return undefined
}

/**
 * The one line for a StorageError: what failed, its root cause, and a hint (what to do) when the cause is known;
 * otherwise where to look.
 *
 * @category errors
 */
export const storageErrorLine = (e: StorageError): string => {
  const chain = causeChain(e.cause)
  const root = chain.at(-1)
  const what = `${e.method} failed: ${root === undefined ? "unknown cause" : messageOf(root)}`
  if (e.method.startsWith(LOADING)) return `${what} (the installation is incomplete: reinstall arawn-store)`
  const hint = root === undefined ? undefined : hintFor(root)
  return hint !== undefined ? `${what}; ${hint}` : `${what} (check the store: --dir or ARAWN_STORE_DIR, --url or ARAWN_STORE_URL)`
}

/** Every link of the cause chain, one per line, for `--log-level debug`. @category errors */
export const causeLines = (e: StorageError): ReadonlyArray<string> =>
  causeChain(e.cause).map((c, i) => {
    const name = fieldOf(c, "name") ?? (asFields(c) !== undefined ? "object" : typeof c)
    const code = fieldOf(c, "code")
    return `cause ${i + 1}: ${name}${code !== undefined ? ` (${code})` : ""}: ${messageOf(c)}`
  })
