/// <reference lib="dom" />
/**
 * The Threads view: the paged list (state, tags, counts), search across threads with snippets, and the open
 * thread with its branch tree and its messages.
 *
 * @since 0.2.0
 */
import { errorLine, fill, get, h, time } from "./dom.js"
import { messageScroller, scrollToSeq } from "./messages.js"
import { treePicture } from "./tree.js"
import type { MessageHitJson, ThreadJson, ThreadPage, Tree } from "./types.js"

const badges = (t: ThreadJson) => [h("span", { class: "badge" }, t.state), ...t.tags.map((x) => h("span", { class: "badge" }, x))]

const threadItem = (t: ThreadJson, selected: boolean, open: (id: string) => void) =>
  h(
    "div",
    { class: `thread-item${selected ? " selected" : ""}`, "data-id": t.id, "data-testid": "thread-item", onclick: () => open(t.id) },
    h("div", {}, t.title),
    h("div", { class: "meta" }, ...badges(t), `${t.messageCount} msgs${t.forkedFrom ? " · fork" : ""}`)
  )

const threadHeader = (t: ThreadJson) =>
  h(
    "div",
    { class: "panel" },
    h("h2", { "data-testid": "thread-title" }, t.title),
    h(
      "div",
      { class: "muted" },
      ...badges(t),
      `${t.messageCount} messages · ${t.id} · updated ${time(t.updatedAt)}`,
      t.forkedFrom ? ` · forked from ${t.forkedFrom.workstreamId} at #${t.forkedFrom.seq}` : ""
    )
  )

const hitItem = (x: MessageHitJson, open: (id: string, seq: number) => void) =>
  h(
    "div",
    { class: "thread-item", "data-testid": "thread-hit", onclick: () => open(x.workstreamId, x.seq) },
    h("div", { class: "meta" }, `${x.workstreamId} #${x.seq} · ${x.role} · ${time(x.timestamp)}`),
    h("div", {}, x.snippet)
  )

/** Mounts the view into `root`. */
export const threadsView = (root: HTMLElement): void => {
  const list = h("div", { class: "thread-list", "data-testid": "thread-list" })
  const hits = h("div", { "data-testid": "thread-hits" })
  const openPane = h("div", { "data-testid": "thread" }, h("p", { class: "muted" }, "Select a thread."))
  const state = h("select", {}, ...["", "active", "paused", "archived"].map((v) => h("option", { value: v }, v === "" ? "any state" : v)))
  const tag = h("input", { placeholder: "tag", size: 8 })
  const query = h("input", { placeholder: "search messages", size: 18, "data-testid": "thread-search" })
  let current: string | null = null

  const open = async (id: string, seq?: number) => {
    const started = performance.now()
    current = id
    for (const el of Array.from(list.querySelectorAll(".thread-item"))) el.classList.toggle("selected", el.getAttribute("data-id") === id)
    fill(openPane, h("p", { class: "muted" }, "loading…"))
    try {
      const [t, tree] = await Promise.all([get<ThreadJson>("/api/thread", { id }), get<Tree>("/api/thread/tree", { id })])
      if (current !== id) return
      const messages = h("div")
      fill(
        openPane,
        threadHeader(t),
        treePicture(tree, (other) => void open(other)),
        messages
      )
      messageScroller(messages, id, t.messageCount, () => {
        document.body.dataset["threadOpenMs"] = String(Math.round(performance.now() - started))
      })
      if (seq !== undefined) scrollToSeq(messages, seq)
    } catch (e) {
      fill(openPane, errorLine(e))
    }
  }

  const loadList = async (cursor?: string) => {
    if (cursor === undefined) fill(list)
    list.querySelector(".more")?.remove()
    try {
      const p = await get<ThreadPage>("/api/threads", { state: state.value, tag: tag.value.trim(), cursor })
      list.append(...p.items.map((t) => threadItem(t, t.id === current, (id) => void open(id))))
      if (p.items.length === 0 && cursor === undefined) list.append(h("p", { class: "muted" }, "no threads"))
      if (p.nextCursor !== null) {
        const next = p.nextCursor
        list.append(h("button", { class: "more", onclick: () => void loadList(next) }, "More"))
      }
    } catch (e) {
      list.append(errorLine(e))
    }
  }

  const search = async () => {
    if (query.value.trim() === "") return fill(hits)
    try {
      const r = await get<{ readonly hits: ReadonlyArray<MessageHitJson> }>("/api/threads/search", { q: query.value })
      fill(
        hits,
        h("p", { class: "muted" }, `${r.hits.length} messages`),
        ...r.hits.map((x) => hitItem(x, (id, seq) => void open(id, seq)))
      )
    } catch (e) {
      fill(hits, errorLine(e))
    }
  }

  query.addEventListener("keydown", (e) => {
    if (e.key === "Enter") void search()
  })
  state.addEventListener("change", () => void loadList())
  tag.addEventListener("change", () => void loadList())
  fill(
    root,
    h(
      "div",
      { class: "threads" },
      h("div", {}, h("div", { class: "bar" }, query, state, tag), hits, list),
      openPane
    )
  )
  void loadList()
}
