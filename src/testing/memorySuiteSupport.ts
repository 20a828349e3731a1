/** What the MemoryBackend suite's case modules share. */
import { expect } from "@effect/vitest"
import type { Effect } from "effect"
import { MemoryId, SessionId } from "../Ids.js"
import type { MemoryMatch, NewMemory } from "../Memory.js"
import type { MemoryBackend, WriteError } from "../MemoryBackend.js"
import { uuid } from "./internal.js"

/** Registers one case (on the suite's shared store, isolated); `timeout` in milliseconds. */
export type Test = (title: string, body: () => Effect.Effect<void, unknown, MemoryBackend>, timeout?: number) => void
/** Stores `inputs` in one session. */
export type Seed = (sessionId: SessionId, inputs: ReadonlyArray<Omit<NewMemory, "sessionId">>) => Effect.Effect<ReadonlyArray<MemoryId>, WriteError, MemoryBackend>

export const sid = (): SessionId => SessionId.make(uuid())
export const mid = (): MemoryId => MemoryId.make(uuid())

/** Every hit keeps the score contract, and the hits are in contract order. */
export const expectContract = (matches: ReadonlyArray<MemoryMatch>) => {
  for (const m of matches) {
    expect(m.score).toBeGreaterThanOrEqual(0)
    expect(m.score).toBeLessThanOrEqual(1)
    expect(m.explain.relevance).toBeGreaterThanOrEqual(0)
    expect(m.explain.relevance).toBeLessThanOrEqual(1)
    expect(m.score).toBeCloseTo(m.explain.relevance * (0.9 + 0.1 * m.explain.confidence), 9)
  }
  for (let i = 1; i < matches.length; i++) {
    const a = matches[i - 1]!
    const b = matches[i]!
    expect(a.score >= b.score).toBe(true)
    if (a.score === b.score) {
      const order = b.memory.createdAt.epochMillis - a.memory.createdAt.epochMillis
      expect(order < 0 || (order === 0 && a.memory.id < b.memory.id)).toBe(true)
    }
  }
}
