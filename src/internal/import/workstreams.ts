/**
 * The original runtime's workstream rows (and logs without a row), created in the target store.
 */
import { SqlSchema } from "@effect/sql"
import { Effect, Either, Option, Schema, Stream } from "effect"
import { SCRATCH_ID, WorkstreamId } from "../../Ids.js"
import type { ImportEvent } from "./events.js"
import type { WriteError } from "../../MemoryBackend.js"
import { WorkstreamState } from "../../Workstream.js"
import type { NewWorkstream } from "../../Workstream.js"
import { WorkstreamStore } from "../../WorkstreamStore.js"
import { openOriginal, storageError } from "./source.js"
import type { Run } from "./source.js"

const NullableString = Schema.NullOr(Schema.String)

export const WorkstreamRow = Schema.Struct({
  id: Schema.String,
  title: NullableString,
  summary: NullableString,
  is_scratch: Schema.NullOr(Schema.Number),
  state: NullableString,
  default_model: NullableString
})
export type WorkstreamRow = typeof WorkstreamRow.Type

const TagRow = Schema.Struct({ workstream_id: Schema.String, tag: Schema.String })

const isState = Schema.is(WorkstreamState)
const isWorkstreamId = Schema.is(WorkstreamId)

/** The original's workstream row as a `NewWorkstream` (a blank title becomes "Untitled"). @category conversions */
export const workstreamFromRow = (row: WorkstreamRow, tags: ReadonlyArray<string>): NewWorkstream => ({
  id: row.id,
  title: row.title !== null && row.title.trim().length > 0 ? row.title.slice(0, 512) : "Untitled",
  state: row.state !== null && isState(row.state) ? row.state : "active",
  tags: Array.from(new Set(tags.map((t) => t.trim()).filter((t) => t !== ""))),
  ...(row.summary !== null ? { summary: row.summary } : {}),
  ...(row.default_model !== null ? { defaultModel: row.default_model } : {})
})

interface Source {
  readonly input: NewWorkstream
  readonly id: string
}

/** The rows of `workstreams.db` with their tags, then a row for every log that has none. */
const sources = (workstreamDb: string | undefined, orphanLogs: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const method = "Import.workstreams"
    const rows: Array<Source> = []
    if (workstreamDb !== undefined) {
      const sql = yield* openOriginal(method, workstreamDb)
      const wsRows = yield* SqlSchema.findAll({
        Request: Schema.Void,
        Result: WorkstreamRow,
        execute: () => sql`SELECT id, title, summary, is_scratch, state, default_model FROM workstreams ORDER BY created_at, id`
      })(undefined).pipe(Effect.mapError(storageError(method)))
      const tagRows = yield* SqlSchema.findAll({
        Request: Schema.Void,
        Result: TagRow,
        execute: () => sql`SELECT workstream_id, tag FROM workstream_tags ORDER BY tag`
      })(undefined).pipe(Effect.mapError(storageError(method)))
      for (const row of wsRows) {
        const tags = tagRows.filter((t) => t.workstream_id === row.id).map((t) => t.tag)
        const id = row.is_scratch === 1 ? SCRATCH_ID : row.id
        rows.push({ input: workstreamFromRow({ ...row, id }, tags), id })
      }
    }
    // A log whose workstream row is missing is still a conversation worth keeping.
    const known = new Set(rows.map((r) => r.id))
    for (const id of orphanLogs) {
      if (known.has(id)) continue
      known.add(id)
      rows.push({ input: { id, title: `Imported workstream ${id}` }, id })
    }
    return rows
  })

/**
 * Creates every source workstream not yet in the target; pushes the id of each one present afterwards to `targets`
 * (their logs are read next). Progress counts workstreams.
 */
export const workstreamPhase = (
  workstreamDb: string | undefined,
  orphanLogs: ReadonlyArray<string>,
  run: Run,
  targets: Array<WorkstreamId>
): Stream.Stream<ImportEvent, WriteError, WorkstreamStore> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const store = yield* WorkstreamStore
    const tally = run.workstreams
    const importOne = (source: Source) =>
      Effect.gen(function*() {
        if (!isWorkstreamId(source.id)) {
          return run.fail(tally, { entity: "workstream", id: source.id, reason: `id ${JSON.stringify(source.id)} cannot be a directory name` })
        }
        const id = WorkstreamId.make(source.id)
        if (Option.isSome(yield* store.get(id))) {
          targets.push(id)
          return void tally.skipped++
        }
        const created = id === SCRATCH_ID
          ? Either.right(yield* store.ensureScratch())
          : yield* Effect.either(store.create(source.input))
        if (Either.isLeft(created)) return run.fail(tally, { entity: "workstream", id: source.id, reason: created.left.message })
        targets.push(id)
        tally.imported++
      })
    const rows = yield* sources(workstreamDb, orphanLogs)
    return Stream.fromIterable(rows.entries()).pipe(
      Stream.mapEffect(([i, r]) =>
        Effect.as(importOne(r), { _tag: "Progress", phase: "workstreams", done: i + 1, total: rows.length } as const)
      )
    )
  }))
