/**
 * `where` filters mean the same on every layer: the in-memory layer, SQLite and PostgreSQL (on PGlite) each list,
 * count and search exactly the memories `Where.matches` (the reference) keeps, for random filters over random
 * metadata; and no size or shape of filter is a defect or a storage error: it works, or it is `InvalidInput`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, ManagedRuntime, Redacted, Schema, Stream } from "effect"
import * as fc from "fast-check"
import { Embedder } from "arawn-store"
import type { MemoryId } from "../src/Ids.js"
import type { MemoryFilter } from "../src/Memory.js"
import { layerMemory, MemoryBackend } from "../src/MemoryBackend.js"
import * as PgMemory from "../src/MemoryBackend/Pg.js"
import * as SqliteMemory from "../src/MemoryBackend/Sqlite.js"
import { sid } from "../src/testing/memorySuiteSupport.js"
import { token, untyped } from "../src/testing/internal.js"
import * as Where from "../src/Where.js"
import { startPglite } from "./support/pglite.js"
import type { PgliteServer } from "./support/pglite.js"

type Runtime = ManagedRuntime.ManagedRuntime<MemoryBackend, unknown>

let server: PgliteServer | undefined
const layers: Array<{ readonly name: string; readonly rt: Runtime }> = []

beforeAll(async () => {
  server = await startPglite()
  const hashing = Embedder.layerHashing
  layers.push(
    { name: "memory", rt: ManagedRuntime.make(layerMemory.pipe(Layer.provide(hashing))) },
    { name: "sqlite", rt: ManagedRuntime.make(SqliteMemory.layer({ filename: ":memory:" }).pipe(Layer.provide(hashing))) },
    {
      name: "pg",
      rt: ManagedRuntime.make(
        PgMemory.layer({ url: Redacted.make(server.url), maxConnections: 1, schema: `t_${token()}` }).pipe(Layer.provide(hashing))
      )
    }
  )
  // Opened one at a time, before any test runs layers at once: SQLite's synchronous work on this thread would stall
  // the connecting PostgreSQL client past its timeout on a loaded machine.
  for (const { rt } of layers) await rt.runPromise(MemoryBackend)
}, 120_000)
afterAll(async () => {
  for (const { rt } of layers) await rt.dispose()
  await server?.stop()
})

/** Every layer's answer to `run`, by layer name; a failure is its error tag, a defect rejects. */
const onEvery = async <A>(run: Effect.Effect<A, { readonly _tag: string }, MemoryBackend>) => {
  const out: Record<string, A | string> = {}
  for (const { name, rt } of layers) {
    const result = await rt.runPromise(Effect.either(run))
    out[name] = Either.isLeft(result) ? result.left._tag : result.right
  }
  return out
}

/** Stores `extras` in a fresh session and counts the memories of that session `where` keeps. */
const countWhere = (extras: ReadonlyArray<Record<string, unknown>>, where: unknown) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const sessionId = sid()
    yield* m.storeMany(extras.map((extra) => ({ content: "filtered", sessionId, metadata: { extra: untyped(extra) } })))
    return yield* m.count({ sessionId, where: untyped(where) })
  })

const everywhere = (value: unknown) => ({ memory: value, sqlite: value, pg: value })

const values = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`)

// --- random filters over random metadata ---------------------------------------------------------------------

/**
 * Keys a filter path may name: ones SQL could mistake for SQL NULL, an array index (`0`, `-1`, `1`), a number
 * (`01` is not `1`), or an inherited JavaScript property (`constructor`, `__proto__`).
 */
const PATH_KEYS = ["a", "null", "NULL", "0", "-1", "1", "01", "constructor", "__proto__"] as const
/** Stored keys: mostly ones paths name, sometimes ones no path can (a dot separates path keys): never matched. */
const keyArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...PATH_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom("a.b", "é", "", "A", "null.0") }
)

/** A double past 2^53 whose shortest decimal ("41716919346779670") is not its exact value: SQL reads that text as an exact integer. */
const BIG = 41716919346779670

// Small pools, so that stored values and operands meet often; now and then anything.
const stringArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom("", "a", "A", "é", "e\u0301", "😀", "\uFFFF", "ｚ", "1", "01", "-1", "null", "true") },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 3 }) }
)
const numberArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, 1, -1, 1.5, 10, 1e21, 2 ** 53, 0.1 + 0.2, BIG, -BIG, 2 ** 63, -(2 ** 63)) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) }
)
const scalarArb = fc.oneof(stringArb, numberArb, fc.boolean(), fc.constant(null))

const { value: valueArb } = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthSize: "small" },
    { weight: 3, arbitrary: scalarArb },
    { weight: 1, arbitrary: fc.array(tie("value"), { maxLength: 3 }) },
    { weight: 2, arbitrary: fc.dictionary(keyArb, tie("value"), { minKeys: 1, maxKeys: 3, noNullPrototype: true }) }
  )
}))

const metadataArb = fc.record(
  {
    extra: fc.dictionary(keyArb, valueArb, { maxKeys: 5, noNullPrototype: true }),
    subject: fc.oneof(stringArb.filter((s) => s.length > 0), fc.string({ unit: "grapheme", minLength: 1, maxLength: 2 }))
  },
  { requiredKeys: ["extra"] }
)

const pathArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant("subject") },
  { weight: 8, arbitrary: fc.array(fc.constantFrom(...PATH_KEYS), { minLength: 1, maxLength: 3 }).map((ks) => `extra.${ks.join(".")}`) }
)
const operatorArb = fc.oneof(
  fc.record({ $eq: scalarArb }),
  fc.record({ $ne: scalarArb }),
  fc.record({ $in: fc.array(scalarArb, { minLength: 1, maxLength: 4 }) }),
  fc.record({ $nin: fc.array(scalarArb, { minLength: 1, maxLength: 4 }) }),
  fc.constantFrom("$gt", "$gte", "$lt", "$lte").chain((op) => fc.oneof(numberArb, stringArb).map((v) => ({ [op]: v }))),
  fc.record({ $exists: fc.boolean() })
)
const conditionArb = fc.oneof(
  scalarArb,
  operatorArb,
  fc.tuple(operatorArb, operatorArb).map(([a, b]) => ({ ...a, ...b }))
)
const { filter: filterArb } = fc.letrec((tie) => ({
  filter: fc.oneof(
    { maxDepth: 3, depthSize: "small" },
    { weight: 4, arbitrary: fc.dictionary(pathArb, conditionArb, { minKeys: 1, maxKeys: 2, noNullPrototype: true }) },
    { weight: 1, arbitrary: fc.array(tie("filter"), { minLength: 1, maxLength: 3 }).map(($and) => ({ $and })) },
    { weight: 1, arbitrary: fc.array(tie("filter"), { minLength: 1, maxLength: 3 }).map(($or) => ({ $or })) },
    { weight: 1, arbitrary: tie("filter").map(($not) => ({ $not })) }
  )
}))

/** Rounds of one stored batch each, read through many filters: 5 x 50 = 250 filters, each on every layer. */
const ROUNDS = 5
const MEMORIES = 40
const FILTERS = 50
const SEED = 19

const decodeWhere = Schema.decodeUnknownSync(Where.Where)

/** The indexes (into `stored`) of the memories a read returned. */
const positions = (stored: ReadonlyArray<MemoryId>, found: Iterable<MemoryId>) => {
  const seen = new Set(found)
  return stored.flatMap((id, i) => (seen.has(id) ? [i] : []))
}

interface Reads {
  readonly list: ReadonlyArray<number>
  readonly count: number
  /** Left out (undefined) for most filters: search reads the same compiled filter, at several times list's cost. */
  readonly search: ReadonlyArray<number> | undefined
}

/** One filter in this many is also read through text search. */
const SEARCH_EVERY = 5

/** Each filter's list, count (and text search) in one fresh session of the layer, as positions into `metadata`. */
const readAll = (metadata: ReadonlyArray<Record<string, unknown>>, filters: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const m = yield* MemoryBackend
    const sessionId = sid()
    const w = token()
    const stored = yield* m.storeMany(metadata.map((md, i) => ({ content: `${w} note ${i}`, sessionId, metadata: untyped(md) })))
    return yield* Effect.forEach(filters, (where, i) =>
      Effect.gen(function*() {
        const filter: MemoryFilter = { sessionId, where: untyped(where) }
        const listed = yield* Stream.runCollect(m.list(filter))
        const hits = i % SEARCH_EVERY === 0 ? yield* m.search(w, { ...filter, mode: "text", limit: 100 }) : undefined
        return {
          list: positions(stored, Chunk.map(listed, (x) => x.id)),
          count: yield* m.count(filter),
          search: hits === undefined ? undefined : positions(stored, hits.map((h) => h.memory.id))
        } satisfies Reads
      }))
  })

/** Where one layer's reads left `Where.matches`: the filter, and the metadata it was wrong about. */
interface Divergence {
  readonly layer: string
  readonly filter: unknown
  readonly wronglyKept: ReadonlyArray<unknown>
  readonly wronglyDropped: ReadonlyArray<unknown>
  readonly reads: Reads
}

const divergence = (
  layer: string,
  metadata: ReadonlyArray<unknown>,
  filter: unknown,
  kept: ReadonlyArray<number>,
  reads: Reads
): Divergence | undefined => {
  const same = (xs: ReadonlyArray<number>) => xs.length === kept.length && xs.every((x, i) => x === kept[i])
  const search = reads.search ?? kept
  if (same(reads.list) && same(search) && reads.count === kept.length) return undefined
  const got = new Set([...reads.list, ...search])
  return {
    layer,
    filter,
    wronglyKept: [...got].filter((i) => !kept.includes(i)).map((i) => metadata[i]),
    wronglyDropped: kept.filter((i) => !reads.list.includes(i) || !search.includes(i)).map((i) => metadata[i]),
    reads
  }
}

describe("where: random filters mean on every layer what Where.matches says", () => {
  it(`list, count and text search (one filter in ${SEARCH_EVERY}) keep exactly the memories Where.matches keeps (${ROUNDS * FILTERS} filters)`, async () => {
    const rounds = fc.sample(
      fc.record({
        metadata: fc.array(metadataArb, { minLength: MEMORIES, maxLength: MEMORIES }),
        filters: fc.array(filterArb, { minLength: FILTERS, maxLength: FILTERS })
      }),
      { seed: SEED, numRuns: ROUNDS }
    )
    const found: Array<Divergence> = []
    for (const { filters, metadata } of rounds) {
      const kept = filters.map((f) => {
        const node = decodeWhere(f)
        return metadata.flatMap((md, i) => (Where.matches(node, md) ? [i] : []))
      })
      // The layers at once: PGlite answers from its own process while SQLite and the in-memory layer run here.
      await Promise.all(layers.map(async ({ name, rt }) => {
        const reads = await rt.runPromise(readAll(metadata, filters))
        reads.forEach((r, i) => {
          const d = divergence(name, metadata, filters[i], kept[i]!, r)
          if (d !== undefined) found.push(d)
        })
      }))
    }
    // The count on each layer first, then a few whole cases to read.
    const count = (layer: string) => found.filter((d) => d.layer === layer).length
    expect({ divergences: layers.map(({ name }) => `${name}: ${count(name)}`), first: found.slice(0, 3) }).toEqual({
      divergences: layers.map(({ name }) => `${name}: 0`),
      first: []
    })
  }, 120_000)
})

describe("where: no filter size is a defect or a storage error", () => {
  it("a $in or $nin of 10,000 values works on every layer", async () => {
    const extras = [{ k: "v1" }, { k: "v9999" }, { k: "nope" }, {}]
    expect(await onEvery(countWhere(extras, { "extra.k": { $in: values(10_000) } }))).toEqual(everywhere(2))
    expect(await onEvery(countWhere(extras, { "extra.k": { $nin: values(10_000) } }))).toEqual(everywhere(2))
  }, 60_000)

  it("a $or of 1,000 branches (the cap) works on every layer; 10,000 branches are InvalidInput", async () => {
    const extras = [{ k: "v1" }, { k: "v999" }, { k: "nope" }]
    const or = (n: number) => ({ $or: values(n).map((v) => ({ "extra.k": v })) })
    expect(await onEvery(countWhere(extras, or(1_000)))).toEqual(everywhere(2))
    expect(await onEvery(countWhere(extras, or(10_000)))).toEqual(everywhere("InvalidInput"))
  }, 60_000)

  it("filters nested to the depth cap work on every layer; deeper ones are InvalidInput, however deep", async () => {
    const extras = [{ a: 1 }, { a: 2 }]
    const nots = (depth: number): unknown => (depth === 0 ? { "extra.a": 1 } : { $not: nots(depth - 1) })
    const ors = (depth: number): unknown =>
      depth === 0 ? { "extra.a": 1 } : { $or: [{ "extra.a": 3 }, { $and: [{ "extra.b": { $exists: false } }, ors(depth - 1)] }] }
    expect(await onEvery(countWhere(extras, nots(16)))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, ors(8)))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, nots(17)))).toEqual(everywhere("InvalidInput"))
    // The heaviest filter the caps let through: 16 levels deep, ~1,000 comparisons on paths of 8 keys.
    const long = `extra.${Array(8).fill("a").join(".")}`
    let heavy: unknown = { $or: values(490).map((v) => ({ [long]: { $gte: v, $lte: "z" } })) }
    for (let i = 0; i < 15; i++) heavy = { $and: [{ [long]: { $exists: true } }, heavy] }
    const nested = { a: { a: { a: { a: { a: { a: { a: { a: "v5" } } } } } } } }
    expect(await onEvery(countWhere([nested, { a: 1 }], heavy))).toEqual(everywhere(1))
    let deep: unknown = { "extra.a": 1 }
    for (let i = 0; i < 100_000; i++) deep = { $not: deep }
    expect(await onEvery(countWhere(extras, deep))).toEqual(everywhere("InvalidInput"))
  }, 60_000)

  it("over a cap is InvalidInput on every layer: values, string size, conditions, path", async () => {
    const extras = [{ k: "v1" }]
    for (
      const where of [
        { "extra.k": { $in: values(10_001) } },
        { "extra.k": "x".repeat(4097) },
        { "extra.k": "x".repeat(16 * 1024 * 1024) },
        { "extra.k": { $in: Array.from({ length: 300 }, () => "x".repeat(4000)) } },
        { $and: values(1001).map((v) => ({ "extra.k": { $ne: v } })) },
        { "extra.a.b.c.d.e.f.g.h.i": 1 },
        { [`extra.${"k".repeat(65)}`]: 1 }
      ]
    ) {
      expect(await onEvery(countWhere(extras, where))).toEqual(everywhere("InvalidInput"))
    }
  }, 60_000)
})

describe("where: every path means the same on every layer", () => {
  it("a path part null or NULL is a literal key", async () => {
    const extras = [{ null: 1 }, { NULL: { null: "x" } }, {}]
    expect(await onEvery(countWhere(extras, { "extra.null": { $exists: false } }))).toEqual(everywhere(2))
    expect(await onEvery(countWhere(extras, { "extra.null": 1 }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.NULL.null": "x" }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.NULL": { $exists: true } }))).toEqual(everywhere(1))
  }, 60_000)

  it("a path part that is no key of letters, digits, _ and - is InvalidInput on every layer", async () => {
    const extras = [{ "é": 1, "": 1, "a.b": 1, "a b": 1 }]
    for (const where of [{ "extra.é": 1 }, { "extra.": 1 }, { "extra.a..b": 1 }, { "extra.a b": 1 }, { "extra.a\u0000": 1 }, { extra: 1 }]) {
      expect(await onEvery(countWhere(extras, where))).toEqual(everywhere("InvalidInput"))
    }
    // A dot always separates keys: no path names the stored key "a.b", and a path through it is missing.
    expect(await onEvery(countWhere(extras, { "extra.a.b": { $exists: false } }))).toEqual(everywhere(1))
  }, 60_000)

  it("a numeric path part is an object key, never an array index", async () => {
    const extras = [{ list: [5, 6] }, { list: { "0": 5, "-1": 6 } }, { list: [[5]] }]
    expect(await onEvery(countWhere(extras, { "extra.list.0": 5 }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.list.-1": 6 }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.list.1": { $exists: true } }))).toEqual(everywhere(0))
    expect(await onEvery(countWhere(extras, { "extra.list.0.0": { $exists: false } }))).toEqual(everywhere(3))
  }, 60_000)

  it("numbers past 2^53 compare as the same numbers they are in JavaScript", async () => {
    const extras = [{ n: BIG }, { n: 2 ** 63 }, { n: 1.5 }]
    expect(await onEvery(countWhere(extras, { "extra.n": BIG }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.n": { $in: [BIG, 7] } }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.n": { $gte: BIG } }))).toEqual(everywhere(2))
    expect(await onEvery(countWhere(extras, { "extra.n": { $lt: BIG } }))).toEqual(everywhere(1))
    expect(await onEvery(countWhere(extras, { "extra.n": { $lte: 2 ** 63 } }))).toEqual(everywhere(3))
    expect(await onEvery(countWhere(extras, { "extra.n": { $gt: BIG - 8 } }))).toEqual(everywhere(2))
  }, 60_000)

  it("a NUL in a filter string is InvalidInput on every layer", async () => {
    const extras = [{ k: "a" }]
    for (const where of [{ "extra.k": "a\u0000" }, { "extra.k": { $in: ["a", "\u0000"] } }, { "extra.k": { $gt: "\u0000" } }]) {
      expect(await onEvery(countWhere(extras, where))).toEqual(everywhere("InvalidInput"))
    }
  }, 60_000)
})
