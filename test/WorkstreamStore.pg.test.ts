/**
 * The PostgreSQL WorkstreamStore against the machine's real PostgreSQL (127.0.0.1:5432, database `test`), every
 * layer in a fresh schema of its own, dropped when the file ends.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { WorkstreamStore } from "arawn-store"
import { WorkstreamStoreModel, WorkstreamStoreSuite } from "arawn-store/testing"
import { WorkstreamId } from "../src/Ids.js"
import { token } from "../src/testing/internal.js"
import { MAX_MESSAGE_CONTENT } from "../src/Workstream.js"
import * as Pg from "../src/WorkstreamStore/Pg.js"
import { pgModelOps } from "./support/modelOps.js"
import { PG_URL, skipPg } from "./support/pg.js"

const skip = await skipPg()

const schemas: Array<string> = []
/** A schema no other run uses, dropped when the file ends. */
const freshSchema = () => {
  const schema = `ws_${token()}`
  schemas.push(schema)
  return schema
}
const onPg = (options: Partial<Pg.ConnectionOptions> = {}) =>
  Pg.layer({ url: Redacted.make(PG_URL), schema: freshSchema(), ...options })

/** A plain client on the same database, for what a test checks beside the store. */
const raw = PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 2 })
const withSql = <A, E>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.provide(Effect.flatMap(SqlClient.SqlClient, f), raw)

afterAll(async () => {
  if (skip || schemas.length === 0) return
  await Effect.runPromise(withSql((sql) => Effect.forEach(schemas, (s) => sql`DROP SCHEMA IF EXISTS ${sql(s)} CASCADE`, { discard: true })))
}, 60_000)

const store = WorkstreamStore.WorkstreamStore

describe.skipIf(skip)("WorkstreamStore/Pg", () => {
  WorkstreamStoreSuite.suite("WorkstreamStore/Pg suite", onPg())
  WorkstreamStoreModel.suite("WorkstreamStore/Pg against the model", onPg(), { runs: pgModelOps() / 100 })

  it.effect("separators, lone surrogates, NUL and 16 MiB contents round-trip exactly through a reopen; storable text stays plain text", () =>
    Effect.gen(function*() {
      const schema = freshSchema()
      const at = Pg.layer({ url: Redacted.make(PG_URL), schema })
      const contents = [
        "line\u2028separator\u2029paragraph",
        "lone high \uD800 and lone low \uDC00 and reversed \uDC00\uD800",
        "nul \u0000 and control \u0001\u001f and del \u007f",
        "\r\n\n\r",
        "\uDBFF",
        "é".repeat(MAX_MESSAGE_CONTENT),
        "🦀".repeat(MAX_MESSAGE_CONTENT / 2)
      ]
      const ws = yield* Effect.provide(Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "unicode" })
        const refused = yield* Effect.flip(s.storeMessage(ws.id, { role: "user", content: "x", metadata: { bad: "\u0000" } }))
        expect(refused._tag).toBe("InvalidInput")
        // Blank content is a tool's output only (any other message must say something).
        yield* s.storeMessages(ws.id, contents.slice(0, 5).map((content, i) => ({ role: i === 3 ? "tool_result" as const : "user" as const, content, metadata: { z: 1, a: [content.length] } })))
        yield* s.storeMessage(ws.id, { role: "tool_result", content: contents[5]! })
        yield* s.storeMessage(ws.id, { role: "tool_result", content: contents[6]! })
        return ws
      }), at)
      const loaded = yield* Effect.provide(Effect.flatMap(store, (s) => s.loadMessages(ws.id)), at)
      expect(loaded.length).toBe(contents.length)
      for (const [i, m] of loaded.entries()) expect(m.content === contents[i], `content ${i}`).toBe(true)
      // Metadata keeps its key order (a json column keeps the text it was given).
      expect(Object.keys(loaded[0]!.metadata!)).toEqual(["z", "a"])
      const stored = yield* withSql((sql) =>
        sql`SELECT seq, content, content_utf16 IS NULL AS plain FROM ${sql(`${schema}.arawn_store_workstream_messages`)}
          WHERE seq <= 5 ORDER BY seq`)
      expect(stored.map((r) => r["plain"])).toEqual([true, false, false, true, false])
      expect(stored[2]!["content"]).toBe("nul \uFFFD and control \u0001\u001f and del \u007f")
    }), { timeout: 120_000 })

  it.effect("a fork copies exact contents and metadata as stored; a message of more distinct words than a tsvector holds stores and is found", () =>
    Effect.gen(function*() {
      const word = token()
      yield* Effect.provide(Effect.gen(function*() {
        const s = yield* store
        const ws = yield* s.create({ title: "exact" })
        const contents = [`nul \u0000 ${word}`, `lone \uD800 ${word}`, `${word} plain`]
        yield* s.storeMessages(ws.id, contents.map((content) => ({ role: "user" as const, content, metadata: { z: 1, a: content.length } })))
        // ~2.6 MB of distinct words: its whole tsvector would pass PostgreSQL's 1 MiB bound and fail the insert.
        const huge = `${word} ${Array.from({ length: 300_000 }, (_, i) => `w${i}`).join(" ")}`
        yield* s.storeMessage(ws.id, { role: "tool_result", content: huge })
        const fork = yield* s.fork(ws.id, { title: "copy", copy: true })
        const copied = yield* s.loadMessages(fork.id)
        expect(copied.map((m) => m.content === [...contents, huge][m.seq - 1])).toEqual([true, true, true, true])
        expect(Object.keys(copied[0]!.metadata!)).toEqual(["z", "a"])
        const hits = yield* s.searchMessages(word, { limit: 100 })
        expect(hits.length).toBe(8)
        expect(new Set(hits.map((h) => h.workstreamId))).toEqual(new Set([ws.id, fork.id]))
        // The source's hits and the fork's tie on score and timestamp: workstream id, then seq, decide.
        const [first, second] = [ws.id, fork.id].sort()
        const tied = hits.filter((h) => h.seq === 3)
        expect(tied.map((h) => h.workstreamId)).toEqual([first, second])
        expect((yield* s.searchMessages("w299999", { workstreamIds: [ws.id] })).length).toBe(0)
      }), onPg())
    }), { timeout: 120_000 })

  it.effect("appends from several connections of one layer and from a second layer: seqs 1..n gap-free, counts agree", () =>
    Effect.gen(function*() {
      const schema = freshSchema()
      const a = Pg.layer({ url: Redacted.make(PG_URL), schema, maxConnections: 6 })
      const b = Pg.layer({ url: Redacted.make(PG_URL), schema, maxConnections: 6 })
      const id = WorkstreamId.make(`shared_${token()}`)
      yield* Effect.provide(Effect.flatMap(store, (s) => s.create({ id, title: "shared" })), a)
      const writer = (who: string) =>
        Effect.flatMap(store, (s) =>
          Effect.forEach(
            Array.from({ length: 60 }, (_, i) => i),
            (i) => i % 5 === 0
              ? s.storeMessages(id, [{ role: "user", content: `${who}-${i}a` }, { role: "user", content: `${who}-${i}b` }])
              : Effect.map(s.storeMessage(id, { role: "user", content: `${who}-${i}` }), (m) => [m]),
            { concurrency: 6 }
          ))
      const [fromA, fromB] = yield* Effect.all([Effect.provide(writer("a"), a), Effect.provide(writer("b"), b)], { concurrency: 2 })
      const acked = [...fromA, ...fromB].flat()
      const { messages, ws } = yield* Effect.provide(
        Effect.flatMap(store, (s) => Effect.all({ messages: s.loadMessages(id), ws: Effect.map(s.get(id), Option.getOrThrow) })),
        b
      )
      expect(acked.length).toBe(2 * 72)
      expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1))
      expect(ws.messageCount).toBe(acked.length)
      const bySeq = new Map(messages.map((m) => [m.seq, m.id]))
      for (const m of acked) expect(bySeq.get(m.seq)).toBe(m.id)
      for (const batch of [...fromA, ...fromB]) if (batch.length === 2) expect(batch[1]!.seq).toBe(batch[0]!.seq + 1)
    }), { timeout: 120_000 })

  it.effect("compare-and-set across two layers (two pools, as two instances): exactly one wins each round", () =>
    Effect.gen(function*() {
      const schema = freshSchema()
      const layers = yield* Effect.forEach([0, 1], () => Layer.build(Pg.layer({ url: Redacted.make(PG_URL), schema, maxConnections: 4 })))
      const ws = yield* Effect.provide(Effect.flatMap(store, (s) => s.create({ title: "contended" })), layers[0]!)
      for (let round = 0; round < 5; round++) {
        const outcomes = yield* Effect.all(
          layers.flatMap((l, li) =>
            [0, 1, 2].map((k) => Effect.provide(Effect.either(Effect.flatMap(store, (s) => s.update(ws.id, { title: `r${round} l${li} k${k}` }, { expected: round }))), l))
          ),
          { concurrency: "unbounded" }
        )
        expect(outcomes.filter(Either.isRight).length).toBe(1)
        expect(outcomes.filter((o) => Either.isLeft(o) && o.left._tag === "Conflict").length).toBe(5)
      }
      const final = yield* Effect.provide(Effect.map(Effect.flatMap(store, (s) => s.get(ws.id)), Option.getOrThrow), layers[1]!)
      expect(final.version).toBe(5)
    }).pipe(Effect.scoped), { timeout: 120_000 })

  it.effect("a tail read walks the (workstream, seq) key backwards and stops after the limit", () =>
    Effect.gen(function*() {
      const schema = freshSchema()
      const at = Pg.layer({ url: Redacted.make(PG_URL), schema })
      const id = WorkstreamId.make(`long_${token()}`)
      yield* Effect.provide(Effect.gen(function*() {
        const s = yield* store
        yield* s.create({ id, title: "long" })
        for (let i = 0; i < 20; i++) {
          yield* s.storeMessages(id, Array.from({ length: 1000 }, (_, j) => ({ role: "user" as const, content: `m ${i * 1000 + j}` })))
        }
        expect((yield* s.loadMessages(id, { limit: 3 })).map((m) => m.seq)).toEqual([19_998, 19_999, 20_000])
      }), at)
      const messages = `${schema}.arawn_store_workstream_messages`
      const workstreams = `${schema}.arawn_store_workstreams`
      // The statement shape of the driver's load.
      const plan = yield* withSql((sql) =>
        Effect.zipRight(
          sql`ANALYZE ${sql(messages)}`,
          sql`EXPLAIN (ANALYZE, FORMAT JSON) SELECT w.id, m.seq FROM ${sql(workstreams)} w LEFT JOIN LATERAL
            (SELECT * FROM ${sql(messages)} m WHERE m.workstream = w.id ORDER BY m.seq DESC LIMIT ${10}) m ON true
            WHERE w.id = ${id}`
        ))
      const text = JSON.stringify(plan)
      expect(text).toContain("\"Scan Direction\":\"Backward\"")
      expect(text).toContain("arawn_store_workstream_messages_pkey")
      expect(text).not.toContain("\"Sort\"")
      // The scan reads the 10 rows it returns, not the log's 20,000.
      expect(text).toMatch(/"Relation Name":"arawn_store_workstream_messages"[^}]*"Actual Rows":10,/)
    }), { timeout: 120_000 })

  it.effect("two layers opening one new schema at once both succeed; prefixes keep stores apart; bad names are InvalidInput", () =>
    Effect.gen(function*() {
      const schema = freshSchema()
      const made = yield* Effect.all(
        [0, 1, 2].map(() => Effect.provide(Effect.flatMap(store, (s) => s.create({ title: "opened" })), Pg.layer({ url: Redacted.make(PG_URL), schema }))),
        { concurrency: "unbounded" }
      )
      expect(made.length).toBe(3)
      const other = Pg.layer({ url: Redacted.make(PG_URL), schema, prefix: "other" })
      expect((yield* Effect.provide(Effect.flatMap(store, (s) => s.list()), other)).items).toEqual([])
      for (const options of [{ schema: "bad-schema" }, { prefix: "x;drop" }, { schema: "" }]) {
        const e = yield* Effect.flip(Effect.provide(Effect.flatMap(store, (s) => s.list()), Pg.layer({ url: Redacted.make(PG_URL), ...options })))
        expect(e._tag).toBe("InvalidInput")
      }
      const unreachable = yield* Effect.flip(Effect.provide(
        Effect.flatMap(store, (s) => s.list()),
        Pg.layer({ url: Redacted.make("postgres://postgres@127.0.0.1:1/test"), connectTimeout: "2 seconds" })
      ))
      expect(unreachable._tag).toBe("StorageError")
    }), { timeout: 120_000 })

  it.effect("layerConfig reads the url as a Redacted from Config", () =>
    Effect.gen(function*() {
      const schema = freshSchema()
      const layer = Pg.layerConfig({ url: Config.redacted("STORE_URL"), schema: Config.succeed(schema) }).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["STORE_URL", PG_URL]]))))
      )
      const ws = yield* Effect.provide(Effect.flatMap(store, (s) => s.create({ title: "configured" })), layer)
      const rows = yield* withSql((sql) => sql`SELECT title FROM ${sql(`${schema}.arawn_store_workstreams`)} WHERE id = ${ws.id}`)
      expect(Schema.decodeUnknownSync(Schema.Array(Schema.Struct({ title: Schema.String })))(rows)).toEqual([{ title: "configured" }])
    }), { timeout: 60_000 })
})
