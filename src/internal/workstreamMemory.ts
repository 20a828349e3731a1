/**
 * The in-memory WorkstreamStore driver behind `WorkstreamStore.layerMemory`. Every primitive runs synchronously, so
 * each is atomic with respect to every other fiber.
 */
import { Effect, Either, Option } from "effect"
import type { WorkstreamId } from "../Ids.js"
import { Message } from "../Workstream.js"
import type { Workstream } from "../Workstream.js"
import type { Driver } from "../WorkstreamStore.js"
import { after, byRecency, emptied, lastN, messageMatches, withAppended } from "./workstream.js"

interface Entry {
  workstream: Workstream
  log: Array<Message>
  readonly ids: Set<string>
}

export const makeMemoryDriver = (): Driver => {
  const entries = new Map<WorkstreamId, Entry>()

  const update: Driver["update"] = (id, modify) =>
    Effect.suspend(() => {
      const entry = entries.get(id)
      if (entry === undefined) return Effect.succeed(Option.none())
      const next = modify(entry.workstream)
      if (Either.isLeft(next)) return Effect.fail(next.left)
      entry.workstream = next.right
      return Effect.succeed(Option.some(next.right))
    })

  return {
    backend: "memory",
    insert: (ws) =>
      Effect.sync(() => {
        if (entries.has(ws.id)) return Option.none()
        entries.set(ws.id, { workstream: ws, log: [], ids: new Set() })
        return Option.some(ws)
      }),
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(entries.get(id)), (e) => e.workstream)),
    list: (q) =>
      Effect.sync(() =>
        Array.from(entries.values(), (e) => e.workstream)
          .filter((ws) =>
            (q.state === undefined || ws.state === q.state) &&
            (q.tag === undefined || ws.tags.includes(q.tag)) &&
            (q.after === undefined || after(ws, { millis: q.after.updatedAtMillis, id: q.after.id }))
          )
          .sort(byRecency)
          .slice(0, q.limit)
      ),
    update,
    delete: (id) => Effect.sync(() => void entries.delete(id)),
    append: (id, request) =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry === undefined) return { _tag: "NotFound" } as const
        const taken = request.ids.find((m) => entry.ids.has(m))
        if (taken !== undefined) return { _tag: "DuplicateId", id: taken } as const
        const messages = request.seal(entry.log.length + 1)
        entry.log.push(...messages)
        for (const m of messages) entry.ids.add(m.id)
        entry.workstream = withAppended(entry.workstream, messages.length, messages[messages.length - 1]!.timestamp, request.now)
        return { _tag: "Appended", messages } as const
      }),
    load: (id, query) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(entries.get(id)), (e) => lastN(e.log.filter((m) => messageMatches(m, query)), query.limit))
      ),
    promote: (request) =>
      Effect.sync(() => {
        const source = entries.get(request.source)
        if (source === undefined || source.log.length === 0) return Option.none()
        const last = source.log[source.log.length - 1]!
        const target = request.target({ count: source.log.length, lastMessageAt: last.timestamp })
        const log = source.log.map((m) => new Message({ ...m, workstreamId: target.id }, true))
        entries.set(target.id, { workstream: target, log, ids: new Set(source.ids) })
        source.log = []
        source.ids.clear()
        source.workstream = emptied(source.workstream, request.now)
        return Option.some(target)
      })
  }
}
