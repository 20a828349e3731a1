/**
 * `arawn-store export` (the store as a dump) and `arawn-store migrate --to` (the store copied into another one,
 * e.g. a directory into PostgreSQL, in one command).
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import * as fs from "node:fs/promises"
import { mkdirSync } from "node:fs"
import { Chunk, Effect, Redacted, Stream } from "effect"
import { InvalidInput, StorageError } from "../Errors.js"
import { SCRATCH_ID } from "../Ids.js"
import { MemoryBackend } from "../MemoryBackend.js"
import { WorkstreamStore } from "../WorkstreamStore.js"
import { reportImport } from "./import.js"
import type { Location } from "./layers.js"
import { load, storeAt } from "./layers.js"
import { locationOf, storeLocation } from "./root.js"

const failed = (cause: unknown) => new StorageError({ method: "cli.export", cause })

/** Writes `text` to stdout, waiting for the pipe to drain when it is full. */
const toStdout = (text: string) =>
  Effect.async<void>((resume) => {
    if (process.stdout.write(text)) resume(Effect.void)
    else process.stdout.once("drain", () => resume(Effect.void))
  })

/**
 * Writes the lines into `file` through a temporary file renamed at the end, so a failed export never leaves a
 * truncated dump that looks whole.
 */
const toFile = <E, R>(file: string, lines: Stream.Stream<string, E, R>) =>
  Effect.scoped(Effect.gen(function*() {
    const temp = `${file}.partial`
    const fh = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => fs.open(temp, "w"), catch: failed }),
      (h) => Effect.promise(() => h.close())
    )
    yield* Stream.runForEach(Stream.mapChunks(lines, (c) => Chunk.of(Chunk.join(c, ""))), (text) =>
      Effect.tryPromise({ try: () => fh.write(text), catch: failed }))
    yield* Effect.tryPromise({ try: () => fh.sync(), catch: failed })
    yield* Effect.tryPromise({ try: () => fs.rename(temp, file), catch: failed })
  }))

const out = Options.file("out").pipe(
  Options.withAlias("o"),
  Options.withDescription("Write the dump to this file (default: standard output)"),
  Options.optional
)

/** `arawn-store export`. @category commands */
export const exportCommand = Command.make("export", { out }, (o) =>
  Effect.gen(function*() {
    const at = yield* storeLocation("read")
    const Dump = yield* load("the dump writer", () => import("../Dump.js"))
    const lines = Dump.exportDump()
    const written = o.out._tag === "Some"
      ? toFile(o.out.value, lines)
      : Stream.runForEach(Stream.mapChunks(lines, (c) => Chunk.of(Chunk.join(c, ""))), toStdout)
    yield* Effect.provide(written, storeAt(at))
  })).pipe(Command.withDescription(
    "Write the whole store (memories with their history, workstreams, messages) as a JSON Lines dump for 'import --dump'"
  ))

const to = Options.text("to").pipe(
  Options.withDescription("Where the store goes: postgres://... or a directory")
)
const toSchema = Options.text("to-pg-schema").pipe(
  Options.withDescription("PostgreSQL schema for the tables of a --to database (default: public)"),
  Options.optional
)
const toPrefix = Options.text("to-pg-prefix").pipe(
  Options.withDescription("Prefix of the table names in a --to database (default: arawn_store)"),
  Options.optional
)

/** How many dump lines the store makes: the header, each memory, each workstream and each message. */
const lineCount = Effect.gen(function*() {
  const memories = yield* (yield* MemoryBackend).count({ includeSuperseded: true })
  const store = yield* WorkstreamStore
  let total = 1 + memories
  const scratch = yield* store.get(SCRATCH_ID)
  if (scratch._tag === "Some") total += 1 + scratch.value.messageCount
  let cursor: string | undefined
  do {
    const page = yield* store.list({ limit: 1000, ...(cursor !== undefined ? { cursor } : {}) })
    for (const w of page.items) if (!w.isScratch) total += 1 + w.messageCount
    cursor = page.nextCursor._tag === "Some" ? page.nextCursor.value : undefined
  } while (cursor !== undefined)
  return total
})

const same = (a: Location, b: Location) =>
  a._tag === "Dir" && b._tag === "Dir"
    ? a.dir === b.dir
    : a._tag === "Url" && b._tag === "Url" && Redacted.value(a.url) === Redacted.value(b.url) &&
      (a.schema ?? "public") === (b.schema ?? "public") && (a.prefix ?? "arawn_store") === (b.prefix ?? "arawn_store")

/** `arawn-store migrate`. @category commands */
export const migrateCommand = Command.make("migrate", { to, toSchema, toPrefix }, (o) =>
  Effect.gen(function*() {
    const source = yield* storeLocation("read")
    const target = yield* locationOf(o.to, { schema: o.toSchema, prefix: o.toPrefix })
    if (same(source, target)) return yield* new InvalidInput({ method: "migrate", message: "--to names the store itself" })
    if (target._tag === "Dir") {
      yield* Effect.try({ try: () => mkdirSync(target.dir, { recursive: true }), catch: failed })
    }
    const Dump = yield* load("the dump reader", () => import("../Dump.js"))
    const total = yield* Effect.provide(lineCount, storeAt(source))
    const lines = Stream.provideLayer(Dump.exportDump(), storeAt(source))
    yield* Effect.provide(reportImport(Dump.importDump(lines, { total })), storeAt(target))
  })).pipe(Command.withDescription(
    "Copy the whole store into another (a PostgreSQL database or a directory), with progress; re-running adds nothing twice"
  ))
