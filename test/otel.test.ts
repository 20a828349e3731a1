/**
 * The store's spans as an OpenTelemetry SDK receives them (through `@effect/opentelemetry`, into an in-memory
 * exporter): each public method's span carries the GenAI memory conventions' names, and the query text only under
 * the opt-in.
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option } from "effect"
import { Embedder, Ids, MemoryBackend, Session, SessionStore, WorkstreamStore } from "arawn-store"
import * as ArawnOtel from "arawn-store/otel"

const MEMORY_ATTRIBUTES = new Set([
  "gen_ai.operation.name",
  "gen_ai.memory.store.id",
  "gen_ai.memory.record.id",
  "gen_ai.memory.record.count",
  "gen_ai.memory.query.text",
  "gen_ai.conversation.id"
])

/** Runs `program` with the three in-memory stores and an SDK exporting into memory; returns its finished spans. */
const traced = <A, E>(
  program: Effect.Effect<A, E, MemoryBackend.MemoryBackend | WorkstreamStore.WorkstreamStore | SessionStore.SessionStore>,
  capture = false
) =>
  Effect.gen(function*() {
    const exporter = new InMemorySpanExporter()
    const Stores = Layer.mergeAll(
      MemoryBackend.layerMemory.pipe(Layer.provide(Embedder.layerHashing)),
      WorkstreamStore.layerMemory,
      SessionStore.layerMemory
    )
    const Tracing = NodeSdk.layer(() => ({ resource: { serviceName: "arawn-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
    const run = Effect.provide(program, Stores)
    // Read before the SDK shuts down: shutting down empties the in-memory exporter.
    const spans = yield* Effect.provide(
      Effect.zipRight(capture ? Effect.provide(run, ArawnOtel.layerCaptureQueryText) : run, Effect.sync(() => [...exporter.getFinishedSpans()])),
      Tracing
    )
    const byName = (name: string): ReadableSpan => {
      const found = spans.filter((s) => s.name === name)
      expect(found.length, name).toBeGreaterThan(0)
      return found[found.length - 1]!
    }
    /** The memory-convention attributes of the last span of that name. */
    const attributes = (name: string) =>
      Object.fromEntries(Object.entries(byName(name).attributes).filter(([k]) => MEMORY_ATTRIBUTES.has(k)))
    return { attributes, spans }
  })

describe.sequential("OpenTelemetry memory conventions on the store's spans", () => {
  it.effect("MemoryBackend: operation names, store id with the namespace, record ids and counts; no query by default", () =>
    Effect.gen(function*() {
      let stored = ""
      const { attributes } = yield* traced(Effect.gen(function*() {
        const memory = yield* (yield* MemoryBackend.MemoryBackend).scoped("team-a")
        const id = yield* memory.store({ content: "The staging database runs on port 5433", contentType: "fact" })
        stored = id
        yield* memory.storeMany([{ content: "Deploys go out on Tuesdays", contentType: "fact" }, { content: "Ops owns the VPN", contentType: "note" }])
        yield* memory.storeFact({ content: "Alice leads ops", contentType: "fact", metadata: { subject: "alice", predicate: "role" } })
        yield* memory.get(id)
        yield* memory.search("staging database port", { limit: 5 })
        yield* memory.update(id, { content: "The staging database runs on port 5434" })
        yield* memory.delete(id)
        yield* memory.stats()
      }))
      const store = attributes("MemoryBackend.store")["gen_ai.memory.store.id"]
      expect(store).toMatch(/:team-a$/)
      expect(attributes("MemoryBackend.store")).toEqual({
        "gen_ai.operation.name": "create_memory",
        "gen_ai.memory.store.id": store,
        "gen_ai.memory.record.id": stored,
        "gen_ai.memory.record.count": 1
      })
      expect(attributes("MemoryBackend.storeMany")).toEqual({
        "gen_ai.operation.name": "create_memory",
        "gen_ai.memory.store.id": store,
        "gen_ai.memory.record.count": 2
      })
      expect(attributes("MemoryBackend.storeFact")).toMatchObject({ "gen_ai.operation.name": "upsert_memory", "gen_ai.memory.record.count": 1 })
      expect(attributes("MemoryBackend.get")).toEqual({
        "gen_ai.operation.name": "search_memory",
        "gen_ai.memory.store.id": store,
        "gen_ai.memory.record.id": stored,
        "gen_ai.memory.record.count": 1
      })
      const search = attributes("MemoryBackend.search")
      expect(search).toMatchObject({ "gen_ai.operation.name": "search_memory", "gen_ai.memory.store.id": store })
      expect(search["gen_ai.memory.record.count"]).toBeGreaterThan(0)
      expect(search).not.toHaveProperty("gen_ai.memory.query.text")
      expect(attributes("MemoryBackend.update")).toMatchObject({ "gen_ai.operation.name": "update_memory", "gen_ai.memory.record.id": stored })
      expect(attributes("MemoryBackend.delete")).toMatchObject({ "gen_ai.operation.name": "delete_memory", "gen_ai.memory.record.id": stored })
      // No counterpart in the conventions: the store id only.
      expect(attributes("MemoryBackend.stats")).toEqual({ "gen_ai.memory.store.id": store })
    }))

  it.effect("the query text is on search spans only under layerCaptureQueryText", () =>
    Effect.gen(function*() {
      const { attributes } = yield* traced(Effect.gen(function*() {
        const memory = yield* MemoryBackend.MemoryBackend
        yield* memory.store({ content: "The staging database runs on port 5433", contentType: "fact" })
        yield* memory.search("staging database port")
        const threads = yield* WorkstreamStore.WorkstreamStore
        const ws = yield* threads.create({ title: "ops" })
        yield* threads.storeMessage(ws.id, { role: "user", content: "where is staging?" })
        yield* threads.searchMessages("staging")
      }), true)
      expect(attributes("MemoryBackend.search")["gen_ai.memory.query.text"]).toBe("staging database port")
      expect(attributes("WorkstreamStore.searchMessages")).toMatchObject({
        "gen_ai.operation.name": "search_memory",
        "gen_ai.memory.query.text": "staging",
        "gen_ai.memory.record.count": 1
      })
    }))

  it.effect("WorkstreamStore: a workstream is a conversation and its own store; SessionStore: sessions are records", () =>
    Effect.gen(function*() {
      let wsId = ""
      let messageId = ""
      let sessionId = ""
      const { attributes } = yield* traced(Effect.gen(function*() {
        const threads = yield* WorkstreamStore.WorkstreamStore
        const ws = yield* threads.create({ title: "release" })
        wsId = ws.id
        messageId = (yield* threads.storeMessage(ws.id, { role: "user", content: "cut the branch" })).id
        yield* threads.storeMessages(ws.id, [{ role: "assistant", content: "done" }, { role: "user", content: "thanks" }])
        yield* threads.loadMessages(ws.id, { limit: 2 })
        yield* threads.delete(ws.id)

        const sessions = yield* SessionStore.SessionStore
        const id = yield* Ids.nextId(Ids.SessionId)
        sessionId = id
        const now = yield* DateTime.now
        const session = new Session.Session({ id, workstreamId: ws.id, turns: [], metadata: {}, createdAt: now, updatedAt: now })
        yield* sessions.put(id, session)
        yield* sessions.get(id)
        yield* sessions.remove(id)
        yield* Effect.map(sessions.get(id), Option.isNone)
      }))
      const store = attributes("WorkstreamStore.create")["gen_ai.memory.store.id"]
      expect(store).toMatch(new RegExp(`:${wsId}$`))
      expect(attributes("WorkstreamStore.create")).toEqual({
        "gen_ai.operation.name": "create_memory_store",
        "gen_ai.memory.store.id": store,
        "gen_ai.conversation.id": wsId
      })
      expect(attributes("WorkstreamStore.storeMessage")).toEqual({
        "gen_ai.operation.name": "create_memory",
        "gen_ai.memory.store.id": store,
        "gen_ai.conversation.id": wsId,
        "gen_ai.memory.record.id": messageId,
        "gen_ai.memory.record.count": 1
      })
      expect(attributes("WorkstreamStore.storeMessages")).toMatchObject({ "gen_ai.operation.name": "create_memory", "gen_ai.memory.record.count": 2 })
      expect(attributes("WorkstreamStore.loadMessages")).toMatchObject({ "gen_ai.operation.name": "search_memory", "gen_ai.memory.record.count": 2 })
      expect(attributes("WorkstreamStore.delete")).toEqual({
        "gen_ai.operation.name": "delete_memory_store",
        "gen_ai.memory.store.id": store,
        "gen_ai.conversation.id": wsId
      })
      expect(attributes("SessionStore.put")).toMatchObject({
        "gen_ai.operation.name": "upsert_memory",
        "gen_ai.memory.record.id": sessionId,
        "gen_ai.memory.record.count": 1
      })
      expect(attributes("SessionStore.remove")).toMatchObject({ "gen_ai.operation.name": "delete_memory", "gen_ai.memory.record.id": sessionId })
      // The last get ran after the remove: nothing found.
      expect(attributes("SessionStore.get")).toMatchObject({ "gen_ai.operation.name": "search_memory", "gen_ai.memory.record.count": 0 })
    }))

  it("the subpath names every attribute and operation it documents", () => {
    expect([
      ArawnOtel.ATTR_OPERATION_NAME,
      ArawnOtel.ATTR_MEMORY_STORE_ID,
      ArawnOtel.ATTR_MEMORY_RECORD_ID,
      ArawnOtel.ATTR_MEMORY_RECORD_COUNT,
      ArawnOtel.ATTR_MEMORY_QUERY_TEXT,
      ArawnOtel.ATTR_CONVERSATION_ID
    ].sort()).toEqual([...MEMORY_ATTRIBUTES].sort())
    expect(new Set(Object.values(ArawnOtel.OPERATIONS))).toEqual(
      new Set(["create_memory_store", "delete_memory_store", "create_memory", "update_memory", "upsert_memory", "delete_memory", "search_memory"])
    )
  })
})
