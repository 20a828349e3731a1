/** Per-namespace counts over memories held in process (the in-memory and encoded drivers' `namespaces`). */
import type { Memory } from "../Memory.js"
import type { NamespaceCount } from "../MemoryNamespaces.js"

export const countNamespaces = (memories: ReadonlyArray<Memory>): ReadonlyArray<NamespaceCount> => {
  const counts = new Map<string, { memories: number; embedded: number; updatedAtMillis: number }>()
  for (const m of memories) {
    const c = counts.get(m.namespace) ?? { memories: 0, embedded: 0, updatedAtMillis: -Infinity }
    c.memories++
    if (m.embed !== false) c.embedded++
    c.updatedAtMillis = Math.max(c.updatedAtMillis, m.updatedAt.epochMillis)
    counts.set(m.namespace, c)
  }
  return Array.from(counts, ([namespace, c]) => ({ namespace, ...c }))
}
