/**
 * The WorkstreamStore conformance suite: every contract line of `WorkstreamStore`, run against one Layer.
 *
 * @since 0.1.0
 */
import { expect, layer } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, TestClock } from "effect"
import type { Layer } from "effect"
import { SessionId, WorkstreamId } from "../Ids.js"
import { Summary } from "../WorkstreamContext.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { isolated, outcome, token, untyped, uuid } from "./internal.js"
import { branchCases } from "./workstreamBranchCases.js"
import { messageCases } from "./workstreamMessageCases.js"
import { overlayCases } from "./workstreamOverlayCases.js"
import { retryCases } from "./workstreamRetryCases.js"
import { treeCases } from "./workstreamTreeCases.js"

const sid = (): SessionId => SessionId.make(uuid())
const wid = (s: string): WorkstreamId => untyped(s)

/**
 * Registers the suite for `storeLayer` under `name`. Tests run concurrently on one shared store with fresh ids and
 * their own TestClock; only one test touches the shared `scratch` workstream.
 *
 * @category suites
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<WorkstreamStore, E>): void =>
  layer(storeLayer, { timeout: Duration.minutes(2) })(name, (it) => {
    const test = (title: string, body: () => Effect.Effect<void, unknown, WorkstreamStore>) =>
      it.effect(title, () => isolated(Effect.suspend(body)))

    const fresh = (title = "thread") => Effect.flatMap(WorkstreamStore, (s) => s.create({ title, tags: [token()] }))

    const append = (id: WorkstreamId, n: number, extra: (i: number) => Partial<{ sessionId: SessionId }> = () => ({})) =>
      Effect.flatMap(WorkstreamStore, (s) =>
        s.storeMessages(id, Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? "user" : "assistant", content: `m${i + 1}`, ...extra(i) }))))

    // --- workstreams -------------------------------------------------------------------------------------------

    test("create returns the workstream with defaults; get returns the same", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const now = yield* DateTime.now
        const ws = yield* s.create({ title: "Port the storage layer", summary: "s", defaultModel: "m", tags: ["b", "a", "b"] })
        expect(ws.title).toBe("Port the storage layer")
        expect(ws.state).toBe("active")
        expect(ws.isScratch).toBe(false)
        expect(ws.tags).toEqual(["a", "b"])
        expect(ws.summary).toBe("s")
        expect(ws.defaultModel).toBe("m")
        expect(ws.messageCount).toBe(0)
        expect(ws.lastMessageAt).toBeUndefined()
        expect(ws.createdAt.epochMillis).toBe(now.epochMillis)
        expect(ws.updatedAt.epochMillis).toBe(now.epochMillis)
        expect(Option.getOrThrow(yield* s.get(ws.id))).toEqual(ws)
      }))

    test("create keeps a given id; a taken id, or scratch, is InvalidInput", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const id = wid(`given_${token()}`)
        expect((yield* s.create({ id, title: "first" })).id).toBe(id)
        expect(yield* outcome(s.create({ id, title: "second" }))).toBe("InvalidInput")
        expect(Option.getOrThrow(yield* s.get(id)).title).toBe("first")
        expect(yield* outcome(s.create({ id: "scratch", title: "mine" }))).toBe("InvalidInput")
      }))

    test("path-like and malformed workstream ids are InvalidInput for every method, with a message naming the rule", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const bad = ["../x", "a/b", "a\\b", "", "-lead", ".hidden", "..", "nul\u0000", "x".repeat(129), "sp ace", "é"]
        for (const id of bad) {
          const e = yield* Effect.flip(s.create({ id, title: "t" }))
          expect(e._tag).toBe("InvalidInput")
          expect(e.message).toContain("workstream id")
          const ops: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
            s.get(wid(id)),
            s.delete(wid(id)),
            s.update(wid(id), { title: "x" }),
            s.storeMessage(wid(id), { role: "user", content: "x" }),
            s.loadMessages(wid(id))
          ]
          for (const op of ops) expect(yield* outcome(op)).toBe("InvalidInput")
        }
        expect(yield* outcome(s.create({ id: "x".repeat(128), title: "max length" }))).toBe("success")
      }))

    test("bad titles, states and tags are InvalidInput", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        expect(yield* outcome(s.create({ title: "" }))).toBe("InvalidInput")
        expect(yield* outcome(s.create({ title: "  " }))).toBe("InvalidInput")
        expect(yield* outcome(s.create({ title: "t", state: untyped("deleted") }))).toBe("InvalidInput")
        expect(yield* outcome(s.create({ title: "t", tags: [""] }))).toBe("InvalidInput")
        // Text every backend stores exactly: PostgreSQL text holds no NUL, UTF-8 no lone surrogate.
        expect(yield* outcome(s.create({ title: "nul \u0000" }))).toBe("InvalidInput")
        expect(yield* outcome(s.create({ title: "t", summary: "lone \uD800" }))).toBe("InvalidInput")
        expect(yield* outcome(s.create({ title: "t", defaultModel: "m\u0000" }))).toBe("InvalidInput")
        const ws = yield* fresh()
        expect(yield* outcome(s.update(ws.id, { title: "" }))).toBe("InvalidInput")
        expect(yield* outcome(s.update(ws.id, { summary: "\uDC00" }))).toBe("InvalidInput")
        expect(Option.getOrThrow(yield* s.get(ws.id)).title).toBe("thread")
      }))

    test("get of an unknown id is None", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        expect(Option.isNone(yield* s.get(wid(`missing_${token()}`)))).toBe(true)
      }))

    test("update replaces fields, null clears, tags replace, updatedAt moves", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const ws = yield* s.create({ title: "t", summary: "sum", defaultModel: "m1", tags: ["x"] })
        yield* TestClock.adjust(Duration.minutes(3))
        const up = yield* s.update(ws.id, { title: "t2", state: "paused", summary: null, defaultModel: null, tags: ["z", "y"] })
        expect(up.title).toBe("t2")
        expect(up.state).toBe("paused")
        expect(up.summary).toBeUndefined()
        expect(up.defaultModel).toBeUndefined()
        expect(up.tags).toEqual(["y", "z"])
        expect(up.createdAt.epochMillis).toBe(ws.createdAt.epochMillis)
        expect(up.updatedAt.epochMillis).toBe(ws.createdAt.epochMillis + 180_000)
        expect(Option.getOrThrow(yield* s.get(ws.id))).toEqual(up)
        const kept = yield* s.update(ws.id, { summary: "again" })
        expect(kept.title).toBe("t2")
        expect(kept.tags).toEqual(["y", "z"])
        expect(kept.summary).toBe("again")
      }))

    test("update of an unknown workstream is NotFound", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        expect(yield* outcome(s.update(wid(`missing_${token()}`), { title: "x" }))).toBe("NotFound")
      }))

    test("version: 0 when created, one more per update, untouched by appends; update with the stored version applies", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const ws = yield* fresh()
        expect(ws.version).toBe(0)
        const one = yield* s.update(ws.id, { title: "one" })
        expect(one.version).toBe(1)
        yield* append(ws.id, 2)
        expect(Option.getOrThrow(yield* s.get(ws.id)).version).toBe(1)
        const two = yield* s.update(ws.id, { title: "two" }, { expected: 1 })
        expect(two.version).toBe(2)
        expect(Option.getOrThrow(yield* s.get(ws.id))).toEqual(two)
        expect(yield* outcome(s.update(ws.id, { title: "x" }, { expected: -1 }))).toBe("InvalidInput")
      }))

    test("update with a stale expected version is Conflict naming both versions, and changes nothing", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const ws = yield* fresh()
        yield* s.update(ws.id, { title: "moved on" })
        yield* TestClock.adjust(Duration.seconds(5))
        const before = Option.getOrThrow(yield* s.get(ws.id))
        const e = yield* Effect.flip(s.update(ws.id, { title: "stale", tags: ["z"] }, { expected: 0 }))
        expect(e._tag).toBe("Conflict")
        if (e._tag === "Conflict") expect([e.entity, e.id, e.expected, e.actual]).toEqual(["workstream", ws.id, "0", "1"])
        expect(Option.getOrThrow(yield* s.get(ws.id))).toEqual(before)
        expect(yield* outcome(s.update(wid(`missing_${token()}`), { title: "x" }, { expected: 0 }))).toBe("NotFound")
      }))

    test("concurrent compare-and-set updates expecting one version: exactly one wins, every other is Conflict", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        for (let round = 0; round < 3; round++) {
          const ws = yield* fresh()
          const outcomes = yield* Effect.forEach(
            Array.from({ length: 6 }, (_, i) => i),
            (i) => outcome(s.update(ws.id, { title: `writer ${i}` }, { expected: 0 })),
            { concurrency: "unbounded" }
          )
          expect(outcomes.filter((o) => o === "success").length).toBe(1)
          expect(outcomes.filter((o) => o === "Conflict").length).toBe(5)
          const after = Option.getOrThrow(yield* s.get(ws.id))
          expect(after.version).toBe(1)
          expect(after.title).toBe(`writer ${outcomes.indexOf("success")}`)
        }
      }))

    test("list orders by updatedAt desc, filters by state and tag, and pages without repeats", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const tag = token()
        const made: Array<WorkstreamId> = []
        for (let i = 0; i < 7; i++) {
          made.push((yield* s.create({ title: `w${i}`, tags: [tag], state: i === 3 ? "archived" : "active" })).id)
          yield* TestClock.adjust(Duration.seconds(1))
        }
        const all = yield* s.list({ tag, limit: 100 })
        expect(all.items.map((w) => w.id)).toEqual([...made].reverse())
        expect(Option.isNone(all.nextCursor)).toBe(true)
        const archived = yield* s.list({ tag, state: "archived" })
        expect(archived.items.map((w) => w.id)).toEqual([made[3]])
        const seen: Array<WorkstreamId> = []
        let cursor: string | undefined
        for (let pages = 0; pages < 10; pages++) {
          const p = yield* s.list({ tag, limit: 3, ...(cursor !== undefined ? { cursor } : {}) })
          seen.push(...p.items.map((w) => w.id))
          if (Option.isNone(p.nextCursor)) break
          cursor = p.nextCursor.value
        }
        expect(seen).toEqual([...made].reverse())
        yield* TestClock.adjust(Duration.seconds(1))
        yield* s.update(made[0]!, { summary: "touched" })
        expect((yield* s.list({ tag, limit: 1 })).items[0]!.id).toBe(made[0])
        expect(yield* outcome(s.list({ cursor: "garbage" }))).toBe("InvalidInput")
        expect(yield* outcome(s.list({ limit: 0 }))).toBe("InvalidInput")
      }))

    test("list breaks updatedAt ties by id ascending, across pages", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const tag = token()
        const ids = ["c", "a", "b"].map((x) => wid(`tie_${tag}_${x}`))
        for (const id of ids) yield* s.create({ id, title: "same instant", tags: [tag] })
        const first = yield* s.list({ tag, limit: 2 })
        expect(first.items.map((w) => w.id)).toEqual([...ids].sort().slice(0, 2))
        const rest = yield* s.list({ tag, limit: 2, cursor: Option.getOrThrow(first.nextCursor) })
        expect(rest.items.map((w) => w.id)).toEqual([[...ids].sort()[2]])
      }))

    test("delete removes the workstream and its log, and is idempotent", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        const ws = yield* fresh()
        yield* append(ws.id, 3)
        yield* s.delete(ws.id)
        yield* s.delete(ws.id)
        expect(Option.isNone(yield* s.get(ws.id))).toBe(true)
        expect(yield* outcome(s.loadMessages(ws.id))).toBe("NotFound")
        expect(yield* outcome(s.storeMessage(ws.id, { role: "user", content: "x" }))).toBe("NotFound")
        const again = yield* s.create({ id: ws.id, title: "reborn" })
        expect(again.messageCount).toBe(0)
        expect(yield* s.loadMessages(ws.id)).toEqual([])
      }))

    test("scratch: ensureScratch creates it with the record given (a copy's), is idempotent, cannot be archived or deleted, and promotes into a new workstream", () =>
      Effect.gen(function*() {
        const s = yield* WorkstreamStore
        expect(yield* outcome(s.ensureScratch({ title: " ", version: -1 }))).toBe("InvalidInput")
        const createdAt = DateTime.unsafeMake("2026-01-02T03:04:05.678Z")
        const updatedAt = DateTime.unsafeMake("2026-02-03T04:05:06.789Z")
        const record = { title: "Notes", summary: "loose ends", defaultModel: "m0", tags: ["b", "a"], createdAt, updatedAt, version: 3 }
        const scratch = yield* s.ensureScratch(record)
        expect(scratch.id).toBe("scratch")
        expect(scratch.isScratch).toBe(true)
        expect({ ...scratch, createdAt: scratch.createdAt.epochMillis, updatedAt: scratch.updatedAt.epochMillis }).toMatchObject({
          ...record,
          tags: ["a", "b"],
          createdAt: createdAt.epochMillis,
          updatedAt: updatedAt.epochMillis,
          state: "active",
          messageCount: 0
        })
        expect(Option.getOrThrow(yield* s.get(scratch.id))).toEqual(scratch)
        // Once it exists, a record given is ignored.
        expect(yield* s.ensureScratch({ title: "Other", createdAt: updatedAt })).toEqual(scratch)
        expect(yield* s.ensureScratch()).toEqual(scratch)
        expect(yield* outcome(s.delete(scratch.id))).toBe("InvalidInput")
        expect(yield* outcome(s.update(scratch.id, { state: "archived" }))).toBe("InvalidInput")
        expect(Option.isSome(yield* s.get(scratch.id))).toBe(true)
        expect(yield* outcome(s.promoteScratch({ title: "nothing yet" }))).toBe("InvalidInput")
        const session = sid()
        const stored = yield* s.storeMessages(scratch.id, [
          { role: "user", content: "idea", sessionId: session },
          { role: "assistant", content: "reply", metadata: { k: 1 } }
        ])
        const summary = yield* s.summarize(scratch.id, { fromSeq: 1, toSeq: 2, content: "an idea and its reply" })
        const promoted = yield* s.promoteScratch({ title: "Promoted", tags: ["p"], defaultModel: "m" })
        // Its summaries move with its messages.
        expect(yield* s.listSummaries(promoted.id)).toEqual([new Summary({ ...summary, workstreamId: promoted.id })])
        expect(yield* s.listSummaries(scratch.id)).toEqual([])
        expect(promoted.title).toBe("Promoted")
        expect(promoted.tags).toEqual(["p"])
        expect(promoted.defaultModel).toBe("m")
        expect(promoted.isScratch).toBe(false)
        expect(promoted.messageCount).toBe(2)
        const moved = yield* s.loadMessages(promoted.id)
        expect(moved.map((m) => [m.id, m.seq, m.content, m.workstreamId])).toEqual(
          stored.map((m) => [m.id, m.seq, m.content, promoted.id])
        )
        expect(moved[0]!.sessionId).toBe(session)
        expect(moved[1]!.metadata).toEqual({ k: 1 })
        expect(yield* s.loadMessages(scratch.id)).toEqual([])
        expect(Option.getOrThrow(yield* s.get(scratch.id)).messageCount).toBe(0)
        const next = yield* s.storeMessage(scratch.id, { role: "user", content: "fresh start" })
        expect(next.seq).toBe(1)
        expect(Option.getOrThrow(yield* s.get(promoted.id))).toEqual(promoted)
      }))

    messageCases({ test, fresh, append })
    retryCases({ test, fresh, append })
    branchCases({ test, fresh, append })
    treeCases({ test, fresh, append })
    overlayCases({ test, fresh, append })
  })
