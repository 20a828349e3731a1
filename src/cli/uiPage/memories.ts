/// <reference lib="dom" />
/**
 * The Memories view: filters (with a checked `where` editor), the keyset-paged list, search with each hit's
 * explain bars, and the selected memory's detail beside them.
 *
 * @since 0.2.0
 */
import { errorLine, fill, get, h, num, time } from "./dom.js"
import { showDetail } from "./memoryDetail.js"
import type { Explain, Hit, Info, MemoryJson, MemoryPage } from "./types.js"

const TYPES = ["user_message", "assistant_message", "tool_use", "file_content", "note", "fact", "web_content", "thought", "summary"]
const SOURCES = ["stated", "observed", "inferred", "system"]

const clip = (text: string, n: number) => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= n ? flat : `${flat.slice(0, n - 1)}…`
}

const options = (values: ReadonlyArray<string>, any: string) => [h("option", { value: "" }, any), ...values.map((v) => h("option", { value: v }, v))]

/** A `datetime-local` value (the person's local time) as an ISO instant. */
const isoOf = (local: string) => (local === "" ? "" : new Date(local).toISOString())

/** The explain of a hit as three small bars, the numbers on hover. */
export const explainBars = (score: number, e: Explain): HTMLElement => {
  const bar = (label: string, kind: string, value: number | undefined, title: string) => [
    h("span", {}, label),
    h("div", { class: "track", title, "data-testid": `bar-${kind}` }, h("div", { class: `fill ${kind}`, "data-value": num(value ?? 0) }))
  ]
  const vector = `vector: rank ${e.vectorRank ?? "–"}, distance ${num(e.vectorDistance)}, relevance ${num(e.vectorRelevance)}`
  const text = `text: rank ${e.textRank ?? "–"}, BM25 ${num(e.textScore)}, relevance ${num(e.textRelevance)}`
  const conf = `confidence ${num(e.confidence)}; relevance ${num(e.relevance)} (${e.mode}); score ${num(score)}`
  const el = h(
    "div",
    { class: "explain", "data-testid": "explain" },
    bar("vec", "vec", e.vectorRelevance, vector),
    bar("text", "text", e.textRelevance, text),
    bar("conf", "conf", e.confidence, conf)
  )
  for (const fillEl of Array.from(el.querySelectorAll<HTMLElement>(".fill"))) {
    fillEl.style.width = `${Math.round(Math.min(1, Math.max(0, Number(fillEl.dataset["value"]))) * 100)}%`
  }
  return el
}

/** The filter bar, and what it currently asks for (as query parameters). */
const filterBar = (info: Info, apply: () => void) => {
  const namespace = h("input", { placeholder: info.namespace ?? "all", disabled: info.namespace !== null, size: 10 })
  const type = h("select", {}, ...options(TYPES, "any type"))
  const tags = h("input", { placeholder: "a,b (all of)", size: 12 })
  const source = h("select", {}, ...options(SOURCES, "any source"))
  const session = h("input", { placeholder: "session id", size: 12 })
  const thread = h("input", { placeholder: "thread id", size: 10 })
  const since = h("input", { type: "datetime-local" })
  const until = h("input", { type: "datetime-local" })
  const superseded = h("input", { type: "checkbox" })
  const where = h("textarea", { class: "where-editor", placeholder: "where, e.g. {\"extra.project\": \"atlas\"}", "data-testid": "where" })
  const whereError = h("div", { class: "error", "data-testid": "where-error" })
  // The server checks the filter as it is typed (the store's own parser), the newest check winning.
  let checking = 0
  where.addEventListener("input", () => {
    const mine = ++checking
    const text = where.value.trim()
    setTimeout(async () => {
      if (mine !== checking) return
      const r = text === "" ? { ok: true } : await get<{ ok: boolean; error?: string }>("/api/where", { where: text })
      if (mine !== checking) return
      where.classList.toggle("invalid", !r.ok)
      whereError.textContent = r.ok ? "" : r.error ?? "invalid"
    }, 250)
  })
  const labelled = (label: string, ...els: ReadonlyArray<HTMLElement>) => h("label", {}, label, ...els)
  const bar = h(
    "div",
    { class: "bar" },
    labelled("namespace", namespace),
    labelled("type", type),
    labelled("tags", tags),
    labelled("source", source),
    labelled("session", session),
    labelled("thread", thread),
    labelled("since", since),
    labelled("until", until),
    labelled("superseded", superseded),
    labelled("where", where, whereError),
    h("button", { class: "primary", onclick: apply, "data-testid": "apply" }, "Apply")
  )
  const values = () => ({
    namespace: namespace.value.trim(),
    type: type.value,
    tags: tags.value.trim(),
    source: source.value,
    session: session.value.trim(),
    thread: thread.value.trim(),
    since: isoOf(since.value),
    until: isoOf(until.value),
    where: where.value.trim(),
    superseded: superseded.checked ? "1" : ""
  })
  return { bar, values }
}

type Row = (m: MemoryJson, cells: ReadonlyArray<HTMLElement>) => HTMLElement

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<HTMLElement>) =>
  h("table", {}, h("thead", {}, h("tr", {}, ...header.map((c) => h("th", {}, c)))), h("tbody", {}, ...rows))

const contentCell = (m: MemoryJson) => h("td", { class: "content", title: clip(m.content, 400) }, clip(m.content, 200))

const listTable = (items: ReadonlyArray<MemoryJson>, row: Row) =>
  table(["created", "type", "source", "content", "tags"], items.map((m) =>
    row(m, [
      h("td", {}, time(m.createdAt)),
      h("td", {}, m.contentType),
      h("td", {}, m.confidence.source),
      contentCell(m),
      h("td", {}, (m.metadata.tags ?? []).join(", "))
    ])))

const hitsTable = (hits: ReadonlyArray<Hit>, row: Row) =>
  table(["score", "why", "type", "content"], hits.map((hit) =>
    row(hit.memory, [
      h("td", { class: "num" }, num(hit.score)),
      h("td", {}, explainBars(hit.score, hit.explain)),
      h("td", {}, hit.memory.contentType),
      contentCell(hit.memory)
    ])))

const button = (label: string, testid: string, disabled: boolean, onclick: () => void) =>
  h("button", { disabled, "data-testid": testid, onclick }, label)

/** Mounts the view into `root`. */
export const memoriesView = (root: HTMLElement, info: Info): void => {
  const query = h("input", { placeholder: "search memories", size: 28, "data-testid": "search-input" })
  const mode = h("select", { "data-testid": "search-mode" }, ...["hybrid", "vector", "text"].map((m) => h("option", { value: m }, m)))
  const size = h("select", { "data-testid": "page-size" }, ...[50, 100, 200].map((n) => h("option", { value: n }, `${n} a page`)))
  const results = h("div", { "data-testid": "results" })
  const detail = h("div", { class: "panel", "data-testid": "detail" }, h("p", { class: "muted" }, "Select a memory to see its detail and history."))
  // Page n starts after cursors[n]; the total is counted with the first page.
  let cursors: Array<string | null> = [null]
  let page = 0
  let total: number | null = null
  let searching = false
  let selected: string | null = null

  const row: Row = (m, cells) => {
    const tr = h("tr", { class: `row${m.id === selected ? " selected" : ""}`, "data-id": m.id, "data-testid": "memory-row" }, ...cells)
    tr.addEventListener("click", () => {
      selected = m.id
      for (const r of Array.from(results.querySelectorAll(".selected"))) r.classList.remove("selected")
      tr.classList.add("selected")
      void showDetail(detail, m.id, info, refresh)
    })
    return tr
  }
  const show = async (loading: string, read: () => Promise<ReadonlyArray<HTMLElement>>) => {
    fill(results, h("p", { class: "muted" }, loading))
    try {
      fill(results, ...(await read()))
    } catch (e) {
      fill(results, errorLine(e))
    }
  }
  const showList = () => {
    searching = false
    return show("loading…", async () => {
      const p = await get<MemoryPage>("/api/memories", { ...filters.values(), limit: size.value, cursor: cursors[page] ?? undefined })
      if (p.nextCursor !== null) cursors = [...cursors.slice(0, page + 1), p.nextCursor]
      if (p.total !== null) total = p.total
      const from = page * Number(size.value)
      const shown = p.items.length === 0 ? "no memories" : `${from + 1}–${from + p.items.length}${total !== null ? ` of ${total}` : ""}`
      const turn = (by: number) => () => {
        page += by
        void showList()
      }
      return [
        h("div", { class: "pager" }, button("← Newer", "newer", page === 0, turn(-1)), button("Older →", "older", p.nextCursor === null, turn(1)),
          h("span", { "data-testid": "page-info" }, shown)),
        listTable(p.items, row)
      ]
    })
  }
  const showSearch = () => {
    searching = true
    return show("searching…", async () => {
      const r = await get<{ readonly hits: ReadonlyArray<Hit> }>("/api/memories/search", { ...filters.values(), q: query.value, mode: mode.value, limit: 50 })
      return [h("div", { class: "pager" }, h("span", { "data-testid": "page-info" }, `${r.hits.length} hits (${mode.value})`)), hitsTable(r.hits, row)]
    })
  }
  /** Shows what is on screen again (after a change), keeping the page. */
  const refresh = () => {
    total = null
    void (searching ? showSearch() : showList())
  }
  const apply = () => {
    cursors = [null]
    page = 0
    total = null
    void (query.value.trim() === "" ? showList() : showSearch())
  }
  const filters = filterBar(info, apply)
  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter") apply()
  })
  size.addEventListener("change", apply)
  const clear = () => {
    query.value = ""
    apply()
  }
  fill(
    root,
    filters.bar,
    h("div", { class: "bar" }, query, mode, button("Search", "search", false, apply), button("Clear", "clear", false, clear), size),
    h("div", { class: "split" }, results, detail)
  )
  void showList()
}
