/**
 * PostgreSQL workstream rows: tail reads on a long workstream and appends from 4 connections at once, on the
 * machine's PostgreSQL (127.0.0.1:5432, database `test`, a schema of their own), each beside raw SQL through `pg`
 * on a plain table of the same shape.
 */
import { randomUUID } from "node:crypto"
import pg from "pg"
import type { Client } from "pg"
import { Effect, ManagedRuntime, Redacted } from "effect"
import type { WorkstreamId } from "../src/Ids.js"
import { WorkstreamStore } from "../src/WorkstreamStore.js"
import * as PgWorkstreamStore from "../src/WorkstreamStore/Pg.js"
import type { BenchRow } from "./harness.js"
import { measure } from "./harness.js"

const AREA = "workstream-pg"
const URL = "postgres://postgres@127.0.0.1:5432/test"
const SCHEMA = "bench_ws"

const content = (i: number) => `message ${i}: the deploy script lives in ops/deploy.sh and runs the migrations first`

const rawTable = async (client: Client, n: number) => {
  await client.query(`CREATE TABLE ${SCHEMA}.raw_ws (id text PRIMARY KEY, message_count integer NOT NULL)`)
  await client.query(`CREATE TABLE ${SCHEMA}.raw_messages (workstream text NOT NULL, seq integer NOT NULL, id text NOT NULL,
    role text NOT NULL, content text NOT NULL, timestamp double precision NOT NULL, PRIMARY KEY (workstream, seq))`)
  await client.query(`INSERT INTO ${SCHEMA}.raw_ws VALUES ('tail', $1), ('appends', 0)`, [n])
  await client.query(`INSERT INTO ${SCHEMA}.raw_messages SELECT 'tail', g, md5(g::text), 'user', 'message ' || g, g FROM generate_series(1, $1) g`, [n])
}

/** The floor's append: the same one statement shape as ours (lock the row, insert after its count, move it). */
const rawAppend = (client: Client) =>
  client.query(`WITH locked AS (SELECT message_count FROM ${SCHEMA}.raw_ws WHERE id = 'appends' FOR UPDATE),
    ins AS (INSERT INTO ${SCHEMA}.raw_messages SELECT 'appends', locked.message_count + 1, $1, 'user', $2, 0 FROM locked)
    UPDATE ${SCHEMA}.raw_ws SET message_count = message_count + 1 WHERE id = 'appends'`, [randomUUID(), content(0)])

export const workstreamRows = async (quick: boolean): Promise<Array<BenchRow>> => {
  const n = quick ? 10_000 : 100_000
  const admin = new pg.Client({ connectionString: URL })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await admin.query(`CREATE SCHEMA ${SCHEMA}`)
  const runtime = ManagedRuntime.make(PgWorkstreamStore.layer({ url: Redacted.make(URL), schema: SCHEMA, maxConnections: 4 }))
  const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: URL }))
  try {
    await Promise.all(clients.map((c) => c.connect()))
    await rawTable(admin, n)
    const store = await runtime.runPromise(WorkstreamStore)
    const tail = await runtime.runPromise(store.create({ title: "tail" }))
    for (let offset = 0; offset < n; offset += 1000) {
      await runtime.runPromise(store.storeMessages(tail.id, Array.from({ length: 1000 }, (_, i) => ({ role: "user" as const, content: content(offset + i) }))))
    }
    const size = `${n / 1000}k msgs`
    const floorTail = await measure(() => admin.query(`SELECT seq, id, role, content, timestamp FROM ${SCHEMA}.raw_messages
      WHERE workstream = 'tail' ORDER BY seq DESC LIMIT 50`), { batches: 200 })
    const oursTail = await measure(() => runtime.runPromise(store.loadMessages(tail.id, { limit: 50 })), { batches: 200 })
    const appends = await runtime.runPromise(store.create({ title: "appends" }))
    const perConnection = quick ? 100 : 500
    const concurrently = async (one: (i: number) => Promise<unknown>) => {
      const t0 = performance.now()
      await Promise.all(Array.from({ length: 4 }, async (_, i) => {
        for (let k = 0; k < perConnection; k++) await one(i)
      }))
      const ms = performance.now() - t0
      return { p50Ms: ms / (4 * perConnection), p95Ms: NaN, opsPerSec: (4 * perConnection) / (ms / 1000) }
    }
    const floorAppend = await concurrently((i) => rawAppend(clients[i]!))
    const oursAppend = await concurrently(() =>
      runtime.runPromise(Effect.asVoid(store.storeMessage(appends.id as WorkstreamId, { role: "user", content: content(0) }))))
    return [
      { area: AREA, operation: "loadMessages limit 50", size, ours: oursTail, floor: { name: "raw SELECT ... ORDER BY seq DESC LIMIT 50", timing: floorTail } },
      {
        area: AREA,
        operation: "storeMessage, 4 connections at once",
        size: `${4 * perConnection} appends`,
        ours: oursAppend,
        floor: { name: "raw one-statement append under the row lock", timing: floorAppend },
        note: "p50 = wall time per append; every append commits (fsync) on the real server"
      }
    ]
  } finally {
    await runtime.dispose()
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)))
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined)
    await admin.end().catch(() => undefined)
  }
}
