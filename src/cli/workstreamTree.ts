/**
 * `arawn-store workstream tree <id>`: a workstream and every fork below it, as an indented tree (or nested JSON):
 * which branch shares which messages, and which forks are copies.
 *
 * @since 0.1.0
 */
import { Args, Command } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { NotFound } from "../Errors.js"
import { WorkstreamId } from "../Ids.js"
import { decodeInput } from "../internal/decode.js"
import type { Workstream } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { printJson } from "./output.js"
import { jsonOutput, withWorkstreams } from "./root.js"

/** One node of the tree as JSON. */
interface Node {
  readonly id: string
  readonly title: string
  readonly messageCount: number
  readonly forkedFrom?: { readonly workstreamId: string; readonly seq: number; readonly shared: boolean }
  readonly branches: ReadonlyArray<Node>
}

const childrenOf = (all: ReadonlyArray<Workstream>, id: string) => all.filter((w) => w.forkedFrom?.workstreamId === id)

const nodeOf = (all: ReadonlyArray<Workstream>, w: Workstream): Node => ({
  id: w.id,
  title: w.title,
  messageCount: w.messageCount,
  ...(w.forkedFrom !== undefined
    ? { forkedFrom: { workstreamId: w.forkedFrom.workstreamId, seq: w.forkedFrom.seq, shared: w.forkedFrom.shared === true } }
    : {}),
  branches: childrenOf(all, w.id).map((c) => nodeOf(all, c))
})

const label = (w: Workstream) => {
  const how = w.forkedFrom === undefined ? "" : w.forkedFrom.shared === true ? ` (branch at ${w.forkedFrom.seq})` : ` (copy of 1..${w.forkedFrom.seq})`
  return `${w.id}  ${JSON.stringify(w.title)}  ${w.messageCount} message${w.messageCount === 1 ? "" : "s"}${how}`
}

/** The tree under `root` as lines, box-drawn. @category formatting */
export const treeLines = (root: Workstream, below: ReadonlyArray<Workstream>): ReadonlyArray<string> => {
  const lines = [label(root)]
  const walk = (id: string, indent: string) => {
    const children = childrenOf(below, id)
    children.forEach((c, i) => {
      const last = i === children.length - 1
      lines.push(`${indent}${last ? "└─ " : "├─ "}${label(c)}`)
      walk(c.id, `${indent}${last ? "   " : "│  "}`)
    })
  }
  walk(root.id, "")
  return lines
}

/** `arawn-store workstream tree`. @category commands */
export const tree = Command.make("tree", {
  id: Args.text({ name: "id" }).pipe(Args.withDescription("Workstream id"))
}, (o) =>
  withWorkstreams("read")(Effect.gen(function*() {
    const method = "workstream tree"
    const id = yield* decodeInput(WorkstreamId, method)(o.id)
    const store = yield* WorkstreamStore
    const root = yield* store.get(id)
    if (Option.isNone(root)) return yield* new NotFound({ entity: "workstream", id })
    const below = yield* store.listBranches(id)
    if (yield* jsonOutput) return yield* printJson(nodeOf(below, root.value))
    yield* Console.log(treeLines(root.value, below).join("\n"))
  }))).pipe(Command.withDescription("Show a workstream and every fork below it: branches (shared messages) and copies"))
