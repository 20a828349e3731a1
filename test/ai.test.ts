/**
 * `arawn-store/ai`: `@effect/ai`'s own `Chat`, driven by a scripted `LanguageModel`, persisted as a workstream on the
 * in-memory and Local layers: a chat restores exactly, each save appends only what is new.
 */
import * as Chat from "@effect/ai/Chat"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Prompt from "@effect/ai/Prompt"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Ref, Stream } from "effect"
import { WorkstreamStore } from "arawn-store"
import * as ArawnChat from "arawn-store/ai"
import { WorkstreamId } from "../src/Ids.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import { tempDir } from "./support/tempDir.js"

/** A model that answers each prompt with the text of its last user message, numbered by the prompt's length. */
const Scripted = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) => {
      const last = options.prompt.content.at(-1)
      const said = last?.role === "user" ? last.content.map((p) => (p.type === "text" ? p.text : "")).join("") : ""
      return Effect.succeed([{ type: "text", text: `${options.prompt.content.length}: you said ${said}` }])
    },
    streamText: () => Stream.empty
  })
)

const TIMEOUT = 60_000
const store = WorkstreamStore.WorkstreamStore
let n = 0
const freshId = () => `chat-${Date.now().toString(36)}-${n++}`

/** Every message the chat's log holds, as role:content. */
const logOf = (id: string) =>
  Effect.flatMap(store, (s) => s.loadMessages(WorkstreamId.make(id))).pipe(Effect.map((ms) => ms.map((m) => `${m.role}:${m.content}`)))

/** Messages added by hand, of every kind a history holds (tool calls and results, files, reasoning, options). */
const varied = Prompt.make([
  { role: "system", content: "You are terse." },
  {
    role: "user",
    content: [
      { type: "text", text: "what is in this file?" },
      { type: "file", mediaType: "text/plain", fileName: "notes.txt", data: "aGVsbG8=" }
    ]
  },
  {
    role: "assistant",
    content: [
      { type: "reasoning", text: "I should read it" },
      { type: "tool-call", id: "call_1", name: "read", params: { path: "notes.txt" }, providerExecuted: false }
    ]
  },
  {
    role: "tool",
    content: [{ type: "tool-result", id: "call_1", name: "read", isFailure: false, result: { text: "hello" }, providerExecuted: false }]
  },
  { role: "assistant", content: [{ type: "text", text: "It says hello." }], options: { openai: { itemId: "x" } } }
])

const suite = (name: string, layer: Layer.Layer<WorkstreamStore.WorkstreamStore, unknown>) =>
  describe(name, () => {
    const Env = Layer.mergeAll(ArawnChat.layer().pipe(Layer.provideMerge(layer)), Scripted)

    it.layer(Env, { timeout: TIMEOUT })((it) => {
      it.effect("get restores, through a fresh service, exactly the history Chat saved", () =>
        Effect.gen(function*() {
          const id = freshId()
          const persistence = yield* Chat.Persistence
          const chat = yield* persistence.getOrCreate(id)
          for (let i = 1; i <= 3; i++) yield* chat.generateText({ prompt: `turn ${i}` })
          const saved = yield* chat.exportJson

          const again = yield* Effect.provide(ArawnChat.make(), Layer.succeed(store, yield* store))
          const back = yield* again.get(id)
          expect(yield* back.exportJson).toBe(saved)
          expect(back.id).toBe(id)
          expect(yield* logOf(id)).toEqual([
            "user:turn 1",
            "assistant:1: you said turn 1",
            "user:turn 2",
            "assistant:3: you said turn 2",
            "user:turn 3",
            "assistant:5: you said turn 3"
          ])
          // Plain text turns are stored as their words alone: the log line says all there is.
          const lines = yield* Effect.flatMap(store, (s) => s.loadMessages(WorkstreamId.make(id)))
          expect(lines.map((m) => m.metadata)).toEqual(lines.map(() => undefined))
        }))

      it.effect("a save after one more turn appends that turn and leaves the stored messages as they were", () =>
        Effect.gen(function*() {
          const id = freshId()
          const persistence = yield* Chat.Persistence
          const chat = yield* persistence.getOrCreate(id)
          yield* chat.generateText({ prompt: "first" })
          const s = yield* store
          const before = yield* s.loadMessages(WorkstreamId.make(id))
          yield* chat.generateText({ prompt: "second" })
          const after = yield* s.loadMessages(WorkstreamId.make(id))
          expect(after.length).toBe(before.length + 2)
          expect(after.slice(0, before.length)).toEqual(before)
          // A save with nothing new writes nothing.
          yield* chat.save
          yield* chat.save
          expect((yield* s.loadMessages(WorkstreamId.make(id))).length).toBe(after.length)
          // A chat continued after a restore appends after what it restored.
          const back = yield* persistence.get(id)
          yield* back.generateText({ prompt: "third" })
          expect((yield* logOf(id)).slice(-2)).toEqual(["user:third", "assistant:5: you said third"])
        }))

      it.effect("every kind of message round-trips exactly (tool calls and results, files, reasoning, options)", () =>
        Effect.gen(function*() {
          const id = freshId()
          const persistence = yield* Chat.Persistence
          const chat = yield* persistence.getOrCreate(id)
          yield* Ref.set(chat.history, varied)
          yield* chat.save
          yield* chat.generateText({ prompt: "thanks" })
          const back = yield* persistence.get(id)
          expect(yield* back.export).toEqual(yield* chat.export)
          expect((yield* back.export)).toEqual(yield* Effect.flatMap(Chat.fromPrompt(Prompt.merge(varied, [
            { role: "user", content: [{ type: "text", text: "thanks" }] },
            { role: "assistant", content: [{ type: "text", text: "6: you said thanks" }] }
          ])), (c) => c.export))
          // Readers of the log see words where there are some, and the tool traffic by its role.
          expect(yield* logOf(id)).toEqual([
            "system:You are terse.",
            "user:what is in this file?",
            "tool_use:",
            "tool_result:",
            "assistant:It says hello.",
            "user:thanks",
            "assistant:6: you said thanks"
          ])
        }))

      it.effect("get of an unknown chat is ChatNotFoundError; an id no workstream can have is PersistenceBackingError", () =>
        Effect.gen(function*() {
          const persistence = yield* Chat.Persistence
          const missing = yield* Effect.flip(persistence.get(freshId()))
          expect(missing._tag).toBe("ChatNotFoundError")
          const bad = yield* Effect.flip(persistence.getOrCreate("not a workstream id"))
          expect(bad._tag).toBe("PersistenceError")
        }))

      it.effect("a history rewritten under the handle is refused on save, and nothing is written", () =>
        Effect.gen(function*() {
          const id = freshId()
          const persistence = yield* Chat.Persistence
          const chat = yield* persistence.getOrCreate(id)
          yield* chat.generateText({ prompt: "keep me" })
          yield* Ref.set(chat.history, Prompt.make("something else entirely"))
          const exit = yield* Effect.exit(chat.save)
          expect(Exit.isFailure(exit)).toBe(true)
          expect(yield* logOf(id)).toEqual(["user:keep me", "assistant:1: you said keep me"])
        }))

      it.effect("a workstream written by other means reads as a chat of text messages and continues", () =>
        Effect.gen(function*() {
          const s = yield* store
          const ws = yield* s.create({ title: "older thread", id: freshId() })
          yield* s.storeMessages(ws.id, [
            { role: "system", content: "be brief" },
            { role: "user", content: "hello" },
            { role: "assistant", content: "hi" }
          ])
          const chat = yield* (yield* Chat.Persistence).get(ws.id)
          expect(yield* chat.export).toEqual({
            content: [
              { role: "system", content: "be brief", options: {} },
              { role: "user", content: "hello", options: {} },
              { role: "assistant", content: "hi", options: {} }
            ]
          })
          yield* chat.generateText({ prompt: "again" })
          expect((yield* logOf(ws.id)).slice(3)).toEqual(["user:again", "assistant:4: you said again"])
        }))
    })
  })

suite("arawn-store/ai over WorkstreamStore.layerMemory", WorkstreamStore.layerMemory)
suite("arawn-store/ai over WorkstreamStore/Local", Local.layer({ dir: tempDir("arawn-ai-") }))
