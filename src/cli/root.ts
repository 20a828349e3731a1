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
import { InvalidInput, StorageError } from "../Errors.js"
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
const pgSchema = Options.text("pg-schema").pipe(
  Options.withDescription("PostgreSQL schema of the --url store's tables (default: $ARAWN_STORE_PG_SCHEMA, else public)"),
  Options.optional
)
const pgPrefix = Options.text("pg-prefix").pipe(
  Options.withDescription("Prefix of the --url store's table names (default: $ARAWN_STORE_PG_PREFIX, else arawn_store)"),
  Options.optional
)
const json = Options.boolean("json").pipe(Options.withDescription("Print results as JSON instead of tables"))
const namespace = Options.text("namespace").pipe(
  Options.withDescription("Memory commands see and change only this namespace (default: $ARAWN_STORE_NAMESPACE, else all)"),
  Options.optional
)

/** The root command; subcommands yield it to read the global options. @category commands */
export const root = Command.make("arawn-store", { dir, url, pgSchema, pgPrefix, json, namespace })

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
 * What a command needs of the store directory: `read` and `open` (reads; changes to existing records) require it
 * to exist and never create it; `create` (commands that add) creates it and its parents when it is missing. A
 * `read` command opens store files it cannot write read-only, so a read-only store can still be read.
 */
export type Access = "read" | "open" | "create"

const openDir = (access: Access) =>
  Effect.flatMap(storeDir, (given): Effect.Effect<string, NoStore | StorageError> => {
    const dir = resolve(given)
    if (access !== "create") return existsSync(dir) ? Effect.succeed(dir) : Effect.fail(new NoStore({ dir }))
    return Effect.as(
      Effect.try({
        try: () => mkdirSync(dir, { recursive: true }),
        catch: (cause) => new StorageError({ method: "cli.openDir", cause })
      }),
      dir
    )
  })

/** `--pg-schema` / `--pg-prefix`, else their environment variables: where the `--url` store's tables are. */
const pgNames = Effect.flatMap(root, (g) =>
  Effect.all({
    schema: Option.match(g.pgSchema, {
      onSome: (s) => Effect.succeed(Option.some(s)),
      onNone: () => Config.option(Config.string("ARAWN_STORE_PG_SCHEMA"))
    }),
    prefix: Option.match(g.pgPrefix, {
      onSome: (s) => Effect.succeed(Option.some(s)),
      onNone: () => Config.option(Config.string("ARAWN_STORE_PG_PREFIX"))
    })
  }))

/** The PostgreSQL store named by `--url`, else `ARAWN_STORE_URL`, if any. */
const storeUrl = Effect.flatMap(root, (g) =>
  Option.match(g.url, {
    onSome: (u) => Effect.succeed(Option.some(u)),
    onNone: () => Config.option(Config.string("ARAWN_STORE_URL"))
  }))

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

/** A database URL as a location; a URL of another scheme (mysql://, sqlite://) is refused, not taken for a path. */
const urlLocation = (
  method: string,
  text: string,
  names: { readonly schema: Option.Option<string>; readonly prefix: Option.Option<string> }
): Effect.Effect<Layers.Location, InvalidInput> =>
  Layers.isDatabaseUrl(text)
    ? Effect.succeed({
      _tag: "Url",
      url: Redacted.make(text),
      schema: Option.getOrUndefined(names.schema),
      prefix: Option.getOrUndefined(names.prefix)
    })
    : Effect.fail(new InvalidInput({
      method,
      message: `unsupported URL scheme ${JSON.stringify(`${SCHEME.exec(text)?.[1] ?? text}://`)}: a store URL is postgres://... or postgresql://...`
    }))

/**
 * A location given on the command line (`migrate --to`): a PostgreSQL URL (tables where `names` say), else a
 * directory. Text that looks like a URL of another scheme is refused rather than taken for a directory.
 */
export const locationOf = (
  text: string,
  names: { readonly schema: Option.Option<string>; readonly prefix: Option.Option<string> }
): Effect.Effect<Layers.Location, InvalidInput> =>
  SCHEME.test(text)
    ? urlLocation("migrate", text, names)
    : Effect.succeed({ _tag: "Dir", dir: resolve(text), read: false })

/** Where the command's store is: the database of `--url` / `ARAWN_STORE_URL`, else the store directory. */
export const storeLocation = (access: Access) =>
  Effect.gen(function*() {
    const u = yield* storeUrl
    if (Option.isSome(u)) return yield* urlLocation("--url", u.value, yield* pgNames)
    const at: Layers.Location = { _tag: "Dir", dir: yield* openDir(access), read: access === "read" }
    return at
  }).pipe(Effect.tap((at) => Effect.logDebug(`store: ${Layers.describe(at)}`)))

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
