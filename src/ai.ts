/**
 * Effect AI chat persistence over a `WorkstreamStore`: `@effect/ai`'s `Chat.Persistence`, where a chat is a
 * workstream and each of its messages one message of the workstream's log.
 *
 * `Chat.layerPersisted` saves a chat by writing its whole history as one value on every save, so a chat of n turns
 * costs O(n²) bytes over its life. Here a save appends only the messages the log does not hold yet (one turn per
 * turn), `get` reads the log back into exactly the history that was saved, and the log stays readable by everything
 * else that reads workstreams (`loadMessages`, `searchMessages`, the command line).
 *
 * @since 0.1.0
 */
import * as Chat from "@effect/ai/Chat"
import * as AiError from "@effect/ai/AiError"
import * as Prompt from "@effect/ai/Prompt"
import { PersistenceBackingError } from "@effect/experimental/Persistence"
import { Effect, Layer, Option, Ref, Schema, Stream } from "effect"
import type { ParseError } from "effect/ParseResult"
import { WorkstreamId } from "./Ids.js"
import { isObject, JsonObject } from "./Json.js"
import type { Message, MessageRole, NewMessage } from "./Workstream.js"
import { WorkstreamStore } from "./WorkstreamStore.js"

/**
 * The key under which each stored message's metadata holds its `Prompt.Message` exactly as `@effect/ai` encodes it.
 *
 * @category constants
 */
export const PROMPT_KEY = "effectAiMessage"

/** @category options */
export interface Options {
  /** The title of a workstream made for a new chat (default: `Chat <chatId>`). */
  readonly title?: (chatId: string) => string
  /** Tags of a workstream made for a new chat (default: `["chat"]`). */
  readonly tags?: ReadonlyArray<string>
}

const encodeMessage = Schema.encode(Prompt.Message)
const decodeMessage = Schema.decodeUnknown(Prompt.Message)
const decodeChatId = Schema.decodeUnknown(WorkstreamId)
/** An encoded message is JSON unless a part holds bytes or a URL object, which a log cannot keep as they are. */
const toJson = Schema.decodeUnknown(JsonObject)

/** The words of a message (its text parts), which `searchMessages` and people read; tool traffic has none. */
const textOf = (message: Prompt.Message): string => {
  if (message.role === "system") return message.content
  let text = ""
  for (const part of message.content) {
    if (part.type === "text") text = text === "" ? part.text : `${text}\n${part.text}`
  }
  return text
}

/** The log role of a message: an assistant turn that only calls tools is `tool_use`, as the original runtime wrote. */
const roleOf = (message: Prompt.Message, text: string): MessageRole => {
  switch (message.role) {
    case "tool":
      return "tool_result"
    case "assistant":
      return text === "" && message.content.some((p) => p.type === "tool-call") ? "tool_use" : "assistant"
    default:
      return message.role
  }
}

/** A message of a log this module did not write (or an older one): text of the nearest Prompt role. */
const foreignMessage = (message: Message): unknown => {
  switch (message.role) {
    case "system":
      return { role: "system", content: message.content }
    case "assistant":
    case "tool_use":
      return { role: "assistant", content: [{ type: "text", text: message.content }] }
    default:
      return { role: "user", content: [{ type: "text", text: message.content }] }
  }
}

const backing = (method: string) => (cause: unknown) => PersistenceBackingError.make(method, cause)

const malformed = (method: string, description: string) => (error: ParseError) =>
  AiError.MalformedOutput.fromParseError({ module: "ArawnChat", method, description, error })

/**
 * A message its log line says in full: plain text of a role the log has, no options. Such a message is stored as
 * its words alone (it reads back as `foreignMessage` makes it), which halves the bytes of a plain chat.
 */
const isPlain = (encoded: JsonObject, text: string): boolean => {
  const options = encoded["options"]
  return (encoded["role"] === "user" || encoded["role"] === "assistant" || encoded["role"] === "system") &&
    encoded["content"] === text && text.trim() !== "" &&
    (options === undefined || (isObject(options) && Object.keys(options).length === 0)) &&
    Object.keys(encoded).every((key) => key === "role" || key === "content" || key === "options")
}

/** The log message of one Prompt message: its text for readers, the exact encoded message in metadata. */
const toNewMessage = (message: Prompt.Message) =>
  Effect.map(Effect.flatMap(encodeMessage(message), toJson), (encoded): NewMessage => {
    const text = textOf(message)
    const role = roleOf(message, text)
    // Only tool messages may be empty in a log; anything else without words shows what it holds instead.
    const content = text.trim() !== "" || role === "tool_use" || role === "tool_result"
      ? text
      : `[${message.role === "system" ? "system" : message.content.map((p) => p.type).join(", ") || message.role}]`
    return isPlain(encoded, text) ? { role, content } : { role, content, metadata: { [PROMPT_KEY]: encoded } }
  })

/** The Prompt message a log message holds (or the text message it reads as, for a log written by others). */
const fromLogMessage = (message: Message) => {
  const stored = message.metadata?.[PROMPT_KEY]
  return decodeMessage(stored !== undefined && isObject(stored) ? stored : foreignMessage(message))
}

/**
 * The `Chat.Persistence` service over the `WorkstreamStore` in context. The chat id is the workstream id (letters,
 * digits, `_` and `-`, at most 128; another id fails with `PersistenceBackingError`). `getOrCreate` creates the
 * workstream when it is absent; `get` fails with `ChatNotFoundError` then. A save appends the messages added since
 * the last save, in one atomic `storeMessages`; the log is append-only, so a save whose history no longer starts
 * with what is stored (the history `Ref` was rewritten) fails with `PersistenceBackingError` and writes nothing.
 * `timeToLive` is ignored: a chat lives as long as its workstream. One handle saves one chat at a time; two
 * handles of one chat (two processes) must not both save, as with any `Chat.Persistence`.
 *
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Chat.Persistence["Type"], never, WorkstreamStore> =>
  Effect.map(WorkstreamStore, (store) => {
    const title = options?.title ?? ((chatId: string) => `Chat ${chatId}`)
    const tags = options?.tags ?? ["chat"]

    const workstreamOf = (method: string, chatId: string) =>
      Effect.mapError(decodeChatId(chatId), backing(method))

    const load = (method: string, id: WorkstreamId) =>
      store.loadMessages(id).pipe(
        Effect.mapError(backing(method)),
        Effect.flatMap(Effect.forEach((m) => Effect.mapError(fromLogMessage(m), backing(method))))
      )

    /** A handle over `chat`, whose history's first `stored.length` messages are those in the log. */
    const persisted = (id: WorkstreamId, chat: Chat.Service, stored: Array<Prompt.Message>): Effect.Effect<Chat.Persisted> =>
      Effect.map(Effect.makeSemaphore(1), (lock) => {
        const save = lock.withPermits(1)(Effect.gen(function*() {
          const history = (yield* Ref.get(chat.history)).content
          if (history.length < stored.length || !(yield* sameStart(history, stored))) {
            return yield* Effect.fail(PersistenceBackingError.make(
              "ArawnChat.save",
              new Error(`the history of chat ${id} no longer starts with the ${stored.length} messages stored; its log is append-only`)
            ))
          }
          if (history.length === stored.length) return
          const fresh = history.slice(stored.length)
          const inputs = yield* Effect.forEach(fresh, (m) =>
            Effect.catchTag(toNewMessage(m), "ParseError", malformed("save", "Failed to encode a chat message")))
          yield* Effect.mapError(store.storeMessages(id, inputs), backing("ArawnChat.save"))
          stored.push(...fresh)
        }))
        // The handle's methods keep `Chat.Service`'s types, which have no place for a storage error. Rather than a
        // defect, a save that fails after a generation is logged and left pending: `stored` still ends before the
        // unsaved turns, so the next save (or an explicit, typed `save`) appends them.
        const saveAfter = Effect.catchAll(save, (error) =>
          Effect.logWarning("a chat save after a generation failed; the next save appends the pending turns", error).pipe(
            Effect.annotateLogs({ chatId: id })
          ))
        return {
          ...chat,
          id,
          save,
          generateText: (options) => Effect.ensuring(chat.generateText(options), saveAfter),
          generateObject: (options) => Effect.ensuring(chat.generateObject(options), saveAfter),
          streamText: (options) => Stream.ensuring(chat.streamText(options), saveAfter)
        }
      })

    const restore = (method: string, id: WorkstreamId) =>
      Effect.gen(function*() {
        const messages = yield* load(method, id)
        const chat = yield* Chat.fromPrompt(Prompt.fromMessages(messages))
        return yield* persisted(id, chat, [...(yield* Ref.get(chat.history)).content])
      })

    const exists = (method: string, id: WorkstreamId) =>
      Effect.map(Effect.mapError(store.get(id), backing(method)), Option.isSome)

    const get = Effect.fn("ArawnChat.get")(function*(chatId: string) {
      const id = yield* workstreamOf("ArawnChat.get", chatId)
      if (!(yield* exists("ArawnChat.get", id))) return yield* new Chat.ChatNotFoundError({ chatId })
      return yield* restore("ArawnChat.get", id)
    })

    const getOrCreate = Effect.fn("ArawnChat.getOrCreate")(function*(chatId: string) {
      const method = "ArawnChat.getOrCreate"
      const id = yield* workstreamOf(method, chatId)
      if (!(yield* exists(method, id))) {
        yield* store.create({ id, title: title(chatId), tags }).pipe(
          // Another caller created it in between: the chat exists now, which is all this asked for.
          Effect.catchTag("InvalidInput", (error) =>
            Effect.flatMap(exists(method, id), (there) => there ? Effect.void : Effect.fail(backing(method)(error)))),
          Effect.mapError(backing(method))
        )
      }
      return yield* restore(method, id)
    })

    return Chat.Persistence.of({ get, getOrCreate })
  })

/** True when `history` starts with `stored`: the same objects (the usual case, checked first) or equal encodings. */
const sameStart = (history: ReadonlyArray<Prompt.Message>, stored: ReadonlyArray<Prompt.Message>) =>
  Effect.gen(function*() {
    for (let i = 0; i < stored.length; i++) {
      if (history[i] === stored[i]) continue
      const [a, b] = yield* Effect.all([encodeMessage(history[i]!), encodeMessage(stored[i]!)]).pipe(
        Effect.catchTag("ParseError", malformed("save", "Failed to encode a chat message"))
      )
      if (JSON.stringify(a) !== JSON.stringify(b)) return false
    }
    return true
  })

/**
 * `Chat.Persistence` over the `WorkstreamStore` in context (see `make`): provide it where `Chat.layerPersisted`
 * would go, over any WorkstreamStore layer (`layerMemory`, Local, Pg).
 *
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Chat.Persistence, never, WorkstreamStore> =>
  Layer.effect(Chat.Persistence, make(options))
