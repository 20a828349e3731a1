import { Effect, Option } from "effect"
import type { SessionId } from "../../Ids.js"
import type { Session } from "../../Session.js"
import type { Driver } from "./driver.js"
import { stamp } from "./codec.js"
import type { Resolved } from "./options.js"

interface Entry {
  readonly session: Session
  readonly touched: number
}

/**
 * The driver behind `layerMemory`: an insertion-ordered `Map` (re-inserting on access keeps LRU order) with a
 * sliding TTL read from Effect's `Clock`, so `TestClock` drives expiry. Plain code on purpose, so the double is
 * easy to trust; the kernel does everything else exactly as for the real backends.
 */
export const memoryDriver = ({ capacity, ttlMillis }: Resolved): Driver => {
  const entries = new Map<SessionId, Entry>()
  const expired = (e: Entry, now: number) => ttlMillis !== undefined && now - e.touched > ttlMillis
  const live = (id: SessionId, now: number): Entry | undefined => {
    const e = entries.get(id)
    if (e === undefined) return undefined
    if (expired(e, now)) {
      entries.delete(id)
      return undefined
    }
    return e
  }
  const purge = (now: number) => {
    for (const [id, e] of entries) if (expired(e, now)) entries.delete(id)
  }
  const withNow = <A>(f: (now: number) => A) => Effect.clockWith((clock) => Effect.map(clock.currentTimeMillis, f))

  return {
    backend: "memory",
    get: (id) =>
      withNow((now) => {
        const e = live(id, now)
        if (e === undefined) return Option.none()
        entries.delete(id)
        entries.set(id, { session: e.session, touched: now })
        return Option.some(e.session)
      }),
    set: (id, session, expected) =>
      withNow((now) => {
        const current = live(id, now)?.session.version ?? 0
        if (expected !== undefined && expected !== current) return Option.some(String(current))
        stamp(session, current + 1)
        entries.delete(id)
        if (entries.size >= capacity) {
          purge(now)
          for (const oldest of entries.keys()) {
            if (entries.size < capacity) break
            entries.delete(oldest)
          }
        }
        entries.set(id, { session, touched: now })
        return Option.none()
      }),
    remove: (id) =>
      withNow((now) => {
        const e = live(id, now)
        entries.delete(id)
        return Option.map(Option.fromNullable(e), (found) => found.session)
      }),
    has: (id) => withNow((now) => live(id, now) !== undefined),
    size: withNow((now) => {
      purge(now)
      return entries.size
    })
  }
}
