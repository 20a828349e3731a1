/**
 * What the backend purge tests share: a namespace filled with every kind of row a memory leaves (tags, text, a
 * vector or none, history, superseded facts, a keyed row), and the check that every table is back where it was.
 */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import type { MemoryBackend } from "../../src/MemoryBackend.js"

/** Stores `count` memories and three more (two facts, one superseding the other, and a keyed one); returns how many. */
export const fillNamespace = (m: MemoryBackend["Type"], namespace: string, count: number, word: string) =>
  Effect.gen(function*() {
    const ids = yield* m.storeMany(Array.from({ length: count }, (_, i) => ({
      namespace,
      content: `${word} shared words in entry ${i}`,
      metadata: { tags: [`tag${i % 3}`] },
      ...(i % 5 === 0 ? { embed: false as const } : {})
    })))
    for (const id of ids.slice(0, 3)) yield* m.update(id, { content: `${word} shared words, edited`, metadata: { tags: ["edited"] } })
    const fact = (content: string) => ({ namespace, content: `${word} ${content}`, metadata: { subject: `s.${word}`, predicate: "is" } })
    yield* m.storeFact(fact("first value"))
    yield* m.storeFact(fact("second value"))
    yield* m.put({ namespace, key: "key", content: `${word} keyed value` })
    return count + 3
  })

/**
 * Every table's row count after the purge equals its count before the purged namespaces were filled (`exempt`
 * tables only may differ: they hold no row per memory), and the fill had added rows to the tables that hold
 * memories (so the check saw them).
 */
export const expectRestored = (
  before: ReadonlyMap<string, number>,
  filled: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  exempt: (table: string) => boolean = () => false
) => {
  expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
  const grown = [...filled].filter(([table, n]) => n > (before.get(table) ?? 0)).map(([table]) => table)
  const restored = [...after].filter(([table]) => !exempt(table)).map(([table, n]) => [table, n - before.get(table)!])
  expect(restored.filter(([, delta]) => delta !== 0)).toEqual([])
  return grown
}
