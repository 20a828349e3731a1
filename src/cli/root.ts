/**
 * The top-level command and its global options, which every subcommand reads.
 *
 * @since 0.1.0
 */
import { Command, Options } from "@effect/cli"
import { Config, Effect, Option, Schema } from "effect"
import type { WriteError } from "../MemoryBackend.js"
import { embedded } from "./layers.js"

/** Where the store lives when `--dir` is not given and `ARAWN_STORE_DIR` is unset. @category constants */
export const DEFAULT_DIR = "./.arawn-store"

const dir = Options.text("dir").pipe(
  Options.withAlias("d"),
  Options.withDescription(`Store directory (default: $ARAWN_STORE_DIR, else ${DEFAULT_DIR})`),
  Options.optional
)

const json = Options.boolean("json").pipe(Options.withDescription("Print results as JSON instead of tables"))

/** The root command; subcommands yield it to read the global options. @category commands */
export const root = Command.make("arawn-store", { dir, json })

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

/** Runs `effect` against the embedded store in the chosen directory. @category layers */
export const withStore = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(storeDir, (d) => Effect.provide(effect, embedded(d)))

/** Errors a store command may end with. @category errors */
export type StoreError = WriteError

const Limit = Schema.Int.pipe(Schema.between(1, 1000, { message: () => "--limit must be a whole number from 1 to 1000" }))

/** `--limit` / `-n`: a count from 1 to 1000. @category options */
export const limitOption = (description: string) =>
  Options.integer("limit").pipe(Options.withAlias("n"), Options.withSchema(Limit), Options.withDescription(description))
