/// <reference lib="dom" />
/**
 * The Store view: counts, the embedding space and whether vectors are stale, file sizes, and a chart of memories
 * and messages over time.
 *
 * @since 0.2.0
 */
import { bytes, errorLine, fill, get, h, s } from "./dom.js"
import type { StoreOverview } from "./types.js"

const card = (n: string, label: string, testid?: string) =>
  h("div", { class: "card", "data-testid": testid }, h("div", { class: "n" }, n), h("div", { class: "l" }, label))

/** Bars of memories and of messages per period, each series on its own scale (its maximum is written beside it). */
const chart = (o: StoreOverview) => {
  const W = 680
  const H = 170
  const topMemories = Math.max(1, ...o.timeline.map((b) => b.memories))
  const topMessages = Math.max(1, ...o.timeline.map((b) => b.messages))
  const band = (W - 70) / Math.max(1, o.timeline.length)
  const bars = o.timeline.flatMap((b, i) => {
    const x = 70 + i * band
    const mh = (b.memories / topMemories) * (H - 40)
    const gh = (b.messages / topMessages) * (H - 40)
    const from = b.from.slice(0, 10)
    return [
      s("rect", { class: "mem", x: x + 2, y: H - 20 - mh, width: band / 2 - 3, height: mh }, s("title", {}, `${b.memories} memories from ${from}`)),
      s("rect", { class: "msgs", x: x + band / 2, y: H - 20 - gh, width: band / 2 - 3, height: gh }, s("title", {}, `${b.messages} messages from ${from}`)),
      i % 3 === 0 ? s("text", { x, y: H - 6 }, from) : null
    ]
  })
  return s(
    "svg",
    { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-testid": "chart" },
    s("text", { x: 0, y: 24, class: "mem" }, `${topMemories} mem.`),
    s("text", { x: 0, y: 38, class: "msgs" }, `${topMessages} msg.`),
    s("text", { x: 0, y: H - 20 }, "0"),
    ...bars
  )
}

/** Mounts the view into `root`. */
export const storeView = async (root: HTMLElement): Promise<void> => {
  fill(root, h("p", { class: "muted" }, "reading the store…"))
  try {
    const o = await get<StoreOverview>("/api/store")
    fill(
      root,
      h(
        "div",
        { class: "cards" },
        card(String(o.live), "live memories", "store-memories"),
        card(String(o.memories), "memory rows (superseded too)"),
        card(String(o.vectors), "vectors"),
        card(String(o.threads), "threads", "store-threads"),
        card(String(o.messages), "messages", "store-messages"),
        card(`${o.embedder.dimensions}`, `dimensions of ${o.embedder.model}`),
        card(o.stale ? "stale" : "current", o.stale ? "vectors from another embedder: run arawn-store memory reindex" : "vectors match the embedder", "store-stale")
      ),
      h(
        "div",
        { class: "panel" },
        h("h2", {}, "Over time"),
        h("p", { class: "muted" }, "memories (blue) and messages (orange) per period, each on its own scale",
          o.timelineThreads < o.threads ? `, messages of the ${o.timelineThreads} largest threads` : ""),
        chart(o)
      ),
      o.files.length === 0 ? null : h(
        "div",
        { class: "panel" },
        h("h2", {}, "Files"),
        h("dl", { class: "fields" }, ...o.files.flatMap((f) => [h("dt", {}, f.name), h("dd", {}, bytes(f.bytes))]))
      ),
      h("p", { class: "muted" }, o.location)
    )
  } catch (e) {
    fill(root, errorLine(e))
  }
}
