/// <reference lib="dom" />
/**
 * The inspector page's entry: the header with its three views (Memories, Threads, Store), which are built when
 * first shown and kept while the page lives.
 *
 * @since 0.2.0
 */
import { errorLine, fill, get, h } from "./dom.js"
import { memoriesView } from "./memories.js"
import { storeView } from "./store.js"
import { threadsView } from "./threads.js"
import type { Info } from "./types.js"

const start = async () => {
  const app = document.getElementById("app")
  if (app === null) return
  let info: Info
  try {
    info = await get<Info>("/api/info")
  } catch (e) {
    return fill(app, errorLine(e))
  }
  const views = {
    memories: (el: HTMLElement) => memoriesView(el, info),
    threads: threadsView,
    store: (el: HTMLElement) => void storeView(el)
  }
  const panes = new Map<string, HTMLElement>()
  const main = h("main")
  const tabs = Object.keys(views).map((name) => h("button", { "data-view": name, "data-testid": `tab-${name}` }, name[0]!.toUpperCase() + name.slice(1)))
  const show = (name: keyof typeof views) => {
    for (const t of tabs) t.classList.toggle("active", t.dataset["view"] === name)
    for (const [k, p] of panes) p.hidden = k !== name
    if (!panes.has(name)) {
      const pane = h("section", { "data-testid": `view-${name}` })
      panes.set(name, pane)
      main.append(pane)
      views[name](pane)
    } else if (name === "store") void storeView(panes.get(name)!)
  }
  for (const t of tabs) {
    const name = t.dataset["view"]
    if (name === "memories" || name === "threads" || name === "store") t.addEventListener("click", () => show(name))
  }
  fill(
    app,
    h(
      "header",
      {},
      h("h1", {}, "arawn-store"),
      h("nav", {}, ...tabs),
      h(
        "span",
        { class: "where" },
        info.readOnly ? h("span", { class: "badge ro", "data-testid": "read-only" }, "read-only") : null,
        info.namespace !== null ? h("span", { class: "badge" }, `namespace ${info.namespace}`) : null,
        info.location
      )
    ),
    main
  )
  show("memories")
}

void start()
