/**
 * The top-level command and its global options, which every subcommand reads, and how a command gets the store
 * it works on.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { existsSync, mkdirSync } from "node:fs"
import { resolve } from "node:path"
import { Config, Effect, Layer, Option, Redacted, Schema } from "effect"
import { StorageError } from "../Errors.js"
import * as Layers from "./layers.js"

/** Where the store lives when `--dir` is not given and `ARAWN_STORE_DIR` is unset. @category constants */
export const DEFAULT_DIR = "./.arawn-store"

const dir = Options.text("dir").pipe(
  Options.withAlias("d"),
  Options.withDescription(`Store directory (default: $ARAWN_STORE_DIR, else ${DEFAULT_DIR})`),
  Options.optional
)
const url = Options.text("url").pipe(
  Options.withDescription("A PostgreSQL store shared by several machines, postgres://... (default: $ARAWN_STORE_URL); replaces --dir"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("Print results as JSON instead of tables"))
const namespace = Options.text("namespace").pipe(
  Options.withDescription("Memory commands see and change only this namespace (default: $ARAWN_STORE_NAMESPACE, else all)"),
  Options.optional
)

/** The root command; subcommands yield it to read the global options. @category commands */
export const root = Command.make("arawn-store", { dir, url, json, namespace })

/** The namespace memory commands are confined to: `--namespace`, else `ARAWN_STORE_NAMESPACE`, else none. @category options */
export const memoryNamespace = Effect.flatMap(root, (g) =>
  Option.match(g.namespace, {
    onSome: (ns) => Effect.succeed(Option.some(ns)),
    onNone: () => Config.option(Config.string("ARAWN_STORE_NAMESPACE"))
  }))

/** The directory given with `--dir`, if any (the demo treats only an explicit one as its target). @category options */
export const explicitDir: Effect.Effect<Option.Option<string>, never, Command.Command.Context<"arawn-store">> =
  Effect.map(root, (g) => g.dir)

/** The store directory: `--dir`, else `ARAWN_STORE_DIR`, else `./.arawn-store`. @category options */
export const storeDir = Effect.flatMap(root, (g) =>
  Option.match(g.dir, {
    onSome: Effect.succeed,
    onNone: () => Config.string("ARAWN_STORE_DIR").pipe(Config.withDefault(DEFAULT_DIR))
  }))

/** Whether `--json` was given. @category options */
export const jsonOutput = Effect.map(root, (g) => g.json)

/** A command that works on existing records found no store directory (a typo in `--dir` is not an empty store). */
export class NoStore extends Schema.TaggedError<NoStore>()("NoStore", { dir: Schema.String }) {
  override get message(): string {
    return `no store at ${this.dir} (check --dir or ARAWN_STORE_DIR; 'memory add' or 'workstream create' starts one)`
  }
}

/**
 * What a command needs of the store directory: `open` (reads, and changes to existing records) requires it to
 * exist and never creates it; `create` (commands that add) creates it and its parents when it is missing.
 */
export type Access = "open" | "create"

const openDir = (access: Access) =>
  Effect.flatMap(storeDir, (given): Effect.Effect<string, NoStore | StorageError> => {
    const dir = resolve(given)
    if (access === "open") return existsSync(dir) ? Effect.succeed(dir) : Effect.fail(new NoStore({ dir }))
    return Effect.as(
      Effect.try({
        try: () => mkdirSync(dir, { recursive: true }),
        catch: (cause) => new StorageError({ method: "cli.openDir", cause })
      }),
      dir
    )
  })

/** The PostgreSQL store named by `--url`, else `ARAWN_STORE_URL`, if any. */
const storeUrl = Effect.flatMap(root, (g) =>
  Option.match(g.url, {
    onSome: (u) => Effect.succeed(Option.some(u)),
    onNone: () => Config.option(Config.string("ARAWN_STORE_URL"))
  }))

/** A location given on the command line (`--to`): a PostgreSQL URL, else a directory. */
export const locationOf = (text: string): Layers.Location =>
  Layers.isDatabaseUrl(text) ? { _tag: "Url", url: Redacted.make(text) } : { _tag: "Dir", dir: resolve(text) }

/** Where the command's store is: the database of `--url` / `ARAWN_STORE_URL`, else the store directory. */
export const storeLocation = (access: Access) =>
  Effect.flatMap(storeUrl, Option.match({
    onSome: (u) => Effect.succeed<Layers.Location>({ _tag: "Url", url: Redacted.make(u) }),
    onNone: () => Effect.map(openDir(access), (dir): Layers.Location => ({ _tag: "Dir", dir }))
  }))

const withLayer = <ROut, E2>(access: Access, layer: (at: Layers.Location) => Layer.Layer<ROut, E2>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(storeLocation(access), (at) => Effect.provide(effect, layer(at)))

/**
 * Runs `effect` with the store's memories (SQLite, loaded only now), confined to the namespace the command line
 * names, if any.
 *
 * @category layers
 */
export const withMemories = (access: Access) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(memoryNamespace, (ns) =>
    withLayer(access, (d) =>
      Option.match(ns, {
        onNone: () => Layers.memoriesAt(d),
        onSome: (namespace) => Layers.scopedMemories(d, namespace)
      }))(effect))

/** Runs `effect` with the store's workstreams (JSONL logs + index, loaded only now). @category layers */
export const withWorkstreams = (access: Access) => withLayer(access, Layers.workstreamsAt)

/** Runs `effect` with memories and workstreams (the importer). @category layers */
export const withStore = (access: Access) => withLayer(access, Layers.storeAt)

const Limit = Schema.Int.pipe(Schema.between(1, 1000, { message: () => "--limit must be a whole number from 1 to 1000" }))

/** `--limit` / `-n`: a count from 1 to 1000. @category options */
export const limitOption = (description: string) =>
  Options.integer("limit").pipe(Options.withAlias("n"), Options.withSchema(Limit), Options.withDescription(description))
