/**
 * The retry cases of the WorkstreamStore conformance suite: an append retried with the ids it gave returns what
 * is stored when it is the same write, and is InvalidInput when it differs; either way nothing more is written.
 * Registered by `WorkstreamStoreSuite.suite`.
 */
import { expect } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, TestClock } from "effect"
import { SessionId } from "../Ids.js"
import type { WorkstreamId } from "../Ids.js"
import type { NewMessage } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { outcome, uuid } from "./internal.js"
import type { Cases } from "./workstreamMessageCases.js"

/** The workstream's count, updatedAt and message ids, to show a refused or retried append wrote nothing. */
const snapshot = (id: WorkstreamId) =>
  Effect.gen(function*() {
    const s = yield* WorkstreamStore
    const ws = Option.getOrThrow(yield* s.get(id))
    return { count: ws.messageCount, updatedAt: ws.updatedAt.epochMillis, ids: (yield* s.loadMessages(id)).map((m) => m.id) }
  })

export const retryCases = ({ fresh, test }: Cases): void => {

  test("storeMessage retried with the same id and fields returns the stored message and stores no second copy", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const input: NewMessage = {
        id: uuid(),
        role: "assistant",
        content: "answer ✓\nline two",
        sessionId: SessionId.make(uuid()),
        metadata: { model: "m1", usage: { input: 3, output: 5 }, tools: ["grep", null] }
      }
      const first = yield* s.storeMessage(ws.id, input)
      const before = yield* snapshot(ws.id)
      yield* TestClock.adjust(Duration.minutes(5))
      // The store's own timestamp does not count, nor the order of the metadata's keys.
      const retried = yield* s.storeMessage(ws.id, { ...input, metadata: { tools: ["grep", null], usage: { output: 5, input: 3 }, model: "m1" } })
      expect(retried).toEqual(first)
      expect(yield* s.storeMessages(ws.id, [input])).toEqual([first])
      expect(yield* snapshot(ws.id)).toEqual(before)
      expect(before.count).toBe(1)
    }))

  test("storeMessage retried with the same id but other fields is InvalidInput and writes nothing", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const timestamp = DateTime.unsafeMake("2026-03-06T03:03:16.601Z")
      const input: NewMessage = { id: uuid(), role: "user", content: "hello", metadata: { a: 1 }, timestamp }
      const first = yield* s.storeMessage(ws.id, input)
      const before = yield* snapshot(ws.id)
      const { metadata: _m, ...withoutMetadata } = input
      const variants: ReadonlyArray<NewMessage> = [
        { ...input, role: "assistant" },
        { ...input, content: "hello " },
        { ...input, sessionId: SessionId.make(uuid()) },
        { ...input, metadata: { a: 2 } },
        { ...input, metadata: { a: 1, b: null } },
        withoutMetadata,
        { ...input, timestamp: DateTime.add(timestamp, { millis: 1 }) }
      ]
      for (const variant of variants) {
        const e = yield* Effect.flip(s.storeMessage(ws.id, variant))
        expect(e._tag).toBe("InvalidInput")
        expect(e.message).toContain(first.id)
      }
      expect(yield* snapshot(ws.id)).toEqual(before)
      // The timestamp the store gave counts only when the caller gave one: without it, this is the same write.
      const { timestamp: _t, ...withoutTimestamp } = input
      expect(yield* s.storeMessage(ws.id, withoutTimestamp)).toEqual(first)
    }))

  test("storeMessages retried whole returns the stored batch; a batch mixing stored and new messages is InvalidInput", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const batch: ReadonlyArray<NewMessage> = [
        { id: uuid(), role: "user", content: "question" },
        { id: uuid(), role: "assistant", content: "answer", metadata: { tokens: 7 } }
      ]
      const stored = yield* s.storeMessages(ws.id, batch)
      const before = yield* snapshot(ws.id)
      yield* TestClock.adjust(Duration.seconds(30))
      expect(yield* s.storeMessages(ws.id, batch)).toEqual(stored)
      // Each message is the same write, whatever batch it comes in.
      expect(yield* s.storeMessages(ws.id, [batch[1]!])).toEqual([stored[1]])
      expect(yield* s.storeMessage(ws.id, batch[0]!)).toEqual(stored[0])
      const mixes: ReadonlyArray<ReadonlyArray<NewMessage>> = [
        [...batch, { id: uuid(), role: "user", content: "follow-up" }],
        [batch[0]!, { role: "user", content: "no id" }],
        [{ role: "user", content: "no id" }, batch[1]!],
        [batch[0]!, { ...batch[1]!, content: "another answer" }]
      ]
      for (const mix of mixes) expect(yield* outcome(s.storeMessages(ws.id, mix))).toBe("InvalidInput")
      expect(yield* snapshot(ws.id)).toEqual(before)
      expect(before.count).toBe(2)
    }))

  test("concurrent retries of one write store it once and each returns it", () =>
    Effect.gen(function*() {
      const s = yield* WorkstreamStore
      const ws = yield* fresh()
      const input: NewMessage = { id: uuid(), role: "user", content: "sent twice", metadata: { attempt: "same" } }
      const results = yield* Effect.forEach(
        Array.from({ length: 6 }, () => input),
        (m) => s.storeMessage(ws.id, m),
        { concurrency: "unbounded" }
      )
      const loaded = yield* s.loadMessages(ws.id)
      expect(loaded.length).toBe(1)
      for (const r of results) expect(r).toEqual(loaded[0])
      expect(Option.getOrThrow(yield* s.get(ws.id)).messageCount).toBe(1)
    }))
}
