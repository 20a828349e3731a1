/**
 * What the MemoryBackend kernel's modules share, below all of them: a service's resolved options (its scope), the
 * kernel record every method closes over, what a read through the service may see, and the renaming of a driver's
 * StorageError after the method called.
 */
import { Effect, Option } from "effect"
import type { Duration } from "effect"
import type { Embedder } from "../Embedder.js"
import type { EmbeddingError } from "../Errors.js"
import { StorageError } from "../Errors.js"
import { MAX_MEMORY_CONTENT } from "../Memory.js"
import type { Memory } from "../Memory.js"
import type { Driver } from "../MemoryBackend/Driver.js"
import { inSubtree } from "../Namespace.js"
import { isExpired } from "./memoryRules.js"

/** Options with their defaults applied and their values decoded. */
export interface Resolved {
  readonly namespace: Option.Option<string>
  readonly defaultTtl: Duration.Duration | undefined
  readonly extendOnAccess: boolean
  readonly maxContentLength: number
}

export const UNSCOPED: Resolved = {
  namespace: Option.none(),
  defaultTtl: undefined,
  extendOnAccess: false,
  maxContentLength: MAX_MEMORY_CONTENT
}

/** What every method of one service shares. */
export interface Kernel {
  readonly driver: Driver
  readonly embedder: Embedder["Type"]
  readonly embed: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingError>
  readonly span: { readonly attributes: { readonly "arawn.backend": string }; readonly captureStackTrace: false }
  readonly scope: Resolved
}

/** A driver's StorageError names the primitive that failed; the caller sees the method it called. */
export const retagError = (method: string) => <E>(e: E): E | StorageError =>
  e instanceof StorageError && e.method !== method ? new StorageError({ method, cause: e.cause }) : e
export const retag = (method: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.mapError(self, retagError(method))

/** Whether a read through this service may see `m`: unexpired, and in its namespace's subtree when it has one. */
export const readable = (k: Kernel, m: Memory, nowMillis: number): boolean =>
  !isExpired(m, nowMillis) && Option.match(k.scope.namespace, { onNone: () => true, onSome: (ns) => inSubtree(ns, m.namespace) })


/** Whether `namespace` is inside this service's subtree (always, for an unscoped service). */
export const within = (k: Kernel, namespace: string): boolean =>
  Option.match(k.scope.namespace, { onNone: () => true, onSome: (own) => inSubtree(own, namespace) })
