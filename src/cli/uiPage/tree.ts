/// <reference lib="dom" />
/**
 * A thread's branch tree as a picture: the root on the left, each fork one column to the right of its source, a
 * row per thread in depth-first order, and the edge labelled with the seq it branched at. Clicking a node opens
 * that thread. Built from fork lineage only (`parent` + `atSeq`), so any store that records where a thread came
 * from draws the same tree.
 *
 * @since 0.2.0
 */
import { h, s } from "./dom.js"
import type { Tree, TreeNode } from "./types.js"

const COL = 150
const ROWH = 30

/** The picture of `tree`, or nothing when the thread has no forks and no source. */
export const treePicture = (tree: Tree, open: (id: string) => void): HTMLElement | null => {
  if (tree.nodes.length <= 1) return null
  const children = new Map<string, Array<TreeNode>>()
  for (const n of tree.nodes) {
    if (n.parent === null) continue
    children.set(n.parent, [...(children.get(n.parent) ?? []), n])
  }
  const placed: Array<{ readonly node: TreeNode; readonly x: number; readonly y: number }> = []
  const at = new Map<string, { readonly x: number; readonly y: number }>()
  const visit = (n: TreeNode, depth: number) => {
    const p = { x: 14 + depth * COL, y: 16 + placed.length * ROWH }
    placed.push({ node: n, ...p })
    at.set(n.id, p)
    for (const c of (children.get(n.id) ?? []).sort((a, b) => (a.atSeq ?? 0) - (b.atSeq ?? 0))) visit(c, depth + 1)
  }
  const root = tree.nodes.find((n) => n.id === tree.root)
  if (root === undefined) return null
  visit(root, 0)
  const width = Math.max(...placed.map((p) => p.x)) + COL + 20
  const height = placed.length * ROWH + 10
  const edges = placed.flatMap(({ node, x, y }) => {
    const from = node.parent === null ? undefined : at.get(node.parent)
    if (from === undefined) return []
    return [
      s("path", { d: `M${from.x},${from.y} V${y} H${x}` }),
      s("text", { x: from.x + 6, y: y - 4, class: "muted" }, `@${node.atSeq ?? "?"}`)
    ]
  })
  const nodes = placed.map(({ node, x, y }) =>
    s(
      "g",
      {
        class: `node${node.id === tree.current ? " current" : ""}`,
        "data-id": node.id,
        "data-testid": "tree-node",
        onclick: () => open(node.id)
      },
      s("circle", { cx: x, cy: y, r: 6 }),
      s("text", { x: x + 10, y: y + 4 }, `${node.title.length > 22 ? `${node.title.slice(0, 21)}…` : node.title} (${node.messageCount})`),
      s("title", {}, `${node.id}: ${node.title}, ${node.messageCount} messages, ${node.state}`)
    )
  )
  const svg = s("svg", { class: "tree", width, height, viewBox: `0 0 ${width} ${height}`, "data-testid": "tree" }, ...edges, ...nodes)
  return h("div", { class: "panel" }, h("h2", {}, "Branches"), svg, tree.cut ? h("p", { class: "muted" }, "(only the first 500 threads shown)") : null)
}
