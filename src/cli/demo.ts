/**
 * `arawn-store demo`: seeds a fresh store with an agent's memories of a software project and shows what the store
 * does with them: hybrid search with scores and explanations, a workstream's latest messages, and a session cache
 * round trip. Offline, no server, a few seconds.
 *
 * @since 0.1.0
 */
import { Command } from "@effect/cli"
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { Clock, Console, DateTime, Effect, Option } from "effect"
import { InvalidInput, StorageError } from "../Errors.js"
import { nextId, SessionId, TurnId } from "../Ids.js"
import type { NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { Session, Turn } from "../Session.js"
import { SessionStore } from "../SessionStore.js"
import { Message } from "../Workstream.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import * as Fixture from "./demo-fixture.js"
import { embedded } from "./layers.js"
import { matchJson, matchTable } from "./memory.js"
import { encode, printJson } from "./output.js"
import { explicitDir, jsonOutput } from "./root.js"
import { messageTable } from "./workstream.js"

const BATCH = 64

/** The demo's directory: an explicit `--dir` that is empty or absent, else a new temporary directory. */
const targetDir = Effect.flatMap(explicitDir, Option.match({
  onSome: (dir): Effect.Effect<string, InvalidInput | StorageError> =>
    existsSync(dir) && readdirSync(dir).length > 0
      ? Effect.fail(
        new InvalidInput({
          method: "demo",
          message: `the demo seeds a fresh store, but ${dir} is not empty: give an empty or new --dir, or none for a temp dir`
        })
      )
      : Effect.try({
        try: () => {
          mkdirSync(dir, { recursive: true })
          return resolve(dir)
        },
        catch: (cause) => new StorageError({ method: "demo", cause })
      }),
  onNone: (): Effect.Effect<string, InvalidInput | StorageError> =>
    Effect.try({
      try: () => mkdtempSync(join(tmpdir(), "arawn-store-demo-")),
      catch: (cause) => new StorageError({ method: "demo", cause })
    })
}))

const seed = Effect.gen(function*() {
  const now = yield* DateTime.now
  const ago = (days: number, minutes: number) => DateTime.subtract(now, { days, minutes })
  const memories = yield* MemoryBackend
  const inputs: Array<NewMemory> = Fixture.memories.map((m, i) => {
    const createdAt = ago(m.daysAgo, (i * 7) % 600)
    return {
      content: m.content,
      contentType: m.contentType,
      source: m.source,
      createdAt,
      history: { lastAccessed: createdAt },
      metadata: {
        tags: m.tags,
        ...(m.sourcePath !== undefined ? { sourcePath: m.sourcePath } : {}),
        ...(m.lineRange !== undefined ? { lineRange: m.lineRange } : {}),
        ...(m.sourceUrl !== undefined ? { sourceUrl: m.sourceUrl } : {}),
        ...(m.toolName !== undefined ? { toolName: m.toolName } : {})
      }
    }
  })
  for (let i = 0; i < inputs.length; i += BATCH) yield* memories.storeMany(inputs.slice(i, i + BATCH))
  let superseded = 0
  for (const chain of Fixture.factChains) {
    for (const step of chain.steps) {
      const createdAt = ago(step.daysAgo, 0)
      const r = yield* memories.storeFact({
        content: `${chain.subject} ${chain.predicate} ${step.object}`,
        contentType: "fact",
        source: step.source,
        createdAt,
        history: { lastAccessed: createdAt },
        metadata: { tags: chain.tags, subject: chain.subject, predicate: chain.predicate }
      })
      superseded += r.supersededIds.length
    }
  }

  const workstreams = yield* WorkstreamStore
  const created = []
  for (const [w, ws] of Fixture.workstreams.entries()) {
    const made = yield* workstreams.create({ title: ws.title, summary: ws.summary, tags: ws.tags })
    const start = ago(30 - w * 20, 0)
    yield* workstreams.storeMessages(
      made.id,
      ws.messages.map(([role, content], i) => ({ role, content, timestamp: DateTime.add(start, { minutes: i * 3 }) }))
    )
    created.push(made)
  }
  return { memories: yield* memories.count({ includeSuperseded: true }), superseded, workstreams: created }
})

const sessionRoundTrip = (workstreamId: Parameters<WorkstreamStore["Type"]["get"]>[0]) =>
  Effect.gen(function*() {
    const sessions = yield* SessionStore
    const now = yield* DateTime.now
    const id = yield* nextId(SessionId)
    const session = new Session({
      id,
      workstreamId,
      turns: [
        new Turn({
          id: yield* nextId(TurnId),
          userMessage: "Is the numbering test still flaky?",
          assistantResponse: "Not since each test schema got its own counter table.",
          toolCalls: [{ id: "call_1", name: "shell", arguments: { command: "npm run test:int" } }],
          toolResults: [{ toolCallId: "call_1", success: true, content: "104 passed" }],
          startedAt: now,
          completedAt: now
        })
      ],
      metadata: { model: "claude-sonnet" },
      createdAt: now,
      updatedAt: now
    })
    yield* sessions.put(id, session)
    const back = yield* sessions.get(id)
    const sameJson = Option.isSome(back) &&
      // The store numbers what it writes: the first put is version 1.
      JSON.stringify(yield* encode(Session, back.value)) ===
        JSON.stringify(yield* encode(Session, new Session({ ...session, version: 1 })))
    return { id, turns: session.turns.length, identical: sameJson, cached: yield* sessions.size() }
  })

const run = (dir: string) =>
  Effect.gen(function*() {
    const json = yield* jsonOutput
    const say = (line: string) => (json ? Effect.void : Console.log(line))
    const t0 = yield* Clock.currentTimeMillis
    const seeded = yield* seed
    const t1 = yield* Clock.currentTimeMillis
    const messageCount = Fixture.workstreams.reduce((n, w) => n + w.messages.length, 0)
    yield* say(
      `Seeded ${seeded.memories} memories (${seeded.superseded} superseded by newer facts) and ${seeded.workstreams.length} ` +
        `workstreams (${messageCount} messages) in ${t1 - t0} ms\nStore: ${dir}`
    )
    const memories = yield* MemoryBackend
    const searches = []
    for (const question of Fixture.questions) {
      const matches = yield* memories.search(question, { limit: 5 })
      searches.push({ question, matches: yield* Effect.forEach(matches, matchJson) })
      yield* say(`\n? ${question}   (hybrid search, score = relevance x (0.9 + 0.1 confidence))\n${matchTable(matches, true, false)}`)
    }
    const ws = seeded.workstreams[0]!
    const last = yield* (yield* WorkstreamStore).loadMessages(ws.id, { limit: 4 })
    yield* say(`\nLast ${last.length} messages of workstream "${ws.title}" (${ws.id}):\n${messageTable(last, 90)}`)
    const session = yield* sessionRoundTrip(ws.id)
    yield* say(
      `\nSession cache: put session ${session.id} (${session.turns} turn), get returned ${
        session.identical ? "the same session" : "A DIFFERENT SESSION"
      }; ${session.cached} session cached`
    )
    yield* say(`\nExplore it (from a checkout, 'npm run cli -- ' instead of 'arawn-store '):\n  arawn-store --dir ${dir} memory search "deploy migration" --explain\n` +
      `  arawn-store --dir ${dir} workstream list`)
    if (json) {
      yield* printJson({
        dir,
        seeded: { memories: seeded.memories, superseded: seeded.superseded, workstreams: seeded.workstreams.length, messages: messageCount },
        searches,
        lastMessages: yield* Effect.forEach(last, (m) => encode(Message, m)),
        session
      })
    }
  })

/** `arawn-store demo`. @category commands */
export const demo = Command.make("demo", {}, () =>
  Effect.flatMap(targetDir, (dir) => Effect.provide(run(dir), embedded(dir)))).pipe(
    Command.withDescription("Seed a fresh store (a temp dir unless --dir) with a sample project and show search, logs and sessions")
  )
