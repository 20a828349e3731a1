/** `arawn-store workstream retention` and `workstream prune`, through the compiled binary. */
import { describe, expect, it } from "vitest"
import { Effect } from "effect"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { cli } from "./support/cli.js"
import { tempDir } from "./support/tempDir.js"

const SLOW = 240_000

/** A store with one workstream of six messages, the first four summarized. */
const seeded = (dir: string) =>
  Effect.runPromise(Effect.provide(
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* s.create({ title: "long thread", tags: ["namespace:team"] })
      yield* s.storeMessages(ws.id, [1, 2, 3, 4, 5, 6].map((i) => ({ role: "user" as const, content: `turn ${i}` })))
      yield* s.summarize(ws.id, { fromSeq: 1, toSeq: 4, content: "turns 1 to 4" })
      return ws.id
    }),
    Local.layer({ dir })
  ))

describe("arawn-store workstream retention and prune", () => {
  it("retention set/show/clear a policy; prune removes what a summary covers and says why it kept the rest", async () => {
    const dir = tempDir("arawn-cli-retention-")
    const id = await seeded(dir)
    const set = await cli(["--dir", dir, "--json", "workstream", "retention", "set", "--tag", "namespace:team", "--max-messages", "1", "--max-age", "30 days"])
    expect(set.code, set.stderr).toBe(0)
    expect(JSON.parse(set.stdout).policy).toEqual({ maxMessages: 1, maxAge: 2_592_000_000 })
    const shown = await cli(["--dir", dir, "workstream", "retention", "show", "--tag", "namespace:team"])
    expect(shown.stdout.trim()).toBe(JSON.stringify({ maxAge: 2_592_000_000, maxMessages: 1 }))
    const both = await cli(["--dir", dir, "workstream", "retention", "show", "--tag", "x", "--id", id])
    expect(both.code).not.toBe(0)
    const pruned = await cli(["--dir", dir, "--json", "workstream", "prune", "--budget", "100"])
    expect(pruned.code, pruned.stderr).toBe(0)
    const report = JSON.parse(pruned.stdout)
    expect(report.pruned).toMatchObject([{ workstreamId: id, through: 4, removed: 4 }])
    expect(report.refused[0].reason).toContain("summar")
    const text = await cli(["--dir", dir, "workstream", "prune", "--id", id])
    expect(text.stdout).toContain("0 removed; done")
    const messages = await cli(["--dir", dir, "--json", "workstream", "messages", id])
    expect(JSON.parse(messages.stdout).map((m: { readonly seq: number }) => m.seq)).toEqual([5, 6])
    const cleared = await cli(["--dir", dir, "workstream", "retention", "clear", "--tag", "namespace:team"])
    expect(cleared.code, cleared.stderr).toBe(0)
    expect((await cli(["--dir", dir, "workstream", "retention", "show", "--tag", "namespace:team"])).stdout.trim()).toBe("no policy")
  }, SLOW)
})
