/**
 * A child process for the two-writer test: opens the SQLite memory store at argv[2] and writes argv[4] memories
 * tagged argv[3] (single stores and small batches interleaved), then prints their ids as JSON.
 */
import { Effect, Layer } from "effect"
import * as Embedder from "../../src/Embedder.js"
import { MemoryBackend } from "../../src/MemoryBackend.js"
import * as SqliteMemory from "../../src/MemoryBackend/Sqlite.js"

const [filename, tag, countArg] = process.argv.slice(2)
const count = Number(countArg)

const program = Effect.gen(function*() {
  const m = yield* MemoryBackend
  const ids: Array<string> = []
  for (let i = 0; i < count;) {
    if (i % 4 === 0 && i + 3 <= count) {
      ids.push(...(yield* m.storeMany([0, 1, 2].map((j) => ({ content: `${tag} batch ${i + j}`, metadata: { tags: [tag!] } })))))
      i += 3
    } else {
      ids.push(yield* m.store({ content: `${tag} single ${i}`, metadata: { tags: [tag!] } }))
      i += 1
    }
  }
  return ids
})

Effect.runPromise(
  Effect.provide(program, SqliteMemory.layer({ filename: filename! }).pipe(Layer.provide(Embedder.layerHashing)))
).then(
  (ids) => process.stdout.write(JSON.stringify(ids)),
  (error) => {
    process.stderr.write(String(error))
    process.exitCode = 1
  }
)
