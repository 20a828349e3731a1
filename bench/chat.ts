/**
 * Effect AI chat persistence: a 2,000-turn chat driven through `@effect/ai`'s `Chat` with a scripted model, saved
 * after every turn (as a persisted chat does), on disk both ways in the same run:
 * - ours: `arawn-store/ai` over WorkstreamStore/Local (a save appends the new turn to the JSONL log and its index);
 * - `Chat.layerPersisted` over `BackingPersistence` on `KeyValueStore.layerFileSystem` (a save writes the whole
 *   history as one value).
 * Bytes written are the process's `write` bytes (`wchar` of /proc/self/io, Linux) over the whole chat, so they cover
 * the log, the SQLite index and its journal on our side; time is per turn (model + save). `--quick`: 200 turns.
 *
 * Run alone: `npx tsx --conditions=arawn-store:source bench/chat.ts [--quick]`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import * as Chat from "@effect/ai/Chat"
import * as LanguageModel from "@effect/ai/LanguageModel"
import * as Persistence from "@effect/experimental/Persistence"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Layer, ManagedRuntime, Stream } from "effect"
import * as ArawnChat from "../src/ai.js"
import * as Local from "../src/WorkstreamStore/Local.js"
import type { BenchOptions, BenchRow, Timing } from "./harness.js"
import { formatTable } from "./harness.js"

/** About 400 bytes of text a turn, as in the 800 KB, 2,000-turn chat that motivated an appendable chat store. */
const Scripted = Layer.effect(
  LanguageModel.LanguageModel,
  LanguageModel.make({
    generateText: (options) =>
      Effect.succeed([{ type: "text", text: `answer ${options.prompt.content.length}: ` + "the build is green again ".repeat(8) }]),
    streamText: () => Stream.empty
  })
)

/** Bytes this process has passed to write(2) so far, or undefined off Linux. */
const writtenBytes = (): number | undefined => {
  if (!existsSync("/proc/self/io")) return undefined
  const match = /^wchar:\s*(\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"))
  return match === null ? undefined : Number(match[1])
}

const timingOf = (samples: Array<number>, totalMs: number): Timing => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN
  return { p50Ms: at(0.5), p95Ms: at(0.95), opsPerSec: samples.length / (totalMs / 1000) }
}

/** Runs a `turns`-turn chat through `layer`'s `Chat.Persistence`; per-turn times, bytes written, chat size. */
const chatRun = async (layer: Layer.Layer<Chat.Persistence | LanguageModel.LanguageModel, unknown>, turns: number) => {
  const runtime = ManagedRuntime.make(layer)
  try {
    const chat = await runtime.runPromise(Effect.flatMap(Chat.Persistence, (p) => p.getOrCreate("bench_chat")))
    const samples: Array<number> = []
    const before = writtenBytes()
    const start = performance.now()
    for (let i = 0; i < turns; i++) {
      const t0 = performance.now()
      await runtime.runPromise(chat.generateText({ prompt: `turn ${i}: ` + "please check the deploy log and tell me ".repeat(4) }))
      samples.push(performance.now() - t0)
    }
    const total = performance.now() - start
    const after = writtenBytes()
    const size = (await runtime.runPromise(chat.exportJson)).length
    return { timing: timingOf(samples, total), bytes: before === undefined || after === undefined ? undefined : after - before, size }
  } finally {
    await runtime.dispose()
  }
}

const mb = (bytes: number | undefined) => (bytes === undefined ? "n/a" : `${(bytes / 1e6).toFixed(bytes < 1e7 ? 2 : 0)} MB`)

export const run = async (options: BenchOptions): Promise<Array<BenchRow>> => {
  const turns = options.quick ? 200 : 2000
  const dir = mkdtempSync(join(tmpdir(), "arawn-bench-chat-"))
  try {
    const ours = await chatRun(
      Layer.merge(ArawnChat.layer().pipe(Layer.provide(Local.layer({ dir: join(dir, "ours") }))), Scripted),
      turns
    )
    const kv = Chat.layerPersisted({ storeId: "bench" }).pipe(
      Layer.provide(Persistence.layerKeyValueStore),
      Layer.provide(KeyValueStore.layerFileSystem(join(dir, "kv"))),
      Layer.provide(NodeContext.layer)
    )
    const theirs = await chatRun(Layer.merge(kv, Scripted), turns)
    return [{
      area: "chat",
      operation: "Chat turn + save (arawn-store/ai on Local)",
      size: `${turns} turns, ${mb(ours.size)} chat`,
      ours: ours.timing,
      floor: { name: "Chat.layerPersisted, KV files", timing: theirs.timing },
      note: `bytes written: ours ${mb(ours.bytes)}, layerPersisted ${mb(theirs.bytes)}`
    }]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run({ quick: process.argv.includes("--quick") })
  console.log(formatTable(rows))
}
