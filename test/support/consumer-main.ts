/**
 * The program test/package.test.ts compiles inside a fresh project that installed the packed tarball by the
 * README's install lines: the three embedded backends, each through its own subpath, in one round trip, then the
 * store reopened from disk (prints one JSON line); every other subpath is type-checked.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DateTime, Effect, Layer, Option } from "effect"
import { Embedder, Ids, MemoryBackend, Session, SessionStore, WorkstreamStore } from "arawn-store"
import * as SqliteMemoryBackend from "arawn-store/MemoryBackend/Sqlite"
import * as LruSessionStore from "arawn-store/SessionStore/Lru"
import * as LocalWorkstreamStore from "arawn-store/WorkstreamStore/Local"
// Type-checked only (nothing here starts a server): the declarations of every other subpath, and of the packages
// the README's optional install lines add for them, compile under the user's settings too.
import type * as OpenAi from "arawn-store/Embedder/OpenAi"
import type * as ArawnOtel from "arawn-store/otel"
import type * as Dump from "arawn-store/Dump"
import type * as Import from "arawn-store/Import"
import type * as LangGraph from "arawn-store/langgraph"
import type * as MemoryDriver from "arawn-store/MemoryBackend/Driver"
import type * as PgMemoryBackend from "arawn-store/MemoryBackend/Pg"
import type * as RedisSessionStore from "arawn-store/SessionStore/Redis"
import type * as TieredSessionStore from "arawn-store/SessionStore/Tiered"
import type { MemoryBackendSuite } from "arawn-store/testing"
import type * as PgWorkstreamStore from "arawn-store/WorkstreamStore/Pg"

export type EverySubpath = [
  typeof OpenAi.layerOpenAi,
  typeof ArawnOtel.layerCaptureQueryText,
  typeof Dump.exportDump,
  typeof Import.run,
  LangGraph.ArawnStore,
  MemoryDriver.EncodedDriver,
  typeof PgMemoryBackend.layer,
  typeof PgWorkstreamStore.layer,
  typeof RedisSessionStore.layer,
  typeof TieredSessionStore.layer,
  typeof MemoryBackendSuite.suite
]

const dir = mkdtempSync(join(tmpdir(), "arawn-consumer-"))

const Disk = Layer.merge(
  SqliteMemoryBackend.layer({ filename: join(dir, "memory.db") }).pipe(Layer.provide(Embedder.layerHashing)),
  LocalWorkstreamStore.layer({ dir })
)

const roundTrip = Effect.gen(function*() {
  const memory = yield* MemoryBackend.MemoryBackend
  const threads = yield* WorkstreamStore.WorkstreamStore
  const sessions = yield* SessionStore.SessionStore

  const id = yield* memory.store({ content: "Deploys go through ops/deploy.sh", contentType: "fact" })
  const [hit] = yield* memory.search("how do we deploy?", { limit: 1 })

  const ws = yield* threads.create({ title: "Release 2.0" })
  yield* threads.storeMessages(ws.id, [
    { role: "user", content: "cut the release branch" },
    { role: "assistant", content: "branch release/2.0 created" }
  ])
  const messages = yield* threads.loadMessages(ws.id, { limit: 10 })

  const sessionId = yield* Ids.nextId(Ids.SessionId)
  const now = yield* DateTime.now
  yield* sessions.put(
    sessionId,
    new Session.Session({ id: sessionId, workstreamId: ws.id, turns: [], metadata: {}, createdAt: now, updatedAt: now })
  )
  const back = yield* sessions.get(sessionId)
  return {
    workstream: ws.id,
    found: hit !== undefined && hit.memory.id === id,
    messages: messages.map((m) => `${m.seq}:${m.content}`),
    session: Option.isSome(back) && back.value.id === sessionId
  }
})

const reopen = (workstream: Ids.WorkstreamId) =>
  Effect.gen(function*() {
    const memories = yield* (yield* MemoryBackend.MemoryBackend).count()
    const ws = yield* (yield* WorkstreamStore.WorkstreamStore).get(workstream)
    return { memories, messages: Option.match(ws, { onNone: () => 0, onSome: (w) => w.messageCount }) }
  })

const main = Effect.gen(function*() {
  const { workstream, ...first } = yield* Effect.provide(roundTrip, Layer.merge(Disk, LruSessionStore.layer({ capacity: 100 })))
  // A new layer: everything it returns was read back from the files the first one wrote.
  const reopened = yield* Effect.provide(reopen(workstream), Disk)
  return { ...first, reopened }
})

Effect.runPromise(main).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(String(error))
    process.exitCode = 1
  }
).finally(() => rmSync(dir, { recursive: true, force: true }))
