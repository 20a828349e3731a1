/**
 * `arawn-store import --mcp-memory FILE`: brings the `memory.jsonl` of the reference MCP memory server
 * (`@modelcontextprotocol/server-memory`) into the store, as `--compat server-memory` keeps its graph (see
 * mcpGraph.ts). Every record has a name-based id, so running the import again adds nothing twice. A last line cut
 * short (the reference server rewrites its whole file on every change, so a crash can leave one) is reported and
 * skipped; a malformed line elsewhere is reported as a failure, and the rest is still imported.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { Console, Effect, Either, Option, Schema } from "effect"
import { StorageError } from "../Errors.js"
import { decodeEither } from "../internal/decode.js"
import { DEFAULT_NAMESPACE } from "../Memory.js"
import * as Graph from "./mcpGraph.js"
import { ImportIncomplete } from "./import.js"
import { printJson, table } from "./output.js"
import { jsonOutput, memoryNamespace } from "./root.js"

const Line = Schema.Union(
  Schema.Struct({
    type: Schema.Literal("entity"),
    name: Schema.String.pipe(Schema.minLength(1)),
    entityType: Schema.String,
    observations: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
  }),
  Schema.Struct({
    type: Schema.Literal("relation"),
    from: Schema.String.pipe(Schema.minLength(1)),
    to: Schema.String.pipe(Schema.minLength(1)),
    relationType: Schema.String.pipe(Schema.minLength(1))
  })
)
const decodeLine = decodeEither(Line)

/** A line that could not be imported. @category models */
export interface LineFailure {
  readonly line: number
  readonly reason: string
}

/** What a `memory.jsonl` holds: its records, its malformed lines, and the torn last line if there is one. @category parsing */
export const parseGraphFile = (text: string) => {
  const lines = text.split("\n")
  const lastFilled = lines.reduce((last, l, i) => (l.trim() === "" ? last : i), -1)
  const entities: Array<Graph.Entity> = []
  const relations: Array<Graph.Relation> = []
  const failures: Array<LineFailure> = []
  let torn: number | undefined
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return
    const parsed = Either.flatMap(
      Either.try({ try: (): unknown => JSON.parse(raw), catch: () => "not JSON" }),
      decodeLine
    )
    if (Either.isRight(parsed)) {
      const r = parsed.right
      if (r.type === "entity") entities.push({ name: r.name, entityType: r.entityType, observations: r.observations })
      else relations.push({ from: r.from, to: r.to, relationType: r.relationType })
    } else if (i === lastFilled && !text.endsWith("\n") && parsed.left === "not JSON") torn = i + 1
    else failures.push({ line: i + 1, reason: parsed.left })
  })
  return { entities, relations, failures, torn }
}

/** Imports `file` into the store's namespace (`--namespace`, else default) and prints what it did. @category commands */
export const importMcpMemory = (file: string) =>
  Effect.gen(function*() {
    const namespace = Option.getOrElse(yield* memoryNamespace, () => DEFAULT_NAMESPACE)
    const text = yield* Effect.try({ try: () => readFileSync(file, "utf8"), catch: (cause) => new StorageError({ method: "import --mcp-memory", cause }) })
    const parsed = parseGraphFile(text)
    const failures = [...parsed.failures]
    let entities = 0
    let observations: Graph.Added = { added: 0, present: 0 }
    for (const e of parsed.entities) {
      const r = yield* Effect.either(Graph.createEntities(namespace, [e], true))
      if (Either.isLeft(r)) {
        failures.push({ line: 0, reason: `entity ${JSON.stringify(e.name)}: ${r.left.message}` })
        continue
      }
      entities += r.right.created.length
      observations = { added: observations.added + r.right.observations.added, present: observations.present + r.right.observations.present }
    }
    const relations = (yield* Graph.createRelations(namespace, parsed.relations)).length
    const report = {
      namespace,
      entities: { imported: entities, skipped: parsed.entities.length - entities },
      observations: { imported: observations.added, skipped: observations.present },
      relations: { imported: relations, skipped: parsed.relations.length - relations },
      ...(parsed.torn !== undefined ? { tornLastLine: parsed.torn } : {}),
      failures
    }
    if (yield* jsonOutput) yield* printJson(report)
    else {
      yield* Console.log(table(["", "imported", "skipped"], [
        ["entities", report.entities.imported, report.entities.skipped],
        ["observations", report.observations.imported, report.observations.skipped],
        ["relations", report.relations.imported, report.relations.skipped]
      ]))
      if (parsed.torn !== undefined) {
        yield* Console.log(`line ${parsed.torn} is cut short (a write that never finished) and was skipped`)
      }
      for (const f of failures.slice(0, 20)) yield* Console.log(`failed: ${f.line > 0 ? `line ${f.line}: ` : ""}${f.reason}`)
    }
    if (failures.length > 0) return yield* new ImportIncomplete({ failed: failures.length })
  })
