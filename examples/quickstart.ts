/**
 * A walk through the three services on the embedded defaults, in a fresh temporary directory: remember and search,
 * write and read a thread, cache a live session. Run it with `npx tsx examples/quickstart.ts`.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Console, DateTime, Effect, Layer, Option } from "effect"
import { Embedder, Ids, MemoryBackend, Session, SessionStore, WorkstreamStore } from "arawn-store"
import * as SqliteMemoryBackend from "arawn-store/MemoryBackend/Sqlite"
import * as LruSessionStore from "arawn-store/SessionStore/Lru"
import * as LocalWorkstreamStore from "arawn-store/WorkstreamStore/Local"

const memories = [
  { content: "The project builds with esbuild and type-checks with tsc --noEmit", contentType: "fact", source: "stated" },
  { content: "Deploys go through ops/deploy.sh, which needs AWS_PROFILE set", contentType: "fact", source: "observed" },
  { content: "The user prefers short answers with code first", contentType: "note", source: "stated" },
  { content: "Flaky test: session cache TTL test fails under load on CI", contentType: "thought", source: "inferred" },
  { content: "Redis holds live sessions; SQLite holds long-term memory", contentType: "summary", source: "system" }
] as const

const program = Effect.gen(function*() {
  const memory = yield* MemoryBackend.MemoryBackend
  const threads = yield* WorkstreamStore.WorkstreamStore
  const sessions = yield* SessionStore.SessionStore

  yield* Console.log("== Memory: store, then search by meaning and by words")
  yield* memory.storeMany(memories)
  const fact = yield* memory.storeFact({
    content: "user.preferred_model is opus",
    contentType: "fact",
    metadata: { subject: "user.preferred_model", predicate: "is" }
  })
  const again = yield* memory.storeFact({
    content: "user.preferred_model is sonnet",
    contentType: "fact",
    metadata: { subject: "user.preferred_model", predicate: "is" }
  })
  yield* Console.log(`storeFact: ${fact.outcome}, then ${again.outcome} (superseded ${again.supersededIds.length})`)
  for (const query of ["how do I deploy?", "which model does the user prefer"]) {
    yield* Console.log(`\nsearch "${query}"`)
    for (const hit of yield* memory.search(query, { limit: 3 })) {
      const e = hit.explain
      yield* Console.log(
        `  ${hit.score.toFixed(3)}  ${hit.memory.content}\n` +
          `         relevance ${e.relevance.toFixed(3)} (vector #${e.vectorRank ?? "-"}, text #${e.textRank ?? "-"}),` +
          ` confidence ${e.confidence.toFixed(2)} [${hit.memory.confidence.source}]`
      )
    }
  }

  yield* Console.log("\n== Workstream: an append-only thread, read from the tail")
  const ws = yield* threads.create({ title: "Fix the flaky TTL test", tags: ["ci", "cache"] })
  yield* threads.storeMessages(ws.id, [
    { role: "user", content: "The TTL test fails on CI, can you look?" },
    { role: "assistant", content: "It sleeps in real time; I'll drive it with TestClock instead." },
    { role: "user", content: "Great, do it." },
    { role: "assistant", content: "Done: the test now adjusts the clock and passes 100/100 runs." }
  ])
  for (const m of yield* threads.loadMessages(ws.id, { limit: 2 })) {
    yield* Console.log(`  #${m.seq} ${m.role}: ${m.content}`)
  }

  yield* Console.log("\n== Session: the hot cache of a live agent session")
  const id = yield* Ids.nextId(Ids.SessionId)
  const now = yield* DateTime.now
  yield* sessions.put(
    id,
    new Session.Session({ id, workstreamId: ws.id, turns: [], metadata: { model: "sonnet" }, createdAt: now, updatedAt: now })
  )
  const back = yield* sessions.get(id)
  yield* Console.log(`  put then get ${id}: ${Option.isSome(back) ? "found" : "missing"}, ${yield* sessions.size()} live`)
  yield* Console.log(`\n(store files in ${dir})`)
})

const dir = mkdtempSync(join(tmpdir(), "arawn-quickstart-"))
const Live = Layer.mergeAll(
  SqliteMemoryBackend.layer({ filename: join(dir, "memory.db") }).pipe(Layer.provide(Embedder.layerHashing)),
  LocalWorkstreamStore.layer({ dir }),
  LruSessionStore.layer({ capacity: 1_000, ttl: "1 hour" })
)

Effect.runPromise(program.pipe(Effect.provide(Live))).catch((error) => {
  console.error(String(error))
  process.exit(1)
})
