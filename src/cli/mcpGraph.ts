/**
 * The knowledge graph of the reference MCP memory server (`@modelcontextprotocol/server-memory`), kept as memories:
 *
 * - an entity is a `fact` memory `"<name> is a <entityType>"` with subject `<name>`, predicate `entity type`;
 * - each of its observations is a `note` memory holding the observation, with subject `<name>`;
 * - a relation is a `fact` memory `"<from> <relationType> <to>"` with subject `<from>`, predicate `<relationType>`;
 * - `metadata.extra` carries the graph fields (`graph: entity | observation | relation`, the names), which the
 *   graph reads filter on.
 *
 * Every record's id is a name-based UUID of the namespace and what the record says, so writing the same entity,
 * observation or relation again, from any number of processes at once, is the store's retry of one write: it is
 * kept exactly once, and an import can be run again without adding anything twice.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { Chunk, Effect, Option, Stream } from "effect"
import { InvalidInput } from "../Errors.js"
import type { StorageError } from "../Errors.js"
import { MemoryId } from "../Ids.js"
import type { Memory, MemoryFilter, NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import type { WriteError } from "../MemoryBackend.js"

/** An entity as the reference server shows it. @category models */
export interface Entity {
  readonly name: string
  readonly entityType: string
  readonly observations: ReadonlyArray<string>
}

/** A relation as the reference server shows it. @category models */
export interface Relation {
  readonly from: string
  readonly to: string
  readonly relationType: string
}

/**
 * A name-based (version 5 layout) UUID: the same namespace and parts always give the same id, which is what makes
 * a repeated write the store's retry rather than a second record. Not a random id, so not the id generator's.
 */
export const graphId = (namespace: string, ...parts: ReadonlyArray<string>): MemoryId => {
  const hex = createHash("sha1").update(JSON.stringify(["arawn-store/graph", namespace, ...parts])).digest("hex")
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  const text = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
  return MemoryId.make(text)
}

/** A graph record: a memory with its name-based id. */
type GraphRecord = NewMemory & { readonly id: MemoryId }

const entityRecord = (ns: string, e: Omit<Entity, "observations">): GraphRecord => ({
  id: graphId(ns, "entity", e.name),
  contentType: "fact",
  content: e.entityType.trim() === "" ? e.name : `${e.name} is a ${e.entityType}`,
  source: "stated",
  metadata: { subject: e.name, predicate: "entity type", extra: { graph: "entity", name: e.name, entityType: e.entityType } }
})

const observationRecord = (ns: string, entity: string, text: string): GraphRecord => ({
  id: graphId(ns, "observation", entity, text),
  contentType: "note",
  content: text,
  source: "stated",
  metadata: { subject: entity, extra: { graph: "observation", entity } }
})

const relationRecord = (ns: string, r: Relation): GraphRecord => ({
  id: graphId(ns, "relation", r.from, r.relationType, r.to),
  contentType: "fact",
  content: `${r.from} ${r.relationType} ${r.to}`,
  source: "stated",
  metadata: {
    subject: r.from,
    predicate: r.relationType,
    extra: { graph: "relation", from: r.from, to: r.to, relationType: r.relationType }
  }
})

/** Filters of the graph's records (superseded records are not the graph's: only `update` could make one). @category filters */
export const graphFilter = {
  entities: { where: { "extra.graph": "entity" } },
  observationsOf: (names: ReadonlyArray<string>) => ({ where: { "extra.graph": "observation", "extra.entity": { $in: [...names] } } }),
  allObservations: { where: { "extra.graph": "observation" } },
  relations: { where: { "extra.graph": "relation" } },
  relationsFrom: (names: ReadonlyArray<string>) => ({ where: { "extra.graph": "relation", "extra.from": { $in: [...names] } } }),
  touching: (name: string) => ({ where: { "extra.graph": "relation", $or: [{ "extra.from": name }, { "extra.to": name }] } })
} satisfies Record<string, MemoryFilter | ((...a: never) => MemoryFilter)>

const text = (m: Memory, key: string): string => {
  const v = m.metadata.extra[key]
  return typeof v === "string" ? v : ""
}

/** The relation a relation record holds. @category models */
export const relationOf = (m: Memory): Relation => ({ from: text(m, "from"), to: text(m, "to"), relationType: text(m, "relationType") })

const collect = (filter: MemoryFilter) =>
  Effect.flatMap(MemoryBackend, (m) => Effect.map(Stream.runCollect(m.list(filter)), Chunk.toReadonlyArray))

/** The entities of these entity records with their observations, oldest observation first. @category reads */
export const withObservations = (records: ReadonlyArray<Memory>): Effect.Effect<ReadonlyArray<Entity>, InvalidInput | StorageError, MemoryBackend> =>
  Effect.gen(function*() {
    if (records.length === 0) return []
    const names = records.map((m) => text(m, "name"))
    const byEntity = new Map<string, Array<string>>()
    // Newest first from the store; the reference lists observations in the order they were added.
    for (const o of [...(yield* collect(graphFilter.observationsOf(names)))].reverse()) {
      const list = byEntity.get(text(o, "entity")) ?? []
      list.push(o.content)
      byEntity.set(text(o, "entity"), list)
    }
    return records.map((m) => ({ name: text(m, "name"), entityType: text(m, "entityType"), observations: byEntity.get(text(m, "name")) ?? [] }))
  })

/** Entity records by name, those that exist, in the order asked. @category reads */
export const entityRecords = (ns: string, names: ReadonlyArray<string>) =>
  Effect.flatMap(MemoryBackend, (m) =>
    Effect.map(
      Effect.forEach(Array.from(new Set(names)), (name) => m.get(graphId(ns, "entity", name))),
      (found) => found.flatMap(Option.toArray)
    ))

/** Relations between the named entities (both ends among them), as the reference's open and search return. @category reads */
export const relationsAmong = (names: ReadonlyArray<string>) =>
  Effect.map(collect(graphFilter.relationsFrom(names)), (records) => {
    const within = new Set(names)
    return records.map(relationOf).filter((r) => within.has(r.to))
  })

const exists = (id: MemoryId) => Effect.flatMap(MemoryBackend, (m) => Effect.map(m.get(id), Option.isSome))

/** Stores the records that are not stored yet; returns the ones it added (a concurrent writer's same record counts once). */
const storeMissing = (records: ReadonlyArray<GraphRecord>): Effect.Effect<ReadonlyArray<GraphRecord>, WriteError, MemoryBackend> =>
  Effect.gen(function*() {
    const unique = Array.from(new Map(records.map((r) => [r.id, r] as const)).values())
    const missing = yield* Effect.filter(unique, (r) => Effect.map(exists(r.id), (e) => !e))
    if (missing.length > 0) yield* (yield* MemoryBackend).storeMany(missing)
    return missing
  })

/** Counts of what an import or a create added and found present. @category models */
export interface Added {
  readonly added: number
  readonly present: number
}

/**
 * Creates the entities whose names are new, with their observations; an existing name is left as it is (the
 * reference's rule). With `merge` (imports), an existing entity gets the observations it lacks. Returns the
 * entities created.
 *
 * @category writes
 */
export const createEntities = (ns: string, entities: ReadonlyArray<Entity>, merge = false) =>
  Effect.gen(function*() {
    const created: Array<Entity> = []
    let observations: Added = { added: 0, present: 0 }
    for (const e of Array.from(new Map(entities.map((e) => [e.name, e] as const)).values())) {
      const known = yield* exists(graphId(ns, "entity", e.name))
      if (known && !merge) continue
      const obs = e.observations.map((o) => observationRecord(ns, e.name, o))
      const added = yield* storeMissing(known ? obs : [entityRecord(ns, e), ...obs]).pipe(
        // Another process created the entity with another type in between: it exists, as when it was there before.
        Effect.catchIf((err) => err._tag === "InvalidInput" && !merge, () => Effect.succeed(undefined))
      )
      if (added === undefined) continue
      const addedObs = added.filter((r) => r.contentType === "note").length
      observations = { added: observations.added + addedObs, present: observations.present + obs.length - addedObs }
      if (!known) created.push(e)
    }
    return { created, observations }
  })

/** Creates the relations not stored yet; returns them. @category writes */
export const createRelations = (ns: string, relations: ReadonlyArray<Relation>) =>
  Effect.map(storeMissing(relations.map((r) => relationRecord(ns, r))), (added) => {
    const ids = new Set(added.map((r) => r.id))
    return relations.filter((r) => ids.delete(graphId(ns, "relation", r.from, r.relationType, r.to)))
  })

/** Adds each entity's new observations; an unknown entity is InvalidInput and nothing of that entity is added. @category writes */
export const addObservations = (ns: string, items: ReadonlyArray<{ readonly entityName: string; readonly contents: ReadonlyArray<string> }>) =>
  Effect.forEach(items, (item) =>
    Effect.gen(function*() {
      if (!(yield* exists(graphId(ns, "entity", item.entityName)))) {
        return yield* new InvalidInput({ method: "add_observations", message: `Entity with name ${item.entityName} not found` })
      }
      const added = yield* storeMissing(item.contents.map((c) => observationRecord(ns, item.entityName, c)))
      return { entityName: item.entityName, addedObservations: added.map((r) => r.content) }
    }))

const deleteAll = (ids: Iterable<MemoryId>) =>
  Effect.flatMap(MemoryBackend, (m) => Effect.forEach(ids, (id) => m.delete(id), { discard: true }))

/** Deletes the entities with their observations and every relation from or to them; unknown names are ignored. @category writes */
export const deleteEntities = (ns: string, names: ReadonlyArray<string>) =>
  Effect.forEach(names, (name) =>
    Effect.gen(function*() {
      const observations = yield* collect(graphFilter.observationsOf([name]))
      const relations = yield* collect(graphFilter.touching(name))
      yield* deleteAll([...observations, ...relations].map((m) => m.id))
      yield* deleteAll([graphId(ns, "entity", name)])
    }), { discard: true })

/** Deletes these observations; absent ones are ignored. @category writes */
export const deleteObservations = (ns: string, items: ReadonlyArray<{ readonly entityName: string; readonly observations: ReadonlyArray<string> }>) =>
  deleteAll(items.flatMap((d) => d.observations.map((o) => graphId(ns, "observation", d.entityName, o))))

/** Deletes these relations; absent ones are ignored. @category writes */
export const deleteRelations = (ns: string, relations: ReadonlyArray<Relation>) =>
  deleteAll(relations.map((r) => graphId(ns, "relation", r.from, r.relationType, r.to)))

/**
 * The names of the entities whose name, type or an observation contains `query`, ignoring case (the reference's
 * search), sorted. It reads every entity and observation of the namespace once.
 *
 * @category reads
 */
export const searchNames = (query: string) =>
  Effect.gen(function*() {
    const q = query.toLowerCase()
    const matched = new Set<string>()
    const entities = yield* collect(graphFilter.entities)
    for (const e of entities) {
      if (text(e, "name").toLowerCase().includes(q) || text(e, "entityType").toLowerCase().includes(q)) matched.add(text(e, "name"))
    }
    const known = new Set(entities.map((e) => text(e, "name")))
    for (const o of yield* collect(graphFilter.allObservations)) {
      if (known.has(text(o, "entity")) && o.content.toLowerCase().includes(q)) matched.add(text(o, "entity"))
    }
    return Array.from(matched).sort()
  })
