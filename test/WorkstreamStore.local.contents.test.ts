/**
 * The local store's largest round trip, in a file (and so a worker) of its own: ~12 s of CPU, much of it synchronous
 * SQLite that would stall every concurrent test sharing its event loop.
 */
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { WorkstreamStore } from "arawn-store"
import { MAX_MESSAGE_CONTENT } from "../src/Workstream.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { removedAfterAll } from "./support/tempDir.js"

const freshDir = () => removedAfterAll(mkdtempSync(join(tmpdir(), "arawn-ws-")))
const logOf = (dir: string, id: string) => join(dir, "workstreams", id, "messages.jsonl")
const within = <A, E>(dir: string, body: Effect.Effect<A, E, WorkstreamStore.WorkstreamStore | Local.WorkstreamIndex>) =>
  Effect.provide(body, Local.layer({ dir }))
const store = WorkstreamStore.WorkstreamStore
const metadataOf = (i: number) => ["line\u2028separator\u2029paragraph", "é🦀", "control \u0001\u001f and del \u007f", "\r\n\n\r"][i]!

describe("WorkstreamStore/Local contents", () => {
  it.effect("separators, lone surrogates, NUL and 16 MiB contents round-trip exactly through a reopen", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      const contents = [
        "line\u2028separator\u2029paragraph",
        "lone high \uD800 and lone low \uDC00 and reversed \uDC00\uD800",
        "nul \u0000 and control \u0001\u001f and del \u007f",
        "\r\n\n\r",
        "é".repeat(MAX_MESSAGE_CONTENT),
        "🦀".repeat(MAX_MESSAGE_CONTENT / 2)
      ]
      const ws = yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "unicode" })
        // Metadata is portable JSON (well-formed Unicode, no NUL), so only the contents carry the broken strings.
        const refused = yield* Effect.flip(s.storeMessage(ws.id, { role: "user", content: "x", metadata: { bad: contents[1]! } }))
        expect(refused._tag).toBe("InvalidInput")
        // Blank content is a tool's output only (any other message must say something).
        yield* s.storeMessages(ws.id, contents.slice(0, 4).map((content, i) => ({ role: i === 3 ? "tool_result" as const : "user" as const, content, metadata: { content: metadataOf(i) } })))
        yield* s.storeMessage(ws.id, { role: "tool_result", content: contents[4]! })
        yield* s.storeMessage(ws.id, { role: "tool_result", content: contents[5]! })
        return ws
      }))
      const raw = readFileSync(logOf(dir, ws.id))
      let newlines = 0
      for (let at = raw.indexOf(0x0a); at !== -1; at = raw.indexOf(0x0a, at + 1)) newlines++
      expect(newlines).toBe(6)
      yield* within(dir, Effect.gen(function*() {
        const s = yield* store
        const loaded = yield* s.loadMessages(ws.id)
        expect(loaded.length).toBe(6)
        for (const [i, m] of loaded.entries()) expect(m.content === contents[i]).toBe(true)
        expect(loaded.slice(0, 4).map((m) => m.metadata)).toEqual([0, 1, 2, 3].map((i) => ({ content: metadataOf(i) })))
        expect(yield* s.loadMessages(ws.id, { limit: 1 })).toEqual([loaded[5]])
      }))
    }), { timeout: 300_000 })
})
