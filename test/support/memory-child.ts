/**
 * A child process for the multi-process MemoryBackend tests. `argv[2]` is a JSON job:
 * - `{ file, dims, job: "write", tag, count }` stores `count` memories tagged `tag` (single stores and batches
 *   interleaved) and prints each acknowledged id on its own line as it is acknowledged;
 * - `{ file, dims, job: "facts", tag, subject, count }` calls storeFact `count` times on one subject+predicate;
 * - `{ file, dims, job: "reindex" }` runs reindex to completion and prints `reindexed <n>`.
 * A failure prints `failed <tag>` and exits 1.
 */
import { Effect, Layer, Stream } from "effect"
import * as Embedder from "../../src/Embedder.js"
import { MemoryBackend } from "../../src/MemoryBackend.js"
import * as SqliteMemory from "../../src/MemoryBackend/Sqlite.js"

interface Job {
  readonly file: string
  readonly dims: number
  readonly job: "write" | "facts" | "reindex"
  readonly tag?: string
  readonly subject?: string
  readonly count?: number
}

const job: Job = JSON.parse(process.argv[2] ?? "{}")
const ack = (line: string) => Effect.sync(() => void process.stdout.write(`${line}\n`))

const program = Effect.gen(function*() {
  const m = yield* MemoryBackend
  const tag = job.tag ?? "x"
  const count = job.count ?? 0
  if (job.job === "reindex") {
    let done = 0
    yield* Stream.runForEach(m.reindex(), (p) => Effect.sync(() => void (done = p.done)))
    return yield* ack(`reindexed ${done}`)
  }
  for (let i = 0; i < count;) {
    if (job.job === "facts") {
      const r = yield* m.storeFact({ content: `${tag} says value ${i}`, metadata: { subject: job.subject!, predicate: "is", tags: [tag] } })
      yield* ack(`${r.outcome} ${r.id}`)
      i++
    } else if (i % 4 === 0 && i + 3 <= count) {
      const ids = yield* m.storeMany([0, 1, 2].map((j) => ({ content: `${tag} batch ${i + j} shared words`, metadata: { tags: [tag] } })))
      for (const id of ids) yield* ack(id)
      i += 3
    } else {
      yield* ack(yield* m.store({ content: `${tag} single ${i} shared words`, metadata: { tags: [tag] } }))
      i++
    }
  }
})

Effect.runPromise(Effect.provide(
  program,
  // A busy timeout far above the default: on a loaded 2-core machine a writer can wait seconds for the file's lock,
  // and this test is about what is acknowledged, not about how long a writer waits.
  SqliteMemory.layer({ filename: job.file, busyTimeout: "60 seconds" }).pipe(
    Layer.provide(Embedder.layerHashingWith({ dimensions: job.dims }))
  )
)).then(
  () => undefined,
  (error) => {
    process.stdout.write(`failed ${String(error).split("\n")[0]}\n`)
    process.exitCode = 1
  }
)
