/**
 * Several processes, one PostgreSQL workstream: each child appends through a store (and a pool) of its own, as app
 * instances on several machines would, while the parent reads the log. Afterwards no acknowledged message is lost,
 * each is at its acknowledged seq, seqs are 1..n gap-free and `messageCount` agrees.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Redacted } from "effect"
import { WorkstreamStore } from "arawn-store"
import { WorkstreamId } from "../src/Ids.js"
import { token } from "../src/testing/internal.js"
import * as Pg from "../src/WorkstreamStore/Pg.js"
import { PG_URL, skipPg } from "./support/pg.js"
import { bundled, runChild } from "./support/workstream-children.js"

const skip = await skipPg()
const child = bundled(fileURLToPath(new URL("./support/workstream-pg-child.ts", import.meta.url)), "workstream-pg-child")
const schema = `ws_mp_${token()}`

afterAll(async () => {
  child.cleanup()
  if (skip) return
  await Effect.runPromise(Effect.provide(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DROP SCHEMA IF EXISTS ${sql(schema)} CASCADE`),
    PgClient.layer({ url: Redacted.make(PG_URL) })
  ))
}, 60_000)

const CHILDREN = 4
const APPENDS = 500

describe.skipIf(skip)("WorkstreamStore/Pg with several processes on one workstream", () => {
  it.live(`${CHILDREN} processes x ${APPENDS} appends: none lost, seqs gap-free, counts agree`, () =>
    Effect.gen(function*() {
      const layer = Pg.layer({ url: Redacted.make(PG_URL), schema })
      const id = WorkstreamId.make(`mp_${token()}`)
      const cmd = yield* child.command
      // The children run the bundled JavaScript, not the TypeScript sources through tsx.
      expect(cmd[0]).toMatch(/\.mjs$/)
      const started = Date.now()
      const { reads, runs, torn } = yield* Effect.provide(
        Effect.gen(function*() {
          const s = yield* WorkstreamStore.WorkstreamStore
          yield* s.create({ id, title: "shared by processes" })
          let reads = 0
          let torn = 0
          const reader = yield* Effect.fork(Effect.forever(Effect.gen(function*() {
            const tail = yield* s.loadMessages(id, { limit: 50 })
            reads++
            if (tail.some((m, i) => i > 0 && m.seq !== tail[i - 1]!.seq + 1)) torn++
            yield* Effect.sleep("25 millis")
          })))
          const runs = yield* Effect.forEach(
            Array.from({ length: CHILDREN }, (_, i) => i),
            (i) => runChild(child.command, [PG_URL, schema, String(i), String(APPENDS), id], { guardMs: 240_000 }),
            { concurrency: "unbounded" }
          )
          yield* Fiber.interrupt(reader)
          return { reads, runs, torn }
        }),
        layer
      )
      for (const [i, run] of runs.entries()) {
        expect(run.stderr, `child ${i}`).toBe("")
        expect(run.stdout.endsWith("done\n"), `child ${i}`).toBe(true)
      }
      const acks = runs.flatMap((r) =>
        r.stdout.split("\n").filter((l) => l.startsWith("ack ")).map((l) => {
          const [, seq, ackId] = l.split(" ")
          return { seq: Number(seq), id: ackId! }
        })
      )
      const { messages, ws } = yield* Effect.provide(
        Effect.flatMap(WorkstreamStore.WorkstreamStore, (s) =>
          Effect.all({ messages: s.loadMessages(id), ws: Effect.map(s.get(id), Option.getOrThrow) })),
        layer
      )
      const total = CHILDREN * APPENDS
      expect(acks.length).toBe(total)
      expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      expect(new Set(messages.map((m) => m.id)).size).toBe(total)
      expect(ws.messageCount).toBe(total)
      const bySeq = new Map(messages.map((m) => [m.seq, m.id]))
      const lost = acks.filter((a) => bySeq.get(a.seq) !== a.id).length
      expect(lost).toBe(0)
      expect(torn).toBe(0)
      const seconds = (Date.now() - started) / 1000
      console.log(
        `pg multi-process: ${CHILDREN} processes x ${APPENDS} appends to one workstream; ${acks.length} acknowledged, ` +
          `${messages.length} present, 0 lost, seqs 1..${total} gap-free; ${reads} concurrent tail reads; ` +
          `${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)} appends/s)`
      )
    }), { timeout: 300_000 })
})
