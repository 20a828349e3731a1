/**
 * What every import shares, whatever it reads (the original runtime's files or a dump): the running tallies and
 * failures, how a read failure becomes a `StorageError`, and the writes into the target stores.
 */
import { Effect } from "effect"
import { StorageError } from "../../Errors.js"
import type { WorkstreamId } from "../../Ids.js"
import type { ImportCounts, ImportFailure, ImportReport } from "./events.js"
import type { NewMemory } from "../../Memory.js"
import type { MemoryBackend, WriteError } from "../../MemoryBackend.js"
import type { WorkstreamStore } from "../../WorkstreamStore.js"

const ID_PAGE = 1000

export const storageError = (method: string) => (cause: unknown) =>
  cause instanceof StorageError ? cause : new StorageError({ method, cause })

export const tryFs = <A>(method: string, f: () => A) => Effect.try({ try: f, catch: storageError(method) })

export class Tally {
  imported = 0
  skipped = 0
  failed = 0
  counts(): ImportCounts {
    return { imported: this.imported, skipped: this.skipped, failed: this.failed }
  }
}

/** The state of one import run, filled in by its phases. */
export class Run {
  readonly failures: Array<ImportFailure> = []
  readonly memories = new Tally()
  readonly workstreams = new Tally()
  readonly messages = new Tally()
  readonly summaries = new Tally()

  fail(tally: Tally, failure: ImportFailure): void {
    tally.failed++
    this.failures.push(failure)
  }

  report(): ImportReport {
    return {
      memories: this.memories.counts(),
      workstreams: this.workstreams.counts(),
      messages: this.messages.counts(),
      ...(this.summaries.imported + this.summaries.skipped + this.summaries.failed > 0 ? { summaries: this.summaries.counts() } : {}),
      failures: this.failures
    }
  }
}

/** Stores one batch; one bad record must not sink its batch, so an InvalidInput batch is retried one by one to name it. */
export const storeBatch = (memories: MemoryBackend["Type"], run: Run, batch: ReadonlyArray<NewMemory>): Effect.Effect<void, WriteError> =>
  batch.length === 0 ? Effect.void : memories.storeMany(batch).pipe(
    Effect.map((ids) => void (run.memories.imported += ids.length)),
    Effect.catchTag("InvalidInput", () =>
      Effect.forEach(batch, (m) =>
        memories.store(m).pipe(
          Effect.map(() => void run.memories.imported++),
          Effect.catchTag("InvalidInput", (e) =>
            Effect.sync(() => run.fail(run.memories, { entity: "memory", id: m.id ?? "?", reason: e.message }))
          )
        ), { discard: true }))
  )

/** The ids of every message the target workstream holds, read a page at a time (ids only, never contents). */
export const presentIds = (store: WorkstreamStore["Type"], id: WorkstreamId) =>
  Effect.gen(function*() {
    const ids = new Set<string>()
    let before: number | undefined
    for (;;) {
      const page = yield* store.loadMessages(id, { limit: ID_PAGE, ...(before !== undefined ? { beforeSeq: before } : {}) }).pipe(
        Effect.catchTag("NotFound", () => Effect.succeed([]))
      )
      for (const m of page) ids.add(m.id)
      if (page.length < ID_PAGE) return ids
      before = page[0]!.seq
    }
  })
