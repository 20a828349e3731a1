/**
 * A child process for the multi-process SessionStore tests: one tiered store on `argv` (port, prefix, session id),
 * driven line by line over stdin, one answer line per command on stdout:
 * - `put <n>` puts the session with note n: `put <n> ok` or `put <n> err <tag>`;
 * - `get` answers `get <note> <version>`, `get none`, or `get err <tag>`;
 * - `read` gets the session and remembers its version (0 when absent): `read <version>` or `read err <tag>`;
 * - `cas <n>` puts note n with the remembered version expected: `cas won`, `cas lost`, or `cas err <tag>`;
 * - `exit` closes the store and exits.
 */
import * as readline from "node:readline"
import { DateTime, Effect, Either, Exit, Option, Scope } from "effect"
import { SessionId, TurnId, WorkstreamId } from "../../src/Ids.js"
import { Session, Turn } from "../../src/Session.js"
import * as Tiered from "../../src/SessionStore/Tiered.js"

const [port, prefix, rawId] = process.argv.slice(2)
const id = SessionId.make(rawId!)
const at = DateTime.unsafeMake("2026-11-01T10:00:00.000Z")
const session = (note: string) =>
  new Session({
    id,
    workstreamId: WorkstreamId.make("ws-mp"),
    turns: [new Turn({ id: TurnId.make("00000000-0000-4000-8000-000000000001"), userMessage: note, toolCalls: [], toolResults: [], startedAt: at })],
    metadata: { note },
    createdAt: at,
    updatedAt: at
  })

const scope = Effect.runSync(Scope.make())
const store = await Effect.runPromise(
  Scope.extend(Tiered.make({ host: "127.0.0.1", port: Number(port), prefix, commandTimeout: 1_000 }), scope)
)
const say = (line: string) => void process.stdout.write(`${line}\n`)
const tag = (e: { readonly _tag: string }) => e._tag
let remembered = 0

const handle = async (line: string) => {
  const [command, arg = ""] = line.split(" ")
  switch (command) {
    case "put": {
      const r = await Effect.runPromise(Effect.either(store.put(id, session(arg))))
      return say(Either.isRight(r) ? `put ${arg} ok` : `put ${arg} err ${tag(r.left)}`)
    }
    case "get": {
      const r = await Effect.runPromise(Effect.either(store.get(id)))
      if (Either.isLeft(r)) return say(`get err ${tag(r.left)}`)
      return say(Option.match(r.right, { onNone: () => "get none", onSome: (s) => `get ${s.turns[0]?.userMessage} ${s.version}` }))
    }
    case "read": {
      const r = await Effect.runPromise(Effect.either(store.get(id)))
      if (Either.isLeft(r)) return say(`read err ${tag(r.left)}`)
      remembered = Option.match(r.right, { onNone: () => 0, onSome: (s) => s.version })
      return say(`read ${remembered}`)
    }
    case "cas": {
      const r = await Effect.runPromise(Effect.either(store.put(id, session(arg), { expectedVersion: remembered })))
      if (Either.isRight(r)) return say("cas won")
      return say(r.left._tag === "Conflict" ? "cas lost" : `cas err ${tag(r.left)}`)
    }
    case "exit": {
      await Effect.runPromise(Scope.close(scope, Exit.void))
      return process.exit(0)
    }
  }
}

// One command at a time, in order: the parent waits for each answer anyway.
let queue = Promise.resolve()
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(() => handle(line))
})
say("ready")
