/**
 * Several MCP servers on one store, as when every window of a desktop agent starts its own: 4 `arawn-store mcp`
 * processes on one directory, 50 concurrent writes each (`create_entities` and `memory_store`), one server killed
 * with SIGKILL mid-run. Every write a client saw acknowledged is in the store exactly once, and nothing is doubled.
 */
import { Chunk, Effect, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { MemoryBackend } from "../src/MemoryBackend.js"
import { ok, onMemories, stdioClient } from "./support/mcp.js"
import { tempDir } from "./support/tempDir.js"

const SERVERS = 4
const CALLS = 50
const KILLED = 2
const KILL_AFTER = 10

describe("several arawn-store mcp servers on one store", () => {
  it("keeps every acknowledged write exactly once, with one server killed mid-run", async () => {
    const dir = tempDir("arawn-mcp-many-")
    const servers = await Promise.all(Array.from({ length: SERVERS }, () => stdioClient(dir, ["--compat", "server-memory"])))
    const ackedEntities: Array<string> = []
    const ackedMemories: Array<{ readonly id: string; readonly content: string }> = []
    let refused = 0
    const write = (client: (typeof servers)[number]["client"], s: number, i: number) => async () => {
      const name = `server${s}-entity${i}`
      const content = `server ${s} wrote memory ${i}`
      const result = i % 2 === 0
        ? await client.callTool({ name: "create_entities", arguments: { entities: [{ name, entityType: "probe", observations: [`seen by ${name}`] }] } }, undefined, { timeout: 200_000 })
        : await client.callTool({ name: "memory_store", arguments: { content } }, undefined, { timeout: 200_000 })
      if (i % 2 === 0) ackedEntities.push(...ok(result).map((e: { name: string }) => e.name))
      else ackedMemories.push({ id: ok(result).id, content })
    }
    const settle = (calls: ReadonlyArray<() => Promise<void>>) =>
      Promise.allSettled(calls.map((f) => f())).then((settled) => {
        refused += settled.filter((r) => r.status === "rejected").length
      })
    const runs = servers.map(async ({ client, transport }, s) => {
      const calls = Array.from({ length: CALLS }, (_, i) => write(client, s, i))
      if (s !== KILLED) return settle(calls)
      // The killed server acknowledges its first writes, then dies with the rest sent and unanswered.
      await settle(calls.slice(0, KILL_AFTER))
      const rest = settle(calls.slice(KILL_AFTER))
      await new Promise((resolve) => setImmediate(resolve))
      process.kill(transport.pid!, "SIGKILL")
      return rest
    })
    await Promise.all(runs)
    const acknowledged = ackedEntities.length + ackedMemories.length
    expect(refused).toBeGreaterThan(0)
    expect(acknowledged + refused).toBe(SERVERS * CALLS)

    const all = await onMemories(dir, Effect.flatMap(MemoryBackend, (m) => Effect.map(Stream.runCollect(m.list()), Chunk.toReadonlyArray)))
    const times = (content: string) => all.filter((m) => m.content === content).length
    for (const { id, content } of ackedMemories) {
      expect(times(content), content).toBe(1)
      expect(all.find((m) => m.content === content)?.id).toBe(id)
    }
    for (const name of ackedEntities) {
      expect(times(`${name} is a probe`), name).toBe(1)
      expect(times(`seen by ${name}`), name).toBe(1)
    }
    // Nothing, acknowledged or not (the killed server's last writes), is stored twice.
    expect(new Set(all.map((m) => m.content)).size).toBe(all.length)
    const present = ackedMemories.filter(({ content }) => times(content) === 1).length +
      ackedEntities.filter((name) => times(`${name} is a probe`) === 1).length
    console.log(
      `mcp multi-server: ${SERVERS} servers x ${CALLS} calls, 1 SIGKILLed after ${KILL_AFTER} acks: ` +
        `${acknowledged} acknowledged, ${present} present exactly once, ${refused} refused by the kill, ${all.length} memories stored`
    )
    expect(present).toBe(acknowledged)
  }, 300_000)
})
