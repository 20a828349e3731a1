/**
 * `arawn-store mcp --compat server-memory`: the nine tools of the reference MCP memory server, with its names and
 * argument shapes, over the store (see mcpGraph.ts for how the graph is kept). The graph reads that could return
 * the whole graph (`read_graph`, `search_nodes`) take an optional `cursor` and `limit` and return `nextCursor`
 * while more remains: a client that knows nothing of paging reads the first page and is told there is more.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { InvalidInput } from "../Errors.js"
import { MemoryBackend } from "../MemoryBackend.js"
import * as Graph from "./mcpGraph.js"
import { ADD_ONCE, Cursor, decodeCursor, encodeCursor, given, Limit, memoryPage, offsetOf, READ, REMOVE, tool } from "./mcpTool.js"
import type { Tool } from "./mcpTool.js"

const Name = Schema.String.pipe(Schema.minLength(1))
const EntityInput = Schema.Struct({
  name: Name.annotations({ description: "The name of the entity" }),
  entityType: Schema.String.annotations({ description: "The type of the entity" }),
  observations: Schema.Array(Schema.String).annotations({ description: "An array of observation contents associated with the entity" })
})
const RelationInput = Schema.Struct({
  from: Name.annotations({ description: "The name of the entity where the relation starts" }),
  to: Name.annotations({ description: "The name of the entity where the relation ends" }),
  relationType: Name.annotations({ description: "The type of the relation" })
})

const GRAPH_LIMIT = 50
const GRAPH_MAX = 200

/**
 * One page of the whole graph: entities (with their observations) first, then relations; a page that ends the
 * entities fills up with the first relations.
 */
const readGraphPage = (cursor: string | undefined, limit: number) =>
  Effect.gen(function*() {
    const at = cursor === undefined ? { phase: "e" } : yield* decodeCursor("read_graph", cursor)
    const inner = typeof at["c"] === "string" ? at["c"] : undefined
    const memories = yield* MemoryBackend
    let entities: ReadonlyArray<Graph.Entity> = []
    let next: string | undefined
    let relationsFrom: string | undefined = inner
    if (at["phase"] === "e") {
      const page = yield* memoryPage(memories, "read_graph.e", Graph.graphFilter.entities, inner, limit)
      entities = yield* Graph.withObservations(page.items)
      if (page.nextCursor !== undefined) return { entities, relations: [], next: encodeCursor({ tool: "read_graph", phase: "e", c: page.nextCursor }) }
      relationsFrom = undefined
    } else if (at["phase"] !== "r") return yield* new InvalidInput({ method: "read_graph", message: "cursor is not one read_graph returned" })
    const room = limit - entities.length
    if (room <= 0) return { entities, relations: [], next: encodeCursor({ tool: "read_graph", phase: "r" }) }
    const page = yield* memoryPage(memories, "read_graph.r", Graph.graphFilter.relations, relationsFrom, room)
    next = page.nextCursor === undefined ? undefined : encodeCursor({ tool: "read_graph", phase: "r", c: page.nextCursor })
    return { entities, relations: page.items.map(Graph.relationOf), next }
  })

/** The tools that change the graph. */
const graphWrites = (namespace: string): ReadonlyArray<Tool> => [
  tool({
    name: "create_entities",
    description: "Create multiple new entities in the knowledge graph",
    hints: ADD_ONCE,
    input: Schema.Struct({ entities: Schema.Array(EntityInput) }),
    run: (a) => Effect.map(Graph.createEntities(namespace, a.entities), (r) => r.created)
  }),
  tool({
    name: "create_relations",
    description: "Create multiple new relations between entities in the knowledge graph. Relations should be in active voice",
    hints: ADD_ONCE,
    input: Schema.Struct({ relations: Schema.Array(RelationInput) }),
    run: (a) => Graph.createRelations(namespace, a.relations)
  }),
  tool({
    name: "add_observations",
    description: "Add new observations to existing entities in the knowledge graph",
    hints: ADD_ONCE,
    input: Schema.Struct({
      observations: Schema.Array(Schema.Struct({
        entityName: Name.annotations({ description: "The name of the entity to add the observations to" }),
        contents: Schema.Array(Schema.String).annotations({ description: "An array of observation contents to add" })
      }))
    }),
    run: (a) => Graph.addObservations(namespace, a.observations)
  }),
  tool({
    name: "delete_entities",
    description: "Delete multiple entities and their associated relations from the knowledge graph",
    hints: REMOVE,
    input: Schema.Struct({ entityNames: Schema.Array(Schema.String).annotations({ description: "An array of entity names to delete" }) }),
    run: (a) => Effect.as(Graph.deleteEntities(namespace, a.entityNames), "Entities deleted successfully")
  }),
  tool({
    name: "delete_observations",
    description: "Delete specific observations from entities in the knowledge graph",
    hints: REMOVE,
    input: Schema.Struct({
      deletions: Schema.Array(Schema.Struct({
        entityName: Schema.String.annotations({ description: "The name of the entity containing the observations" }),
        observations: Schema.Array(Schema.String).annotations({ description: "An array of observations to delete" })
      }))
    }),
    run: (a) => Effect.as(Graph.deleteObservations(namespace, a.deletions), "Observations deleted successfully")
  }),
  tool({
    name: "delete_relations",
    description: "Delete multiple relations from the knowledge graph",
    hints: REMOVE,
    input: Schema.Struct({ relations: Schema.Array(RelationInput).annotations({ description: "An array of relations to delete" }) }),
    run: (a) => Effect.as(Graph.deleteRelations(namespace, a.relations), "Relations deleted successfully")
  })
]

/** The tools that read the graph. */
const graphReads = (namespace: string): ReadonlyArray<Tool> => [
  tool({
    name: "read_graph",
    description: `Read the knowledge graph, a page at a time (default ${GRAPH_LIMIT} entities and relations, at most ${GRAPH_MAX}): ` +
      "entities with their observations first, then relations; pass nextCursor to read on",
    hints: READ,
    input: Schema.Struct({ cursor: Cursor, limit: Limit(GRAPH_LIMIT, GRAPH_MAX) }),
    run: (a) =>
      Effect.map(readGraphPage(a.cursor, a.limit ?? GRAPH_LIMIT), (p) => ({
        entities: p.entities,
        relations: p.relations,
        ...given("nextCursor", p.next)
      }))
  }),
  tool({
    name: "search_nodes",
    description: "Search for nodes in the knowledge graph based on a query (matched against entity names, types, and " +
      `observation content), a page of at most ${GRAPH_MAX} entities (default ${GRAPH_LIMIT}); pass nextCursor to read on`,
    hints: READ,
    input: Schema.Struct({
      query: Schema.String.annotations({ description: "The search query to match against entity names, types, and observation content" }),
      cursor: Cursor,
      limit: Limit(GRAPH_LIMIT, GRAPH_MAX)
    }),
    run: (a) =>
      Effect.gen(function*() {
        const offset = yield* offsetOf("search_nodes", a.cursor)
        const limit = a.limit ?? GRAPH_LIMIT
        const names = yield* Graph.searchNames(a.query)
        const page = names.slice(offset, offset + limit)
        const entities = yield* Graph.withObservations(yield* Graph.entityRecords(namespace, page))
        // Relations between matching entities, each listed with the page of the entity it starts from.
        const within = new Set(names)
        const relations = (yield* Graph.relationsAmong(names)).filter((r) => within.has(r.from) && page.includes(r.from))
        return {
          entities,
          relations,
          ...(names.length > offset + limit ? { nextCursor: encodeCursor({ tool: "search_nodes", offset: offset + limit }) } : {})
        }
      })
  }),
  tool({
    name: "open_nodes",
    description: "Open specific nodes in the knowledge graph by their names",
    hints: READ,
    input: Schema.Struct({
      names: Schema.Array(Schema.String).pipe(Schema.maxItems(GRAPH_MAX)).annotations({ description: "An array of entity names to retrieve" })
    }),
    run: (a) =>
      Effect.gen(function*() {
        const entities = yield* Graph.withObservations(yield* Graph.entityRecords(namespace, a.names))
        return { entities, relations: yield* Graph.relationsAmong(entities.map((e) => e.name)) }
      })
  })
]

/** The compatibility tools of a server bound to `namespace`, in the reference server's order. @category tools */
export const compatTools = (namespace: string): ReadonlyArray<Tool> => [...graphWrites(namespace), ...graphReads(namespace)]
