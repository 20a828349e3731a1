import { Clock, Duration, Effect, Either, Layer, Option } from "effect"
import { SessionStore } from "arawn-store"

// A backend is a driver: the storage primitives, here over a Map of JSON texts with an expiry each. The kernel
// (SessionStore.makeEncoded) does the rest of the contract: ids, encoding, decoding, versions, errors, spans.
export const layer = (options: SessionStore.CacheOptions) =>
  Layer.sync(SessionStore.SessionStore, () => {
    const ttl = options.ttl === undefined ? Infinity : Duration.toMillis(options.ttl)
    const entries = new Map<string, { text: string; expiresAt: number }>()
    // Each primitive must be atomic: it reads the clock once, then does all its work in one synchronous step.
    const atomically = <A>(f: (now: number) => A) => Effect.map(Clock.currentTimeMillis, f)
    const live = (id: string, now: number) => {
      const entry = entries.get(id)
      // Gone once untouched for longer than the TTL: at exactly the TTL it still lives.
      if (entry !== undefined && entry.expiresAt < now) entries.delete(id)
      return entry !== undefined && entry.expiresAt >= now ? entry : undefined
    }
    const driver: SessionStore.EncodedDriver = {
      backend: "map",
      locate: (id) => `map:${id}`,
      get: (id) =>
        atomically((now) => {
          const entry = live(id, now)
          if (entry !== undefined) entry.expiresAt = now + ttl
          return Option.fromNullable(entry?.text)
        }),
      set: (id, text, expected) =>
        atomically((now) => {
          const entry = live(id, now)
          const version = entry === undefined ? 0 : SessionStore.versionOf(entry.text) ?? "unreadable"
          if (expected !== undefined && expected !== version) return Option.some(String(version))
          const next = typeof version === "number" ? version + 1 : 1
          entries.set(id, { text: `${text.head}${next}${text.tail}`, expiresAt: now + ttl })
          return Option.none()
        }),
      remove: (id, read) =>
        Effect.flatMap(atomically((now) => {
          const entry = live(id, now)
          if (entry === undefined) return Either.right(Option.none())
          const value = read(entry.text)
          if (Either.isRight(value)) entries.delete(id)
          return Either.map(value, Option.some)
        }), (result) => result),
      has: (id) => atomically((now) => live(id, now) !== undefined),
      size: atomically((now) => [...entries.values()].filter((e) => e.expiresAt >= now).length)
    }
    return SessionStore.makeEncoded(driver)
  })
