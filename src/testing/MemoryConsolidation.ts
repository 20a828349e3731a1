/**
 * Fact consolidation without a model: generated sequences of facts, contradicting updates, back-dated and bounded
 * statements, corrections and retractions, each read back as of random instants of both time axes and held
 * against a reference model of segments per record time. Concurrent writers then race one key.
 *
 * @since 0.3.0
 */
import { expect, layer } from "@effect/vitest"
import { DateTime, Duration, Effect, FastCheck as fc, Option, TestClock } from "effect"
import type { Layer } from "effect"
import { SessionId } from "../Ids.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { isolated, modelRuns, token, uuid } from "./internal.js"

const SECOND = 1000

/** One statement of the reference: `content` holds over `[from, to)`. */
interface Segment {
  readonly from: number
  readonly to: number
  readonly content: string
}

/**
 * The reference rule, stated on segments: an open statement ends at the next segment's start; a segment with the same
 * content that covers the statement absorbs it; otherwise the statement overwrites its interval and every other
 * segment keeps what lies outside it.
 */
export const stateFact = (segments: ReadonlyArray<Segment>, s: { readonly from: number; readonly to?: number | undefined; readonly content: string }) => {
  const next = Math.min(...segments.map((x) => x.from).filter((f) => f > s.from))
  const to = s.to ?? next
  if (segments.some((x) => x.content === s.content && x.from <= s.from && to <= x.to)) return segments
  const kept = segments.flatMap((x) =>
    x.to <= s.from || to <= x.from
      ? [x]
      : [
        ...(x.from < s.from ? [{ ...x, to: s.from }] : []),
        ...(to < x.to ? [{ ...x, from: to }] : [])
      ]
  )
  return [...kept, { from: s.from, to, content: s.content }].sort((a, b) => a.from - b.from)
}

/** The segments held at record time `r`, from a key's snapshots (oldest first). */
const heldAt = (snapshots: ReadonlyArray<readonly [number, ReadonlyArray<Segment>]>, r: number) => {
  let held: ReadonlyArray<Segment> = []
  for (const [at, segments] of snapshots) if (at <= r) held = segments
  return held
}

type Command =
  | { readonly op: "state"; readonly key: number; readonly value: number; readonly back: number; readonly span: number }
  | { readonly op: "retract"; readonly key: number }
  | { readonly op: "tick"; readonly seconds: number }
  | { readonly op: "check"; readonly key: number; readonly r: number; readonly v: number }

const KEYS = 3
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("state" as const), key: fc.nat(KEYS - 1), value: fc.nat(3), back: fc.oneof(fc.constant(0), fc.integer({ min: -3, max: 12 })), span: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("retract" as const), key: fc.nat(KEYS - 1) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("tick" as const), seconds: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("check" as const), key: fc.nat(KEYS - 1), r: fc.nat(1000), v: fc.nat(1000) }) }
)

const at = (millis: number) => DateTime.unsafeMake(millis)

const runModel = (commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    yield* TestClock.adjust(Duration.days(1))
    const session = SessionId.make(uuid())
    const run = token()
    const subjects = Array.from({ length: KEYS }, (_, i) => `${run}-k${i}`)
    const values = ["alpha", "bravo", "charlie", "delta"]
    const snapshots: Array<Array<readonly [number, ReadonlyArray<Segment>]>> = subjects.map(() => [])
    const instants: Array<number> = []
    const record = (key: number, now: number, segments: ReadonlyArray<Segment>) => {
      const own = snapshots[key]!
      if (own.length > 0 && own[own.length - 1]![0] === now) own.pop()
      own.push([now, segments])
      instants.push(now)
    }
    const current = (key: number, r: number) => heldAt(snapshots[key]!, r)

    for (const c of commands) {
      const now = yield* TestClock.currentTimeMillis
      switch (c.op) {
        case "tick": {
          yield* TestClock.adjust(Duration.seconds(c.seconds))
          break
        }
        case "state": {
          const from = now - c.back * SECOND
          const to = c.span > 0 ? from + c.span * SECOND : undefined
          const content = `${run} ${values[c.value]} fact`
          yield* m.storeFact({
            content,
            contentType: "fact",
            sessionId: session,
            metadata: { subject: subjects[c.key]!, predicate: "is" },
            ...(c.back !== 0 ? { validFrom: at(from) } : {}),
            ...(to !== undefined ? { validTo: at(to) } : {})
          })
          record(c.key, now, stateFact(current(c.key, now), { from, to, content }))
          break
        }
        case "retract": {
          const [held] = yield* m.facts(subjects[c.key]!, { predicate: "is", asOf: { valid: at(now) } })
          if (held === undefined) {
            expect(current(c.key, now).some((s) => s.from <= now && now < s.to)).toBe(false)
            break
          }
          yield* m.retractFact(held.memory.id)
          record(c.key, now, current(c.key, now).filter((s) => !(s.from <= now && now < s.to)))
          break
        }
        case "check": {
          yield* check(m, subjects[c.key]!, snapshots[c.key]!, instants, c, now)
          break
        }
      }
    }
  })

/** Reads the key as of a recorded instant (now, a write's, or just before one) and a valid one, against the model. */
const check = (
  m: MemoryBackend["Type"],
  subject: string,
  snapshots: ReadonlyArray<readonly [number, ReadonlyArray<Segment>]>,
  instants: ReadonlyArray<number>,
  c: Extract<Command, { op: "check" }>,
  now: number
) =>
  Effect.gen(function*() {
    const recordedChoices = [now, ...instants.flatMap((i) => [i, i - 1])]
    const r = recordedChoices[c.r % recordedChoices.length]!
    const held = heldAt(snapshots, r)
    const validChoices = [now, r, ...held.flatMap((s) => [s.from, s.from - 1, ...(s.to === Infinity ? [] : [s.to, s.to - 1])])]
    const v = validChoices[c.v % validChoices.length]!
    const timeline = yield* m.facts(subject, { predicate: "is", asOf: { recorded: at(r) } })
    expect(timeline.map((e) => [e.validFrom.epochMillis, e.validTo?.epochMillis ?? Infinity, e.memory.content])).toEqual(
      held.map((s) => [s.from, s.to, s.content])
    )
    const expected = held.filter((s) => s.from <= v && v < s.to).map((s) => s.content)
    const asOf = { recorded: at(r), valid: at(v) }
    const point = yield* m.facts(subject, { predicate: "is", asOf })
    expect(point.map((e) => e.memory.content)).toEqual(expected)
    const where = { subject }
    const listed = yield* Effect.map(m.count({ where, asOf }), (n) => n)
    expect(listed).toBe(expected.length)
    if (c.r % 4 === 0) {
      const hits = yield* m.search(`${subject.split("-")[0]} fact`, { where, asOf, mode: "text", limit: 20 })
      expect(hits.map((h) => h.memory.content)).toEqual(expected)
    }
    for (const e of point) expect(Option.isSome(yield* m.get(e.memory.id, { asOf }))).toBe(true)
    // The current view: exactly one current fact per key, the one that starts last.
    const live = yield* m.count({ where })
    const latest = heldAt(snapshots, now).at(-1)
    expect(live).toBe(latest === undefined ? 0 : 1)
  })

/** Concurrent writers on one key: the live facts stay disjoint, and exactly one of them is current. */
const runRace = (rounds: number) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const subject = `race-${token()}`
    for (let round = 0; round < rounds; round++) {
      const now = yield* TestClock.currentTimeMillis
      yield* Effect.all(
        Array.from({ length: 10 }, (_, i) =>
          m.storeFact({
            content: `racer ${round} ${i % 4}`,
            metadata: { subject, predicate: "is" },
            ...(i % 3 !== 0 ? { validFrom: at(now - (i % 5) * SECOND) } : {})
          })),
        { concurrency: "unbounded" }
      )
      const timeline = yield* m.facts(subject, { predicate: "is" })
      for (let i = 1; i < timeline.length; i++) {
        expect(timeline[i - 1]!.validTo?.epochMillis ?? Infinity).toBeLessThanOrEqual(timeline[i]!.validFrom.epochMillis)
      }
      const live = yield* m.count({ where: { subject } })
      expect(live).toBe(1)
      const [currentFact] = yield* Effect.map(m.facts(subject, { predicate: "is" }), (t) => t.filter((e) => !e.memory.confidence.superseded))
      expect(currentFact?.memory.id).toBe(timeline.at(-1)?.memory.id)
      yield* TestClock.adjust(Duration.seconds(7))
    }
  })

/** What the consolidation run is sized by. @category suites */
export interface ConsolidationOptions {
  /** Generated operations in all (default 2,000, or `ARAWN_CONSOLIDATION_OPS`). */
  readonly operations?: number
}

/**
 * Registers the consolidation run and the writer race for `storeLayer` under `name`.
 *
 * @category suites
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<MemoryBackend, E>, options: ConsolidationOptions = {}): void => {
  const fromEnv = Number(process.env["ARAWN_CONSOLIDATION_OPS"])
  const total = options.operations ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 2000)
  const perRun = 50
  layer(storeLayer, { timeout: Duration.minutes(10) })(name, (it) => {
    it.effect(`facts over both time axes agree with the reference model over ${total} generated operations`, () =>
      isolated(Effect.gen(function*() {
        yield* modelRuns(total, perRun, command, runModel)
      })), { timeout: 600_000 })

    it.effect("concurrent writers with back-dated facts keep disjoint intervals and exactly one current fact per key", () =>
      isolated(Effect.gen(function*() {
        yield* TestClock.adjust(Duration.days(1))
        yield* runRace(4)
      })), { timeout: 600_000 })
  })
}
