/**
 * A model-based property test for any SessionStore: random sequences of `get`, `put` (valid, compare-and-set
 * against a drawn version, under a wrong key, with cyclic metadata), `remove`, `contains` and `size` (every
 * session read back with its version), groups of them run by concurrent fibers, and (where the backend follows
 * Effect's Clock) TestClock advances across a sliding TTL, each compared with a pure reference
 * model, with capacity eviction where the backend has one. A concurrent group passes when some sequential order
 * of it gives exactly the results the fibers saw (linearizability). fast-check shrinks a failing sequence to a
 * minimal one and prints it with its seed.
 *
 * @since 0.1.0
 */
import { FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { Clock, DateTime, Duration, Effect, Either, ManagedRuntime, Option, TestClock, TestContext } from "effect"
import type { Layer } from "effect"
import { SessionId, TurnId, WorkstreamId } from "../Ids.js"
import { Session, Turn } from "../Session.js"
import type { CacheOptions } from "../SessionStore.js"
import { SessionStore } from "../SessionStore.js"
import { untyped, uuid } from "./internal.js"
import type { Features } from "./SessionStoreSuite.js"

/** @category options */
export interface Options {
  /** Operations per Layer, concurrent ones included (default 2,000); a bench-sized run takes 10,000 or more. */
  readonly operations?: number | undefined
  /** Replays a run that failed: the seed fast-check printed. */
  readonly seed?: number | undefined
}

const KEYS = 4

type Simple =
  | { readonly op: "get" | "remove" | "contains"; readonly key: number }
  | { readonly op: "put"; readonly key: number; readonly value: number }
  /** A compare-and-set put naming `expected` as the live version. */
  | { readonly op: "putIf"; readonly key: number; readonly value: number; readonly expected: number }
  | { readonly op: "putUnderOtherKey"; readonly key: number; readonly other: number }
  | { readonly op: "putCyclic"; readonly key: number }
  | { readonly op: "size" }

/** One step of a run. @category models */
export type Command =
  | Simple
  /** Moves the TestClock by this share of the TTL (of 50 ms when there is none): 100 is exactly one TTL. */
  | { readonly op: "advance"; readonly percent: number }
  | { readonly op: "concurrently"; readonly commands: ReadonlyArray<Simple> }

/** What a call gave, in a form the model can predict: a value, a session's number, or a failure's tag. */
type Outcome = string | number | boolean

interface Entry {
  readonly value: number
  readonly touched: number
  readonly version: number
}

/** The reference: live entries in last-touch order (which is LRU order), the clock, capacity and TTL. */
class Model {
  constructor(
    readonly capacity: number,
    readonly ttl: number | undefined,
    public now = 0,
    readonly entries = new Map<number, Entry>()
  ) {}
  clone() {
    return new Model(this.capacity, this.ttl, this.now, new Map(this.entries))
  }
  private purge() {
    for (const [k, e] of this.entries) if (this.ttl !== undefined && this.now - e.touched > this.ttl) this.entries.delete(k)
  }
  apply(c: Simple): Outcome {
    this.purge()
    switch (c.op) {
      case "get": {
        const e = this.entries.get(c.key)
        if (e === undefined) return "none"
        this.entries.delete(c.key)
        this.entries.set(c.key, { ...e, touched: this.now })
        return `${e.value}@${e.version}`
      }
      case "putIf":
      case "put": {
        const version = this.entries.get(c.key)?.version ?? 0
        if (c.op === "putIf" && c.expected !== version) return "Conflict"
        this.entries.delete(c.key)
        if (this.entries.size >= this.capacity) {
          const oldest = this.entries.keys().next()
          if (oldest.done !== true) this.entries.delete(oldest.value)
        }
        this.entries.set(c.key, { value: c.value, touched: this.now, version: version + 1 })
        return "ok"
      }
      case "putUnderOtherKey":
      case "putCyclic":
        return "InvalidInput"
      case "remove": {
        const e = this.entries.get(c.key)
        this.entries.delete(c.key)
        return e === undefined ? "none" : `${e.value}@${e.version}`
      }
      case "contains":
        return this.entries.has(c.key)
      case "size":
        return this.entries.size
    }
  }
}

const turnTemplate = {
  userMessage: "model run",
  toolCalls: [{ id: "call_1", name: "grep", arguments: { pattern: "x", n: 1 } }],
  toolResults: [{ toolCallId: "call_1", success: true, content: "hit" }],
  startedAt: DateTime.unsafeMake("2026-11-01T10:00:00.000Z")
}

// Built by the model itself, well-formed by construction: validating every one in its constructor would cost more
// than the store operation under test (the store checks what it is given anyway).
const trusted = { disableValidation: true }

const sessionFor = (id: SessionId, value: number, metadata: Record<string, unknown> = { v: value }) =>
  new Session({
    id,
    workstreamId: WorkstreamId.make("ws-model"),
    turns: [new Turn({ ...turnTemplate, id: TurnId.make(uuid()), userMessage: `value ${value}` }, trusted)],
    metadata,
    createdAt: DateTime.unsafeMake("2026-11-01T10:00:00.000Z"),
    updatedAt: DateTime.unsafeMake("2026-11-01T10:00:00.000Z")
  }, trusted)

const cyclic = (): Record<string, unknown> => {
  const value: Record<string, unknown> = { v: -1 }
  value["self"] = value
  return value
}

const simple = (): fc.Arbitrary<Simple> => {
  // Half the commands share one key, so a run builds histories on it (put, advance, get, advance, look) instead of
  // spreading thin; the other keys make eviction and size interesting.
  const key = fc.oneof(fc.constant(0), fc.nat(KEYS - 1))
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant("get" as const), key }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant("put" as const), key, value: fc.nat(999) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("putIf" as const), key, value: fc.nat(999), expected: fc.nat(3) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("remove" as const), key }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("contains" as const), key }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("size" as const) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("putUnderOtherKey" as const), key, other: fc.nat(KEYS - 2) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("putCyclic" as const), key }) }
  )
}

/** A run: the store's options and the commands (drawn independently, so fast-check shrinks each). @category models */
export const run = (features: Features) => {
  const testClock = features.clock === "test"
  const advance = fc.record({
    op: fc.constant("advance" as const),
    // Just inside, at and just past one TTL, or anywhere up to one and a half.
    percent: fc.oneof(fc.constantFrom(50, 99, 100, 101), fc.nat(150))
  })
  const command: fc.Arbitrary<Command> = fc.oneof(
    { weight: 12, arbitrary: simple() },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant("concurrently" as const), commands: fc.array(simple(), { minLength: 2, maxLength: 4 }) })
    },
    ...(testClock ? [{ weight: 3, arbitrary: advance }] : [])
  )
  return fc.record({
    capacity: features.capacity ? fc.constantFrom(10_000, 1, 2, 3) : fc.constant(10_000),
    ttl: testClock ? fc.constantFrom(undefined, 50, 5) : fc.constant(undefined),
    commands: fc.array(command, { minLength: 1, maxLength: 50 })
  })
}

/** Runs one command against the store and returns its outcome; a got session is mutated to prove it is a copy. */
const execute = (store: SessionStore["Type"], ids: ReadonlyArray<SessionId>, c: Simple): Effect.Effect<Outcome> => {
  const failure = <A>(self: Effect.Effect<A, { readonly _tag: string }>, ok: (a: A) => Outcome) =>
    Effect.map(Effect.either(self), (r) => Either.isLeft(r) ? r.left._tag : ok(r.right))
  const session = (found: Option.Option<Session>, key: number): Outcome => {
    if (Option.isNone(found)) return "none"
    const s = found.value
    const value = s.metadata["v"]
    if (s.id !== ids[key] || typeof value !== "number" || s.turns[0]?.userMessage !== `value ${value}`) {
      return `a session that was never put: ${JSON.stringify(s)}`
    }
    untyped<Record<string, unknown>>(s.metadata)["v"] = -1
    return `${value}@${s.version}`
  }
  const id = (key: number) => ids[key]!
  switch (c.op) {
    case "get":
      return failure(store.get(id(c.key)), (found) => session(found, c.key))
    case "remove":
      return failure(store.remove(id(c.key)), (found) => session(found, c.key))
    case "put":
      return failure(store.put(id(c.key), sessionFor(id(c.key), c.value)), () => "ok")
    case "putIf":
      return failure(store.put(id(c.key), sessionFor(id(c.key), c.value), { expectedVersion: c.expected }), () => "ok")
    case "putUnderOtherKey":
      return failure(store.put(id(c.key), sessionFor(id((c.key + 1 + c.other) % KEYS), 0)), () => "ok")
    case "putCyclic":
      return failure(store.put(id(c.key), sessionFor(id(c.key), 0, cyclic())), () => "ok")
    case "contains":
      return failure(store.contains(id(c.key)), (found) => found)
    case "size":
      return failure(store.size(), (n) => n)
  }
}

/** Every order of `items` (a concurrent group has at most four commands: 24 orders). */
const permutations = <A>(items: ReadonlyArray<A>): Array<Array<A>> =>
  items.length <= 1
    ? [[...items]]
    : items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]))

/**
 * Registers the model-based test. `make` builds a fresh, empty store with the given options (as for
 * `SessionStoreSuite.suite`); each fast-check run gets its own store, and the runs share one TestClock.
 *
 * @category suites
 */
export const suite = <E>(
  name: string,
  make: (options: CacheOptions) => Layer.Layer<SessionStore, E>,
  features: Features,
  options: Options = {}
): void => {
  const operations = options.operations ?? 2_000
  describe(`${name} (model)`, () => {
    it(`${operations}+ random operations, concurrent groups included, agree with the reference model`, async () => {
      let executed = 0
      const runtime = ManagedRuntime.make(TestContext.TestContext)
      const property = fc.asyncProperty(run(features), async ({ capacity, commands, ttl }) => {
        const ids = Array.from({ length: KEYS }, () => SessionId.make(uuid()))
        const program = Effect.gen(function*() {
          const store = yield* SessionStore
          // The runs share one TestClock (building test services per run costs more than a run): start from now.
          const model = new Model(capacity, ttl, yield* Clock.currentTimeMillis)
          for (const [step, c] of commands.entries()) {
            const where = `step ${step} ${JSON.stringify(c)}`
            if (c.op === "advance") {
              const millis = Math.round((c.percent / 100) * (ttl ?? 50))
              yield* TestClock.adjust(Duration.millis(millis))
              model.now += millis
              continue
            }
            if (c.op === "concurrently") {
              executed += c.commands.length
              const seen = yield* Effect.all(c.commands.map((sub) => execute(store, ids, sub)), { concurrency: "unbounded" })
              const order = permutations(c.commands.map((sub, i) => ({ sub, i }))).find((perm) => {
                const candidate = model.clone()
                const results = new Array<Outcome>(perm.length)
                for (const { i, sub } of perm) results[i] = candidate.apply(sub)
                return results.every((r, i) => r === seen[i])
              })
              if (order === undefined) expect.fail(`${where}: no sequential order gives ${JSON.stringify(seen)}`)
              for (const { sub } of order) model.apply(sub)
              continue
            }
            executed += 1
            const expected = model.clone().apply(c)
            const actual = yield* execute(store, ids, c)
            if (actual !== expected) expect.fail(`${where}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`)
            model.apply(c)
          }
        })
        await runtime.runPromise(
          Effect.provide(program, make({ capacity, ttl: ttl === undefined ? undefined : Duration.millis(ttl) }))
        )
      })
      const parameters = options.seed === undefined ? {} : { seed: options.seed }
      // Each run averages about 30 operations; more runs follow until the target is reached.
      try {
        await fc.assert(property, { ...parameters, numRuns: Math.ceil(operations / 30) })
        while (executed < operations) await fc.assert(property, { ...parameters, numRuns: 5 })
      } finally {
        await runtime.dispose()
      }
      expect(executed).toBeGreaterThanOrEqual(operations)
    }, Math.max(60_000, operations * 20))
  })
}
