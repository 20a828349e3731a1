/**
 * The program test/package.test.ts compiles beside consumer-main.ts for `arawn-store/ai` (with the DOM lib: the
 * declarations of @effect/ai's Chat reach @effect/platform's KeyValueStore, which names the DOM's `Storage`): a chat
 * through @effect/ai's own `Chat`, saved to an in-memory workstream and read back (prints one JSON line).
 */
import * as Chat from "@effect/ai/Chat"
import * as LanguageModel from "@effect/ai/LanguageModel"
import { Effect, Layer, Stream } from "effect"
import { Ids, WorkstreamStore } from "arawn-store"
import * as ArawnChat from "arawn-store/ai"

const Model = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) => Effect.succeed([{ type: "text", text: `${options.prompt.content.length} messages so far` }]),
    streamText: () => Stream.empty
  })
)

const program = Effect.gen(function*() {
  const persistence = yield* Chat.Persistence
  const chat = yield* persistence.getOrCreate("consumer_chat")
  yield* chat.generateText({ prompt: "hello" })
  const back = yield* persistence.get("consumer_chat")
  const log = yield* (yield* WorkstreamStore.WorkstreamStore).loadMessages(Ids.WorkstreamId.make(chat.id))
  return { same: (yield* back.exportJson) === (yield* chat.exportJson), log: log.map((m) => `${m.role}:${m.content}`) }
})

program.pipe(
  Effect.provide(Layer.mergeAll(ArawnChat.layer().pipe(Layer.provideMerge(WorkstreamStore.layerMemory)), Model)),
  Effect.runPromise
).then((result) => console.log(JSON.stringify(result)))
