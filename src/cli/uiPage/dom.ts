/// <reference lib="dom" />
/**
 * The inspector page's small toolkit: element building, the token-carrying API calls, the confirmation dialog and
 * formatting. Runs in the browser (bundled by scripts/build-cli.mjs), never in Node.
 *
 * @since 0.2.0
 */

type Child = Node | string | null | undefined | false
type Attr = string | number | boolean | undefined | ((e: Event) => void)

/** An element with attributes (`onclick` etc. become listeners, `true` an empty attribute) and children. */
export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, Attr>> = {},
  ...children: ReadonlyArray<Child | ReadonlyArray<Child>>
): HTMLElementTagNameMap[K] => {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.slice(2), v)
    else if (v === true) el.setAttribute(k, "")
    else if (v !== undefined && v !== false) el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

const append = (el: Element, children: ReadonlyArray<Child | ReadonlyArray<Child>>) => {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(typeof c === "string" ? document.createTextNode(c) : c)
  }
}

const SVG = "http://www.w3.org/2000/svg"

/** An SVG element with attributes and children. */
export const s = (tag: string, attrs: Readonly<Record<string, Attr>> = {}, ...children: ReadonlyArray<Child>): SVGElement => {
  const el = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.slice(2), v)
    else if (v !== undefined && v !== false) el.setAttribute(k, String(v))
  }
  append(el, children)
  return el
}

/** Replaces the element's children. */
export const fill = (el: Element, ...children: ReadonlyArray<Child | ReadonlyArray<Child>>): void => {
  el.replaceChildren()
  append(el, children)
}

const token = new URLSearchParams(location.search).get("token") ?? ""

/** A failed API call, with the server's one line. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message)
  }
}

const failure = (status: number, text: string): ApiError => {
  try {
    const body: { readonly error?: unknown } = JSON.parse(text)
    return new ApiError(status, typeof body.error === "string" ? body.error : text)
  } catch {
    return new ApiError(status, text.trim() === "" ? `HTTP ${status}` : text.trim())
  }
}

// The server's answers are its own JSON: the page trusts their shape as it trusts its own code.
const call = async <A>(path: string, init: RequestInit): Promise<A> => {
  const res = await fetch(path, { ...init, headers: { ...init.headers, "x-arawn-token": token }, credentials: "omit" })
  const text = await res.text()
  if (!res.ok) throw failure(res.status, text)
  const body: A = JSON.parse(text)
  return body
}

/** GET `path` with `params` (empty values left out). */
export const get = <A>(path: string, params: Readonly<Record<string, string | number | undefined>> = {}): Promise<A> => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v))
  const query = q.toString()
  return call<A>(query === "" ? path : `${path}?${query}`, { method: "GET" })
}

/** POST `body` as JSON to `path`. */
export const post = <A>(path: string, body: unknown): Promise<A> =>
  call<A>(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

/** Asks before a change: resolves true when the person confirms. */
export const confirmAction = (message: string, action: string): Promise<boolean> =>
  new Promise((resolve) => {
    const dialog = h("dialog", { "data-testid": "confirm" })
    const close = (ok: boolean) => () => {
      dialog.close()
      dialog.remove()
      resolve(ok)
    }
    fill(
      dialog,
      h("p", {}, message),
      h(
        "div",
        { class: "actions" },
        h("button", { onclick: close(false), "data-testid": "confirm-cancel" }, "Cancel"),
        h("button", { class: "danger", onclick: close(true), "data-testid": "confirm-ok" }, action)
      )
    )
    dialog.addEventListener("cancel", close(false))
    document.body.append(dialog)
    dialog.showModal()
  })

/** An ISO time as `YYYY-MM-DD HH:MM:SS` (UTC). */
export const time = (iso: string | undefined | null): string => (iso ? iso.slice(0, 19).replace("T", " ") : "")

/** A number with at most three decimals. */
export const num = (n: number | undefined | null): string =>
  n === undefined || n === null ? "–" : Number.isInteger(n) ? String(n) : n.toFixed(3)

/** Bytes in KB/MB/GB. */
export const bytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : n < 1024 ** 3 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${(n / 1024 ** 3).toFixed(2)} GB`

/** A line saying what went wrong. */
export const errorLine = (e: unknown): HTMLElement => h("p", { class: "error", "data-testid": "error" }, e instanceof Error ? e.message : String(e))
