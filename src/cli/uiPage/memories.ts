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

/** Mounts the view into `root`. */
export const memoriesView = (root: HTMLElement, info: Info): void => {
  const namespace = h("input", { placeholder: info.namespace ?? "all", disabled: info.namespace !== null, size: 10 })
  const type = h("select", {}, ...options(TYPES, "any type"))
  const tags = h("input", { placeholder: "a,b (all of)", size: 12 })
  const source = h("select", {}, ...options(SOURCES, "any source"))
  const since = h("input", { type: "datetime-local" })
  const until = h("input", { type: "datetime-local" })
  const superseded = h("input", { type: "checkbox" })
  const where = h("textarea", { class: "where-editor", placeholder: "where, e.g. {\"extra.project\": \"atlas\"}", "data-testid": "where" })
  const whereError = h("div", { class: "error", "data-testid": "where-error" })
  const query = h("input", { placeholder: "search memories", size: 28, "data-testid": "search-input" })
  const mode = h("select", { "data-testid": "search-mode" }, ...["hybrid", "vector", "text"].map((m) => h("option", { value: m }, m)))
  const size = h("select", { "data-testid": "page-size" }, ...[50, 100, 200].map((n) => h("option", { value: n }, `${n} a page`)))
  const results = h("div", { "data-testid": "results" })
  const detail = h("div", { class: "panel", "data-testid": "detail" }, h("p", { class: "muted" }, "Select a memory to see its detail and history."))

  let cursors: Array<string | null> = [null]
  let page = 0
  let searching = false
  let selected: string | null = null

  const filters = () => ({
    namespace: namespace.value.trim(),
    type: type.value,
    tags: tags.value.trim(),
    source: source.value,
    since: isoOf(since.value),
    until: isoOf(until.value),
    where: where.value.trim(),
    superseded: superseded.checked ? "1" : ""
  })

  const select = (m: MemoryJson, row: HTMLElement) => {
    selected = m.id
    for (const r of Array.from(results.querySelectorAll(".selected"))) r.classList.remove("selected")
    row.classList.add("selected")
    void showDetail(detail, m.id, info, refresh)
  }

  const row = (m: MemoryJson, cells: ReadonlyArray<HTMLElement>) => {
    const tr = h("tr", { class: `row${m.id === selected ? " selected" : ""}`, "data-id": m.id, "data-testid": "memory-row" }, ...cells)
    tr.addEventListener("click", () => select(m, tr))
    return tr
  }

  const showList = async () => {
    searching = false
    fill(results, h("p", { class: "muted" }, "loading…"))
    try {
      const p = await get<MemoryPage>("/api/memories", { ...filters(), limit: size.value, cursor: cursors[page] ?? undefined })
      if (p.nextCursor !== null) cursors = [...cursors.slice(0, page + 1), p.nextCursor]
      if (p.total !== null) total = p.total
      const from = page * Number(size.value)
      const older = h("button", { disabled: p.nextCursor === null, "data-testid": "older" }, "Older →")
      const newer = h("button", { disabled: page === 0, "data-testid": "newer" }, "← Newer")
      older.addEventListener("click", () => {
        page++
        void showList()
      })
      newer.addEventListener("click", () => {
        page--
        void showList()
      })
      const shown = p.items.length === 0 ? "no memories" : `${from + 1}–${from + p.items.length}${total !== null ? ` of ${total}` : ""}`
      fill(
        results,
        h("div", { class: "pager" }, newer, older, h("span", { "data-testid": "page-info" }, shown)),
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ...["created", "type", "source", "content", "tags"].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...p.items.map((m) =>
              row(m, [
                h("td", {}, time(m.createdAt)),
                h("td", {}, m.contentType),
                h("td", {}, m.confidence.source),
                h("td", { class: "content", title: clip(m.content, 400) }, clip(m.content, 200)),
                h("td", {}, (m.metadata.tags ?? []).join(", "))
              ])
            )
          )
        )
      )
    } catch (e) {
      fill(results, errorLine(e))
    }
  }
  let total: number | null = null

  const showSearch = async () => {
    searching = true
    fill(results, h("p", { class: "muted" }, "searching…"))
    try {
      const r = await get<{ readonly hits: ReadonlyArray<Hit> }>("/api/memories/search", {
        ...filters(),
        q: query.value,
        mode: mode.value,
        limit: 50
      })
      fill(
        results,
        h("div", { class: "pager" }, h("span", { "data-testid": "page-info" }, `${r.hits.length} hits (${mode.value})`)),
        h(
          "table",
          {},
          h("thead", {}, h("tr", {}, ...["score", "why", "type", "content"].map((c) => h("th", {}, c)))),
          h(
            "tbody",
            {},
            ...r.hits.map((hit) =>
              row(hit.memory, [
                h("td", { class: "num" }, num(hit.score)),
                h("td", {}, explainBars(hit.score, hit.explain)),
                h("td", {}, hit.memory.contentType),
                h("td", { class: "content", title: clip(hit.memory.content, 400) }, clip(hit.memory.content, 200))
              ])
            )
          )
        )
      )
    } catch (e) {
      fill(results, errorLine(e))
    }
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
  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter") apply()
  })
  size.addEventListener("change", apply)

  const labelled = (label: string, el: HTMLElement) => h("label", {}, label, el)
  fill(
    root,
    h(
      "div",
      { class: "bar" },
      labelled("namespace", namespace),
      labelled("type", type),
      labelled("tags", tags),
      labelled("source", source),
      labelled("since", since),
      labelled("until", until),
      h("label", {}, "superseded", superseded),
      h("label", {}, "where", where, whereError),
      h("button", { class: "primary", onclick: apply, "data-testid": "apply" }, "Apply")
    ),
    h(
      "div",
      { class: "bar" },
      query,
      mode,
      h("button", { onclick: apply, "data-testid": "search" }, "Search"),
      h("button", {
        onclick: () => {
          query.value = ""
          apply()
        }
      }, "Clear"),
      size
    ),
    h("div", { class: "split" }, results, detail)
  )
  void showList()
}
