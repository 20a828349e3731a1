/// <reference lib="dom" />
/**
 * A thread's messages, newest last, in a virtual scroller: rows have one fixed height, only the rows in view (and a
 * few around them) exist in the page, and messages are fetched in windows of seqs as they come into view, so a
 * thread of any length opens with one small request and scrolls without holding the log. A row shows the start of
 * its content; clicking it unfolds the whole message below the scroller.
 *
 * @since 0.2.0
 */
import { fill, get, h, time } from "./dom.js"
import type { MessageJson } from "./types.js"

const ROW = 56
const WINDOW = 200
const OVERSCAN = 10

/** The whole of a message, for the pane below the scroller. */
const unfolding = (m: MessageJson) => [
  h("h2", {}, `#${m.seq} ${m.role}`, h("span", { class: "muted" }, ` ${time(m.timestamp)}${m.sessionId ? ` · session ${m.sessionId}` : ""}`)),
  h("pre", { "data-testid": "message-content" }, m.content),
  m.metadata ? h("pre", { class: "muted" }, JSON.stringify(m.metadata, null, 2)) : null
]

/** The row of message `seq` at its place in the scroller: folded to its first line, or a placeholder while it loads. */
const messageRow = (seq: number, m: MessageJson | undefined, unfold: (m: MessageJson) => void) => {
  const el = m === undefined
    ? h("div", { class: "msg loading" }, `#${seq} …`)
    : h(
      "div",
      { class: `msg ${m.role}`, "data-seq": seq, "data-testid": "message", title: m.content.length > 200 ? "click to unfold" : undefined },
      h("div", { class: "head" }, h("span", { class: "role" }, m.role), `#${seq} · ${time(m.timestamp)}`),
      h("div", { class: "body" }, m.content.slice(0, 400))
    )
  el.style.top = `${(seq - 1) * ROW}px`
  if (m !== undefined) el.addEventListener("click", () => unfold(m))
  return el
}

/** Mounts a scroller for `count` messages of thread `id` into `root`, scrolled to the newest; `ready` runs once they show. */
export const messageScroller = (root: HTMLElement, id: string, count: number, ready: () => void): void => {
  const windows = new Map<number, ReadonlyArray<MessageJson> | "loading">()
  const spacer = h("div")
  const scroller = h("div", { class: "scroller", "data-testid": "messages" }, spacer)
  const unfolded = h("div", { class: "panel", "data-testid": "message-detail" }, h("p", { class: "muted" }, "Click a message to unfold it."))
  spacer.style.height = `${count * ROW}px`
  let drawn = false
  let pending = false

  const messageAt = (seq: number): MessageJson | undefined => {
    const w = windows.get(Math.floor((seq - 1) / WINDOW))
    return w === undefined || w === "loading" ? undefined : w.find((m) => m.seq === seq)
  }

  const load = (index: number) => {
    if (windows.has(index)) return
    windows.set(index, "loading")
    const from = index * WINDOW + 1
    get<{ readonly messages: ReadonlyArray<MessageJson> }>("/api/thread/messages", { id, from, to: Math.min(count, from + WINDOW - 1) })
      .then((r) => {
        windows.set(index, r.messages)
        schedule()
      })
      .catch(() => windows.delete(index))
  }

  const unfold = (m: MessageJson) => fill(unfolded, ...unfolding(m))
  // Rows stay in the page while they stay in view: a redraw removes only rows that left the range and placeholders
  // whose messages arrived, and adds what is missing (rows are placed absolutely, so their order in the page does
  // not matter). Each arriving window redraws the range, and a row taken out of the page, even to be put back at
  // once, between a press and its release loses the click.
  const rows = new Map<number, HTMLElement>()

  const draw = () => {
    pending = false
    const first = Math.max(1, Math.floor(scroller.scrollTop / ROW) + 1 - OVERSCAN)
    const last = Math.min(count, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW) + OVERSCAN)
    for (let i = Math.floor((first - 1) / WINDOW); i <= Math.floor((last - 1) / WINDOW); i++) load(i)
    for (const [seq, el] of rows) {
      if (seq >= first && seq <= last && !(el.classList.contains("loading") && messageAt(seq) !== undefined)) continue
      el.remove()
      rows.delete(seq)
    }
    for (let seq = first; seq <= last; seq++) {
      if (rows.has(seq)) continue
      const el = messageRow(seq, messageAt(seq), unfold)
      rows.set(seq, el)
      spacer.append(el)
    }
    if (!drawn && rows.size > 0 && Array.from(rows.values()).every((r) => !r.classList.contains("loading"))) {
      drawn = true
      ready()
    }
  }

  function schedule() {
    if (pending) return
    pending = true
    requestAnimationFrame(draw)
  }

  scroller.addEventListener("scroll", schedule, { passive: true })
  fill(root, scroller, unfolded)
  if (count === 0) {
    fill(spacer, h("p", { class: "muted", "data-testid": "no-messages" }, "No messages."))
    ready()
    return
  }
  scroller.scrollTop = scroller.scrollHeight
  schedule()
}

/** Scrolls the scroller in `root` so message `seq` is in view. */
export const scrollToSeq = (root: HTMLElement, seq: number): void => {
  const scroller = root.querySelector<HTMLElement>(".scroller")
  if (scroller !== null) scroller.scrollTop = Math.max(0, (seq - 1) * ROW - scroller.clientHeight / 2)
}
