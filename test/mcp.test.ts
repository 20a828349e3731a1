/**
 * `arawn-store mcp` driven by the official MCP SDK client, as a desktop agent or a coding assistant drives it: the
 * built server as a child process over stdio and over Streamable HTTP, every tool, the resources, the reference
 * memory server's tools, errors as tool errors, paging, and `import --mcp-memory`. One store directory and two
 * servers (namespaces alpha over stdio, beta over HTTP) are shared by the tests of this file, each with its own data.
 */
import { writeFileSync } from "node:fs"
import { request } from "node:http"
import { join } from "node:path"
import { Chunk, Effect, Stream } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { MemoryBackend } from "../src/MemoryBackend.js"
import { cli } from "./support/cli.js"
import { errorText, httpClient, httpServer, ok, okText, onMemories, stdioClient } from "./support/mcp.js"
import { tempDir } from "./support/tempDir.js"

const SLOW = 240_000
const dir = tempDir("arawn-mcp-")
type Client = Awaited<ReturnType<typeof stdioClient>>["client"]
let alpha: Client
let beta: Client
let betaUrl: URL

beforeAll(async () => {
  const [a, server] = await Promise.all([
    stdioClient(dir, ["--compat", "server-memory"], ["--namespace", "alpha"]),
    httpServer(dir, [], ["--namespace", "beta"])
  ])
  alpha = a.client
  betaUrl = server.url
  beta = await httpClient(server.url)
}, SLOW)

const textOf = (r: Awaited<ReturnType<Client["readResource"]>>) => {
  const first = r.contents[0]
  return first !== undefined && "text" in first ? first.text : ""
}

const call = (client: Client, name: string, args: Record<string, unknown> = {}) => client.callTool({ name, arguments: args })

const NATIVE = ["memory_store", "memory_search", "memory_get", "memory_update", "memory_delete", "memory_history", "memory_list",
  "thread_create", "thread_append", "thread_fork", "thread_list", "thread_messages", "thread_search"]
const COMPAT = ["create_entities", "create_relations", "add_observations", "delete_entities", "delete_observations",
  "delete_relations", "read_graph", "search_nodes", "open_nodes"]

describe("arawn-store mcp", () => {
  it("lists its tools with JSON schemas, descriptions and annotations (stdio with --compat, HTTP without)", async () => {
    const [withCompat, plain] = await Promise.all([alpha.listTools(), beta.listTools()])
    expect(withCompat.tools.map((t) => t.name)).toEqual([...NATIVE, ...COMPAT])
    expect(plain.tools.map((t) => t.name)).toEqual(NATIVE)
    for (const t of withCompat.tools) {
      expect(t.inputSchema.type, t.name).toBe("object")
      expect(t.description?.length ?? 0, t.name).toBeGreaterThan(20)
      expect(typeof t.annotations?.readOnlyHint, t.name).toBe("boolean")
    }
    const byName = new Map(withCompat.tools.map((t) => [t.name, t]))
    expect(byName.get("memory_store")!.inputSchema.required).toEqual(["content"])
    expect(Object.keys(byName.get("memory_search")!.inputSchema.properties!)).toEqual(
      expect.arrayContaining(["query", "mode", "limit", "cursor", "explain", "where", "types", "tags"])
    )
    expect(byName.get("memory_get")!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    expect(byName.get("memory_delete")!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true })
    expect(byName.get("create_entities")!.inputSchema.required).toEqual(["entities"])
    expect(byName.get("open_nodes")!.inputSchema.required).toEqual(["names"])
  }, SLOW)

  it("runs every memory tool over stdio: store, facts that reinforce and supersede, search, get, update, history, list, delete", async () => {
    const stored = ok(await call(alpha, "memory_store", { content: "The deploy script lives in ops/deploy.sh", tags: ["ops"], extra: { repo: "atlas" } }))
    expect(stored).toMatchObject({ outcome: "inserted", result: `stored memory ${stored.id}` })
    const fact = ok(await call(alpha, "memory_store", { content: "vim", subject: "user.editor", predicate: "is", source: "stated" }))
    expect(ok(await call(alpha, "memory_store", { content: "vim", subject: "user.editor", predicate: "is", source: "stated" })))
      .toMatchObject({ id: fact.id, outcome: "reinforced" })
    const newer = ok(await call(alpha, "memory_store", { content: "helix", subject: "user.editor", predicate: "is", source: "stated" }))
    expect(newer).toMatchObject({ outcome: "superseded", supersededIds: [fact.id] })

    const found = ok(await call(alpha, "memory_search", { query: "deploy script", explain: true, where: { "extra.repo": "atlas" } }))
    expect(found.hits[0]).toMatchObject({ id: stored.id, content: "The deploy script lives in ops/deploy.sh" })
    expect(found.hits[0].explain.relevance).toBeGreaterThan(0)
    expect(ok(await call(alpha, "memory_get", { id: stored.id })).memory).toMatchObject({ id: stored.id, tags: ["ops"], extra: { repo: "atlas" } })

    const updated = ok(await call(alpha, "memory_update", { id: stored.id, content: "The deploy script lives in ops/ship.sh", tags: ["ops", "deploy"] }))
    expect(updated.memory).toMatchObject({ content: "The deploy script lives in ops/ship.sh", tags: ["deploy", "ops"], extra: { repo: "atlas" } })
    expect(ok(await call(alpha, "memory_history", { id: stored.id })).events.map((e: { _tag: string }) => e._tag)).toEqual(["stored", "updated"])

    const listed = ok(await call(alpha, "memory_list", { tags: ["ops"] }))
    expect(listed.memories.map((m: { id: string }) => m.id)).toEqual([stored.id])
    expect(ok(await call(alpha, "memory_list", { types: ["fact"], includeSuperseded: true })).memories.map((m: { id: string }) => m.id))
      .toEqual(expect.arrayContaining([fact.id, newer.id]))

    expect(ok(await call(alpha, "memory_delete", { id: stored.id }))).toMatchObject({ deleted: true })
    expect(ok(await call(alpha, "memory_delete", { id: stored.id }))).toMatchObject({ deleted: false })
    expect(errorText(await call(alpha, "memory_get", { id: stored.id }))).toMatch(/does not exist/)
  }, SLOW)

  it("runs every thread tool over HTTP: create, append, tail with a cursor, search, fork, list", async () => {
    const thread = ok(await call(beta, "thread_create", { title: "Release planning", tags: ["atlas"] })).thread
    for (const [i, content] of ["we ship on friday", "the migration needs a freeze", "agreed, freeze thursday"].entries()) {
      expect(ok(await call(beta, "thread_append", { threadId: thread.id, role: i === 1 ? "assistant" : "user", content }))).toMatchObject({ seq: i + 1 })
    }
    const tail = ok(await call(beta, "thread_messages", { threadId: thread.id, limit: 2 }))
    expect(tail.messages.map((m: { seq: number }) => m.seq)).toEqual([2, 3])
    const older = ok(await call(beta, "thread_messages", { threadId: thread.id, limit: 2, cursor: tail.nextCursor }))
    expect(older.messages.map((m: { content: string }) => m.content)).toEqual(["we ship on friday"])
    expect(older.nextCursor).toBeUndefined()

    const hits = ok(await call(beta, "thread_search", { query: "migration freeze" })).hits
    expect(hits[0]).toMatchObject({ threadId: thread.id, seq: 2 })
    const fork = ok(await call(beta, "thread_fork", { threadId: thread.id, atSeq: 2, title: "What if we wait" })).thread
    expect(fork).toMatchObject({ messageCount: 2, forkedFrom: { threadId: thread.id, seq: 2 }, tags: [] })
    const listed = ok(await call(beta, "thread_list", { limit: 100 })).threads.map((t: { id: string }) => t.id)
    expect(listed).toEqual(expect.arrayContaining([thread.id, fork.id]))
  }, SLOW)

  it("answers bad input, unknown ids, another namespace's records and bad cursors with tool errors, and keeps serving", async () => {
    expect(errorText(await call(alpha, "memory_store", {}))).toMatch(/^memory_store: bad arguments: content: is missing/)
    expect(errorText(await call(alpha, "memory_store", { content: "   " }))).toMatch(/content must not be empty or blank/)
    expect(errorText(await call(alpha, "memory_get", { id: "nope" }))).toMatch(/must be a lowercase hyphenated UUID/)
    expect(errorText(await call(alpha, "memory_search", { query: "x", limit: 5000 }))).toMatch(/limit/)
    expect(errorText(await call(alpha, "memory_store", { content: "x", subject: "only" }))).toMatch(/subject and predicate go together/)
    expect(errorText(await call(alpha, "memory_get", { id: "00000000-0000-4000-8000-000000000000" })))
      .toMatch(/memory 00000000-0000-4000-8000-000000000000 does not exist in this server's namespace/)
    expect(errorText(await call(alpha, "memory_list", { cursor: "garbage" }))).toMatch(/cursor is not one memory_list returned/)
    expect(errorText(await call(alpha, "no_such_tool"))).toMatch(/no such tool/)

    // A record of namespace beta is, to a server of alpha, an unknown id: not readable, changeable or listable.
    const theirs = ok(await call(beta, "memory_store", { content: "beta's secret plan" })).id
    const thread = ok(await call(beta, "thread_create", { title: "beta only" })).thread.id
    expect(errorText(await call(alpha, "memory_get", { id: theirs }))).toMatch(/does not exist in this server's namespace/)
    expect(errorText(await call(alpha, "memory_update", { id: theirs, content: "changed" }))).toMatch(/does not exist/)
    expect(ok(await call(alpha, "memory_delete", { id: theirs }))).toMatchObject({ deleted: false })
    expect(ok(await call(alpha, "memory_search", { query: "secret plan", limit: 50 })).hits.map((h: { id: string }) => h.id)).not.toContain(theirs)
    expect(errorText(await call(alpha, "thread_append", { threadId: thread, role: "user", content: "hi" }))).toMatch(/thread beta only|does not exist/)
    expect(errorText(await call(alpha, "thread_messages", { threadId: thread }))).toMatch(/does not exist/)
    expect(ok(await call(alpha, "thread_list", { limit: 100 })).threads.map((t: { id: string }) => t.id)).not.toContain(thread)
    expect(ok(await call(beta, "memory_get", { id: theirs })).memory.content).toBe("beta's secret plan")
    expect(errorText(await call(alpha, "thread_create", { title: "x", tags: ["namespace:beta"] }))).toMatch(/server's own/)
    expect((await alpha.listTools()).tools.length).toBe(NATIVE.length + COMPAT.length)
  }, SLOW)

  it("serves the reference memory server's nine tools unchanged, read_graph paged", async () => {
    const people = [
      { name: "Ada", entityType: "person", observations: ["writes programs", "likes tea"] },
      { name: "Charles", entityType: "person", observations: ["builds engines"] },
      { name: "Engine", entityType: "machine", observations: [] }
    ]
    expect(ok(await call(alpha, "create_entities", { entities: people })).map((e: { name: string }) => e.name)).toEqual(["Ada", "Charles", "Engine"])
    expect(ok(await call(alpha, "create_entities", { entities: people }))).toEqual([])
    const relations = [{ from: "Ada", to: "Charles", relationType: "works_with" }, { from: "Charles", to: "Engine", relationType: "builds" }]
    expect(ok(await call(alpha, "create_relations", { relations }))).toEqual(relations)
    expect(ok(await call(alpha, "create_relations", { relations }))).toEqual([])
    expect(ok(await call(alpha, "add_observations", { observations: [{ entityName: "Ada", contents: ["likes tea", "born 1815"] }] })))
      .toEqual([{ entityName: "Ada", addedObservations: ["born 1815"] }])
    expect(errorText(await call(alpha, "add_observations", { observations: [{ entityName: "Nobody", contents: ["x"] }] })))
      .toMatch(/Entity with name Nobody not found/)

    const opened = ok(await call(alpha, "open_nodes", { names: ["Ada", "Charles"] }))
    expect(opened.entities.find((e: { name: string }) => e.name === "Ada").observations).toEqual(
      expect.arrayContaining(["writes programs", "likes tea", "born 1815"])
    )
    expect(opened.relations).toEqual([relations[0]])
    const searched = ok(await call(alpha, "search_nodes", { query: "ENGINE" }))
    expect(searched.entities.map((e: { name: string }) => e.name).sort()).toEqual(["Charles", "Engine"])
    expect(searched.relations).toEqual([relations[1]])

    const entities: Array<string> = []
    const rels: Array<unknown> = []
    let cursor: string | undefined
    let pages = 0
    do {
      const page = ok(await call(alpha, "read_graph", { limit: 2, ...(cursor !== undefined ? { cursor } : {}) }))
      expect(page.entities.length + page.relations.length).toBeLessThanOrEqual(2)
      entities.push(...page.entities.map((e: { name: string }) => e.name))
      rels.push(...page.relations)
      cursor = page.nextCursor
      pages++
    } while (cursor !== undefined && pages < 20)
    expect(entities.filter((n) => ["Ada", "Charles", "Engine"].includes(n)).sort()).toEqual(["Ada", "Charles", "Engine"])
    expect(rels).toEqual(expect.arrayContaining(relations))

    expect(okText(await call(alpha, "delete_observations", { deletions: [{ entityName: "Ada", observations: ["likes tea"] }] })))
      .toBe("Observations deleted successfully")
    expect(okText(await call(alpha, "delete_relations", { relations: [relations[1]] }))).toBe("Relations deleted successfully")
    expect(okText(await call(alpha, "delete_entities", { entityNames: ["Charles"] }))).toBe("Entities deleted successfully")
    const after = ok(await call(alpha, "open_nodes", { names: ["Ada", "Charles", "Engine"] }))
    expect(after.entities.map((e: { name: string }) => e.name).sort()).toEqual(["Ada", "Engine"])
    expect(after.entities.find((e: { name: string }) => e.name === "Ada").observations).not.toContain("likes tea")
    expect(after.relations).toEqual([])
  }, SLOW)

  it("lists memory:// resources of its own namespace, a page at a time, and reads them", async () => {
    const id = ok(await call(beta, "memory_store", { content: "a resource to read" })).id
    const thread = ok(await call(beta, "thread_create", { title: "resource thread" })).thread.id
    await call(beta, "thread_append", { threadId: thread, role: "user", content: "hello" })
    const uris: Array<string> = []
    let cursor: string | undefined
    do {
      const page = await beta.listResources(cursor !== undefined ? { cursor } : {})
      expect(page.resources.length).toBeLessThanOrEqual(100)
      uris.push(...page.resources.map((r) => r.uri))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    expect(uris).toEqual(expect.arrayContaining([`memory://memories/${id}`, `memory://threads/${thread}`]))
    expect(new Set(uris).size).toBe(uris.length)
    const memory = JSON.parse(textOf(await beta.readResource({ uri: `memory://memories/${id}` })))
    expect(memory).toMatchObject({ id, content: "a resource to read" })
    const read = JSON.parse(textOf(await beta.readResource({ uri: `memory://threads/${thread}` })))
    expect(read.messages.map((m: { content: string }) => m.content)).toEqual(["hello"])
    expect((await beta.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate))
      .toEqual(["memory://memories/{id}", "memory://threads/{id}"])
    await expect(alpha.readResource({ uri: `memory://memories/${id}` })).rejects.toThrow(/does not exist/)
  }, SLOW)
})

/** A POST of an initialize request to the HTTP server with this Host header: the status it gets. */
const postWithHost = (url: URL, host: string) =>
  new Promise<number>((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } } })
    const req = request(url, { method: "POST", headers: { host, "content-type": "application/json", accept: "application/json, text/event-stream" } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on("error", reject)
    req.end(body)
  })

describe("the HTTP transport", () => {
  it("on loopback, refuses a request naming another host (DNS rebinding) and serves its own", async () => {
    expect(await postWithHost(betaUrl, "evil.example")).toBe(403)
    expect(await postWithHost(betaUrl, betaUrl.host)).toBe(200)
  }, SLOW)
})

describe("paging", () => {
  it("lists 2,000 memories through cursors, each exactly once", async () => {
    const big = tempDir("arawn-mcp-paging-")
    const stored = await onMemories(big, Effect.flatMap(MemoryBackend, (m) =>
      m.storeMany(Array.from({ length: 2000 }, (_, i) => ({ content: `memory number ${i}` })))))
    const { client } = await stdioClient(big)
    const seen: Array<string> = []
    let cursor: string | undefined
    let calls = 0
    do {
      const page = ok(await call(client, "memory_list", { limit: 200, ...(cursor !== undefined ? { cursor } : {}) }))
      expect(page.memories.length).toBeLessThanOrEqual(200)
      seen.push(...page.memories.map((m: { id: string }) => m.id))
      cursor = page.nextCursor
      calls++
    } while (cursor !== undefined)
    expect(calls).toBe(10)
    expect(seen.length).toBe(2000)
    expect(new Set(seen)).toEqual(new Set(stored))
    // Without a limit a page holds the documented default, never the whole store.
    expect(ok(await call(client, "memory_list")).memories.length).toBe(50)
    const count = await onMemories(big, Effect.flatMap(MemoryBackend, (m) => Effect.map(Stream.runCollect(m.list()), Chunk.size)))
    expect(count).toBe(2000)

    // Search pages follow one ranking: five pages of 50 are the 250 best of one deep search, in order.
    const paged: Array<string> = []
    cursor = undefined
    for (let i = 0; i < 5; i++) {
      const page = ok(await call(client, "memory_search", { query: "memory number", mode: "text", limit: 50, ...(cursor !== undefined ? { cursor } : {}) }))
      paged.push(...page.hits.map((h: { id: string }) => h.id))
      cursor = page.nextCursor
      expect(cursor).toBeDefined()
    }
    const deep = await onMemories(big, Effect.flatMap(MemoryBackend, (m) => m.search("memory number", { mode: "text", limit: 250 })))
    expect(paged).toEqual(deep.map((h) => h.memory.id))
  }, SLOW)
})

describe("arawn-store import --mcp-memory", () => {
  it("brings a memory.jsonl in once, however often it runs, and reports a torn last line without failing", async () => {
    const store = tempDir("arawn-mcp-import-")
    const file = join(store, "memory.jsonl")
    writeFileSync(file, [
      JSON.stringify({ type: "entity", name: "Grace", entityType: "person", observations: ["wrote a compiler", "admiral"] }),
      JSON.stringify({ type: "entity", name: "COBOL", entityType: "language", observations: [] }),
      JSON.stringify({ type: "relation", from: "Grace", to: "COBOL", relationType: "designed" }),
      "{\"type\":\"entity\",\"name\":\"Half"
    ].join("\n"))
    const first = await cli(["--dir", store, "--json", "import", "--mcp-memory", file])
    expect(first.code, first.stderr).toBe(0)
    expect(JSON.parse(first.stdout)).toMatchObject({
      entities: { imported: 2, skipped: 0 },
      observations: { imported: 2, skipped: 0 },
      relations: { imported: 1, skipped: 0 },
      tornLastLine: 4,
      failures: []
    })
    const again = await cli(["--dir", store, "--json", "import", "--mcp-memory", file])
    expect(JSON.parse(again.stdout)).toMatchObject({ entities: { imported: 0, skipped: 2 }, observations: { imported: 0, skipped: 2 } })
    expect(await onMemories(store, Effect.flatMap(MemoryBackend, (m) => m.count()))).toBe(5)
    const { client } = await stdioClient(store, ["--compat", "server-memory"])
    const graph = ok(await call(client, "read_graph"))
    expect(graph.entities.map((e: { name: string }) => e.name).sort()).toEqual(["COBOL", "Grace"])
    expect(graph.relations).toEqual([{ from: "Grace", to: "COBOL", relationType: "designed" }])
  }, SLOW)
})
