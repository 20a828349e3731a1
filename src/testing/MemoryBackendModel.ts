/**
 * A model-based property run for any MemoryBackend: random sequences of operations (some of them concurrent) are
 * applied to the backend and to a pure reference model, and every answer must agree with the model's.
 *
 * @since 0.1.0
 */
import { expect, layer } from "@effect/vitest"
import { Chunk, Duration, Effect, Either, Option, Runtime, Stream, TestClock } from "effect"
import type { Layer } from "effect"
import { FastCheck as fc } from "effect"
import { MemoryId, SessionId } from "../Ids.js"
import type { Memory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { isolated, modelRuns, outcome, token, uuid } from "./internal.js"

/** How much to run. @category options */
export interface ModelOptions {
  /** Operations per Layer across all runs (default 2,000, or `ARAWN_MODEL_OPS` when set). */
  readonly operations?: number
  /** Operations per run (default 50). */
  readonly perRun?: number
}

interface Entry {
  readonly content: string
  readonly tags: ReadonlyArray<string>
  readonly subject: string | undefined
  readonly superseded: boolean
  readonly reinforcementCount: number
  readonly createdAt: number
  readonly seq: number
}

type Command =
  | { readonly op: "store"; readonly words: ReadonlyArray<number>; readonly tag: number; readonly reuse: number | undefined }
  | { readonly op: "storeMany"; readonly items: ReadonlyArray<ReadonlyArray<number>>; readonly reuse: number | undefined }
  | { readonly op: "fact"; readonly subject: number; readonly words: ReadonlyArray<number> }
  | { readonly op: "update"; readonly target: number; readonly words: ReadonlyArray<number> | undefined; readonly tag: number | undefined }
  | { readonly op: "delete"; readonly target: number }
  | { readonly op: "retry"; readonly target: number }
  | { readonly op: "parallel"; readonly stores: ReadonlyArray<ReadonlyArray<number>>; readonly deletes: ReadonlyArray<number> }
  | { readonly op: "tick" }
  | { readonly op: "check"; readonly word: number }

const words = fc.array(fc.nat(7), { minLength: 1, maxLength: 4 })
const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("store" as const), words, tag: fc.nat(2), reuse: fc.option(fc.nat(40), { nil: undefined, freq: 6 }) }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant("storeMany" as const), items: fc.array(words, { minLength: 1, maxLength: 4 }), reuse: fc.option(fc.nat(40), { nil: undefined, freq: 6 }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("fact" as const), subject: fc.nat(2), words: fc.array(fc.nat(2), { minLength: 1, maxLength: 2 }) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("update" as const), target: fc.nat(40), words: fc.option(words, { nil: undefined }), tag: fc.option(fc.nat(2), { nil: undefined }) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("delete" as const), target: fc.nat(40) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("retry" as const), target: fc.nat(40) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("parallel" as const), stores: fc.array(words, { maxLength: 3 }), deletes: fc.array(fc.nat(40), { maxLength: 2 }) }), weight: 2 },
  { arbitrary: fc.constant({ op: "tick" as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("check" as const), word: fc.nat(7) }), weight: 2 }
)

/**
 * Registers the model-based run for `storeLayer` under `name`. Each run works in its own session, so runs share the
 * store with other tests safely.
 *
 * @category suites
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<MemoryBackend, E>, options: ModelOptions = {}): void => {
  const fromEnv = Number(process.env["ARAWN_MODEL_OPS"])
  const total = options.operations ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 2000)
  const perRun = options.perRun ?? 50
  layer(storeLayer, { timeout: Duration.minutes(10) })(name, (it) => {
    it.effect(`agrees with the reference model over ${total} random operations (some concurrent)`, () =>
      isolated(Effect.gen(function*() {
        yield* modelRuns(total, perRun, command, runModel)
      })), { timeout: 600_000 })

    it.effect(`two scoped namespaces never see or change each other's memories over ${isolationTotal(total)} random operations`, () =>
      isolated(Effect.gen(function*() {
        const runtime = yield* Effect.runtime<MemoryBackend>()
        let ran = 0
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(fc.array(crossCommand, { minLength: perRun, maxLength: perRun }), (commands) => {
              ran += commands.length
              return Runtime.runPromise(runtime)(runIsolation(commands))
            }),
            { numRuns: Math.ceil(isolationTotal(total) / perRun) }
          )
        )
        expect(ran).toBeGreaterThanOrEqual(isolationTotal(total))
      })), { timeout: 600_000 })
  })
}

/** Half the model run's operations: isolation needs pairs of scoped writes and reads, not the whole model's variety. */
const isolationTotal = (total: number) => Math.ceil(total / 2)

type CrossCommand = {
  readonly side: 0 | 1
  readonly op: "store" | "fact" | "update" | "delete" | "get" | "purge"
  readonly target: number
  readonly word: number
}

const crossCommand: fc.Arbitrary<CrossCommand> = fc.record({
  side: fc.constantFrom(0 as const, 1 as const),
  op: fc.oneof(
    { arbitrary: fc.constantFrom("store" as const, "fact" as const, "update" as const, "delete" as const, "get" as const), weight: 24 },
    { arbitrary: fc.constant("purge" as const), weight: 1 }
  ),
  target: fc.nat(30),
  word: fc.nat(3)
})

/** Two scoped services, each with its own model; every operation may aim at the other side's ids. */
const runIsolation = (commands: ReadonlyArray<CrossCommand>) =>
  Effect.gen(function*() {
    const root = yield* MemoryBackend
    const session = SessionId.make(uuid())
    const names = [`iso-${token()}`, `iso-${token()}`] as const
    const sides = yield* Effect.all([root.scoped(names[0]), root.scoped(names[1])])
    const owned: [Map<MemoryId, string>, Map<MemoryId, string>] = [new Map(), new Map()]
    const all = () => [...owned[0].keys(), ...owned[1].keys()]
    const words = Array.from({ length: 4 }, () => token())
    const views = Effect.forEach([0, 1] as const, (side) =>
      Effect.map(Stream.runCollect(sides[side].list({ sessionId: session, includeSuperseded: true })), (seen) =>
        expect(Chunk.toReadonlyArray(seen).map((x) => x.id).sort()).toEqual([...owned[side].keys()].sort())), { discard: true })
    for (const [i, c] of commands.entries()) {
      const m = sides[c.side]
      const mine = owned[c.side]
      const everyone = all()
      const target = everyone.length === 0 ? MemoryId.make(uuid()) : everyone[c.target % everyone.length]!
      switch (c.op) {
        case "store": {
          const content = `${words[c.word]} note`
          mine.set(yield* m.store({ content, sessionId: session }), content)
          break
        }
        case "fact": {
          const content = `${words[c.word]} fact`
          const r = yield* m.storeFact({ content, sessionId: session, metadata: { subject: "shared", predicate: "is" } })
          for (const id of r.supersededIds) expect(mine.has(id)).toBe(true)
          if (r.outcome !== "reinforced") mine.set(r.id, content)
          else expect(mine.has(r.id)).toBe(true)
          break
        }
        case "update": {
          const r = yield* Effect.either(m.update(target, { content: `${words[c.word]} changed` }))
          if (mine.has(target)) {
            expect(r._tag).toBe("Right")
            mine.set(target, `${words[c.word]} changed`)
          } else expect(r._tag === "Left" && r.left._tag).toBe("NotFound")
          break
        }
        case "delete": {
          yield* m.delete(target)
          mine.delete(target)
          break
        }
        case "get": {
          const got = yield* m.get(target)
          expect(Option.map(got, (x) => x.content)).toEqual(Option.fromNullable(mine.get(target)))
          break
        }
        case "purge": {
          // The other side's namespace is out of reach; its own goes whole.
          expect(yield* outcome(m.purge(names[1 - c.side]!))).toBe("InvalidInput")
          expect(yield* m.purge(names[c.side])).toBe(mine.size)
          mine.clear()
          break
        }
      }
      // Each side sees exactly its own memories, whatever the other side did.
      if (i % 5 === 4) yield* views
    }
    yield* views
    for (const side of [0, 1] as const) {
      const hits = yield* sides[side].search(words.join(" "), { sessionId: session, mode: "text", limit: 100, includeSuperseded: true })
      for (const h of hits) expect(owned[side].has(h.memory.id)).toBe(true)
    }
  })

const runModel = (commands: ReadonlyArray<Command>) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const session = SessionId.make(uuid())
    const vocabulary = Array.from({ length: 8 }, () => token())
    const tags = ["red", "green", "blue"]
    const model = new Map<MemoryId, Entry>()
    const ids: Array<MemoryId> = []
    let seq = 0
    let now = (yield* TestClock.currentTimeMillis)
    const text = (ws: ReadonlyArray<number>) => ws.map((w) => vocabulary[w]!).join(" ")
    const add = (id: MemoryId, content: string, tag: ReadonlyArray<string>, subject?: string) => {
      model.set(id, { content, tags: tag, subject, superseded: false, reinforcementCount: 0, createdAt: now, seq: seq++ })
      ids.push(id)
    }
    const pick = (i: number) => ids.length === 0 ? MemoryId.make(uuid()) : ids[i % ids.length]!
    // A store of a held id is a retry when it writes what is stored (a fact's subject and predicate are never written here).
    const sameAs = (id: MemoryId, content: string, tag: ReadonlyArray<string>) => {
      const e = model.get(id)
      return e !== undefined && e.subject === undefined && e.content === content && e.tags.join() === [...tag].sort().join()
    }

    for (const c of commands) {
      switch (c.op) {
        case "store": {
          const id = c.reuse !== undefined && ids.length > 0 ? pick(c.reuse) : MemoryId.make(uuid())
          const r = yield* Effect.either(m.store({ id, content: text(c.words), sessionId: session, metadata: { tags: [tags[c.tag]!] } }))
          if (sameAs(id, text(c.words), [tags[c.tag]!])) expect(Either.getOrThrow(r)).toBe(id)
          else if (model.has(id)) expect(Either.isLeft(r) && r.left._tag).toBe("InvalidInput")
          else {
            expect(Either.getOrThrow(r)).toBe(id)
            add(id, text(c.words), [tags[c.tag]!])
          }
          break
        }
        case "storeMany": {
          const batch = c.items.map((ws, i) => ({ id: i === 0 && c.reuse !== undefined && ids.length > 0 ? pick(c.reuse) : MemoryId.make(uuid()), content: text(ws) }))
          const r = yield* Effect.either(m.storeMany(batch.map((b) => ({ ...b, sessionId: session }))))
          if (batch.some((b) => model.has(b.id) && !sameAs(b.id, b.content, []))) expect(Either.isLeft(r) && r.left._tag).toBe("InvalidInput")
          else {
            expect(Either.getOrThrow(r)).toEqual(batch.map((b) => b.id))
            for (const b of batch) if (!model.has(b.id)) add(b.id, b.content, [])
          }
          break
        }
        case "fact": {
          const subject = `s${c.subject}-${session}`
          const content = text(c.words)
          const r = yield* m.storeFact({ content, sessionId: session, metadata: { subject, predicate: "is" } })
          const live = Array.from(model.entries()).filter(([, e]) => e.subject === subject && !e.superseded)
          const same = live.find(([, e]) => e.content.trim() === content.trim())
          if (same !== undefined) {
            expect([r.outcome, r.id]).toEqual(["reinforced", same[0]])
            model.set(same[0], { ...same[1], reinforcementCount: same[1].reinforcementCount + 1 })
          } else {
            expect(r.outcome).toBe(live.length > 0 ? "superseded" : "inserted")
            expect([...r.supersededIds].sort()).toEqual(live.map(([id]) => id).sort())
            for (const [id, e] of live) model.set(id, { ...e, superseded: true })
            add(r.id, content, [], subject)
          }
          break
        }
        case "update": {
          const id = pick(c.target)
          const patch = {
            ...(c.words !== undefined ? { content: text(c.words) } : {}),
            ...(c.tag !== undefined ? { metadata: { tags: [tags[c.tag]!] } } : {})
          }
          const r = yield* Effect.either(m.update(id, patch))
          const e = model.get(id)
          if (e === undefined) expect(Either.isLeft(r) && r.left._tag).toBe("NotFound")
          else {
            expect(Either.isRight(r)).toBe(true)
            // A metadata patch replaces metadata whole: subject and predicate go with it.
            const next = {
              ...e,
              ...(c.words !== undefined ? { content: text(c.words) } : {}),
              ...(c.tag !== undefined ? { tags: [tags[c.tag]!], subject: undefined } : {})
            }
            model.set(id, next)
          }
          break
        }
        case "delete": {
          const id = pick(c.target)
          yield* m.delete(id)
          model.delete(id)
          break
        }
        case "retry": {
          // The same write again: the stored memory's own content and tags.
          const id = pick(c.target)
          const e = model.get(id)
          if (e === undefined) break
          const r = yield* Effect.either(m.store({ id, content: e.content, sessionId: session, metadata: { tags: [...e.tags] } }))
          if (e.subject === undefined) expect(Either.getOrThrow(r)).toBe(id)
          else expect(Either.isLeft(r) && r.left._tag).toBe("InvalidInput")
          break
        }
        case "parallel": {
          const fresh = c.stores.map((ws) => ({ id: MemoryId.make(uuid()), content: text(ws) }))
          const doomed = Array.from(new Set(c.deletes.map(pick)))
          yield* Effect.all([
            ...fresh.map((f) => Effect.asVoid(m.store({ ...f, sessionId: session }))),
            ...doomed.map((id) => m.delete(id))
          ], { concurrency: "unbounded" })
          for (const f of fresh) add(f.id, f.content, [])
          for (const id of doomed) model.delete(id)
          break
        }
        case "tick": {
          yield* TestClock.adjust(Duration.seconds(1))
          now += 1000
          break
        }
        case "check": {
          yield* check(m, session, model, vocabulary[c.word]!, tags)
          break
        }
      }
    }
    yield* check(m, session, model, vocabulary[0]!, tags)
  })

/** Every read agrees with the model: get, count (with filters), list order, and text search for one word. */
const check = (
  m: MemoryBackend["Type"],
  session: SessionId,
  model: ReadonlyMap<MemoryId, Entry>,
  word: string,
  tags: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const entries = Array.from(model.entries())
    const live = entries.filter(([, e]) => !e.superseded)
    expect(yield* m.count({ sessionId: session, includeSuperseded: true })).toBe(entries.length)
    expect(yield* m.count({ sessionId: session })).toBe(live.length)
    for (const tag of tags) {
      expect(yield* m.count({ sessionId: session, tags: [tag], includeSuperseded: true })).toBe(entries.filter(([, e]) => e.tags.includes(tag)).length)
    }
    const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(m.list({ sessionId: session, includeSuperseded: true })))
    const expected = [...entries].sort(([a, x], [b, y]) => y.createdAt - x.createdAt || (a < b ? 1 : a > b ? -1 : 0)).map(([id]) => id)
    expect(listed.map((x) => x.id)).toEqual(expected)
    for (const got of listed) expectEntry(got, model.get(got.id)!)
    const hits = yield* m.search(word, { sessionId: session, mode: "text", limit: 100 })
    const containing = live.filter(([, e]) => e.content.split(" ").includes(word)).map(([id]) => id)
    expect(hits.map((h) => h.memory.id).sort()).toEqual([...containing].sort())
    for (const h of hits) expect(h.score >= 0 && h.score <= 1).toBe(true)
    for (const [id] of entries.slice(0, 5)) expect(Option.isSome(yield* m.get(id))).toBe(true)
  })

const expectEntry = (got: Memory, e: Entry) => {
  expect(got.content).toBe(e.content)
  expect(got.metadata.tags).toEqual([...e.tags].sort())
  expect(got.metadata.subject).toBe(e.subject)
  expect(got.confidence.superseded).toBe(e.superseded)
  expect(got.confidence.reinforcementCount).toBe(e.reinforcementCount)
}
