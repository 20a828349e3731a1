/**
 * The hot cache of live agent sessions: the contract, and the kernel every backend shares.
 *
 * A backend implements a `Driver` (the storage primitives, over values the kernel has already validated) or an
 * `EncodedDriver` (the same over the sessions' JSON text), and `make` / `makeEncoded` turn it into the service.
 * The kernel owns what does not depend on storage, once for every backend: id validation, the rule that
 * `put(id, s)` requires `s.id === id`, the Session schema, free-form fields (metadata, tool-call arguments) kept
 * as their JSON form and at most `Json.MAX_DEPTH` deep, detached snapshots, the reading of stored text, and the
 * spans.
 *
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer, Option } from "effect"
import type { Duration } from "effect"
import { Conflict, InvalidInput } from "./Errors.js"
import type { StorageError } from "./Errors.js"
import type { SessionId } from "./Ids.js"
import { decodeId, decodeStored, encodeVersioned, prepare, snapshot } from "./internal/session/codec.js"
import type { Driver, VersionedText } from "./internal/session/driver.js"
import { resolveOptions } from "./internal/session/options.js"
import { argumentId, lookup, tracing } from "./internal/semconv.js"
import { memoryDriver } from "./internal/session/testDouble.js"
import type { Session } from "./Session.js"

/** @category services */
export class SessionStore extends Context.Tag("arawn-store/SessionStore")<SessionStore, {
  /** `None` when absent or expired; a hit refreshes the sliding TTL and the LRU position. */
  readonly get: (id: SessionId) => Effect.Effect<Option.Option<Session>, InvalidInput | StorageError>
  /**
   * Stores a snapshot under `id` (which must equal `session.id`), replacing any previous one; refreshes TTL and LRU.
   * The stored `version` is the previous live one + 1 (1 when there was none), whatever `session.version` says.
   * With `expectedVersion`, the put is a compare-and-set: when the live version (0 when absent or expired) differs,
   * nothing is written and it fails with Conflict. Free-form fields keep their JSON form and may nest at most
   * `Json.MAX_DEPTH` levels (cycles never do).
   */
  readonly put: (
    id: SessionId,
    session: Session,
    options?: PutOptions
  ) => Effect.Effect<void, InvalidInput | StorageError | Conflict>
  /** Removes the session and returns what was there (`None` when absent or expired); idempotent. */
  readonly remove: (id: SessionId) => Effect.Effect<Option.Option<Session>, InvalidInput | StorageError>
  /** Whether a live (unexpired) session has this id; does not refresh TTL or LRU position. */
  readonly contains: (id: SessionId) => Effect.Effect<boolean, InvalidInput | StorageError>
  /** How many live sessions are held; expired ones never count. */
  readonly size: () => Effect.Effect<number, StorageError>
}>() {}

/**
 * The version a session's stored text carries (where the kernel's encoding puts it), or undefined when it has
 * none: what an `EncodedDriver` compares with a put's expected version.
 *
 * @category drivers
 */
export { versionOf } from "./internal/session/codec.js"

export type { Driver, VersionedText } from "./internal/session/driver.js"

/** @category options */
export interface PutOptions {
  /**
   * Write only if the live session's version is this one (0: only if no live session has the id), atomically with
   * the write; otherwise fail with `Conflict { entity: "session", id, expected, actual }` and write nothing. After a
   * successful compare-and-set put the version is `expectedVersion + 1`. Versions restart at 1 after a remove or an
   * expiry, so a writer that read version n before a remove and n puts can still win (ABA).
   */
  readonly expectedVersion?: number | undefined
}

/** @category options */
export interface CacheOptions {
  /** Most sessions held; the least recently used is evicted past it (default 10,000; below 1 counts as 1). */
  readonly capacity?: number | undefined
  /** Sliding idle TTL: a session untouched by `get`/`put` for longer than this is gone (default: none). */
  readonly ttl?: Duration.DurationInput | undefined
}

/**
 * The storage primitives of a backend that holds each session's JSON text (Redis, SQL, files). The kernel writes
 * only text it encoded from a valid session, and reads every text back through the Session schema: a text that
 * does not decode, or decodes to a session under another id, is corrupt. Such an entry stays where it is: `get`
 * and `remove` fail with StorageError naming `locate(id)`, `contains` and `size` count it (they never read
 * values), and `put` replaces it.
 *
 * @category drivers
 */
export interface EncodedDriver {
  /** The backend's name, the `arawn.backend` attribute of every span. */
  readonly backend: string
  /** Span attributes beside `arawn.backend` (e.g. `db.system.name`). */
  readonly attributes?: Readonly<Record<string, string>> | undefined
  /** Where the entry of `id` lives (e.g. its key), named by the StorageError of a corrupt entry. */
  readonly locate: (id: SessionId) => string
  /** The live entry's text, refreshing its TTL. */
  readonly get: (id: SessionId) => Effect.Effect<Option.Option<string>, StorageError>
  /**
   * In one atomic step: reads the live entry's version (`versionOf` its text; 0 when none, "unreadable" when its
   * text has none), and when `expected` is undefined or equal to it, stores `head + (version + 1) + tail` (version
   * 1 over an unreadable entry) replacing any previous entry and refreshing the TTL, and returns None; otherwise
   * stores nothing and returns the live version as text.
   */
  readonly set: (
    id: SessionId,
    text: VersionedText,
    expected: number | undefined
  ) => Effect.Effect<Option.Option<string>, StorageError>
  /**
   * Reads the live entry and deletes it if `read` accepts its text, returning what `read` made of it; when `read`
   * fails, the entry stays and its failure is the result. An entry replaced between the read and the delete is
   * read again, so what is returned is exactly what was deleted.
   */
  readonly remove: <A, E>(
    id: SessionId,
    read: (text: string) => Either.Either<A, E>
  ) => Effect.Effect<Option.Option<A>, E | StorageError>
  /** Whether a live entry exists (corrupt or not); refreshes nothing. */
  readonly has: (id: SessionId) => Effect.Effect<boolean, StorageError>
  /** How many live entries exist (corrupt ones included). */
  readonly size: Effect.Effect<number, StorageError>
}

/** @category options */
export interface MakeOptions {
  /**
   * One span per call (default true, like every store). An Effect span costs microseconds, far more than an
   * in-process cache hit: turn it off where the store sits on a path measured in ops/s.
   */
  readonly tracing?: boolean | undefined
}

/**
 * The service with one span per method, named as on every backend, the backend in `arawn.backend` (or `methods`
 * as they are when tracing is off).
 */
const serve = (
  methods: SessionStore["Type"],
  driver: Pick<Driver, "backend" | "attributes">,
  options: MakeOptions
): SessionStore["Type"] => {
  if (options.tracing === false) return methods
  // No call-site stack on the spans: with one, Effect registers a stack capture per call in a WeakMap, which on
  // an in-process cache costs more than the operation. The span name already says which method failed.
  const { fn } = tracing({ attributes: { ...driver.attributes, "arawn.backend": driver.backend }, captureStackTrace: false }, driver.backend)
  return {
    get: fn("SessionStore.get")(methods.get, lookup),
    put: fn("SessionStore.put")(methods.put, argumentId),
    remove: fn("SessionStore.remove")(methods.remove, lookup),
    contains: fn("SessionStore.contains")(methods.contains),
    size: fn("SessionStore.size")(methods.size)
  }
}

const ids = {
  get: decodeId("SessionStore.get"),
  put: decodeId("SessionStore.put"),
  remove: decodeId("SessionStore.remove"),
  contains: decodeId("SessionStore.contains")
}

/** The id and the expected version of a put, both checked. */
const putArgs = (
  raw: SessionId,
  options: PutOptions | undefined
): Either.Either<readonly [SessionId, number | undefined], InvalidInput> => {
  const expected = options?.expectedVersion
  if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
    return Either.left(new InvalidInput({ method: "SessionStore.put", message: `expectedVersion must be a non-negative integer, got ${expected}` }))
  }
  return Either.map(ids.put(raw), (id) => [id, expected] as const)
}

/** A driver's answer to a put: None is written, Some is the live version that did not match. */
const conflict = (id: SessionId, expected: number | undefined, actual: Option.Option<string>) =>
  Option.isNone(actual)
    ? Effect.void
    : Effect.fail(new Conflict({ entity: "session", id, expected: String(expected), actual: actual.value }))

/**
 * The service over a driver that holds `Session` objects.
 *
 * @category constructors
 */
export const make = (driver: Driver, options: MakeOptions = {}): SessionStore["Type"] =>
  serve({
    get: (raw) =>
      Effect.flatMap(ids.get(raw), (id) =>
        Effect.map(driver.get(id), (stored) => Option.isSome(stored) ? Option.some(snapshot(stored.value)) : stored)),
    put: (raw, session, options) =>
      Effect.flatMap(putArgs(raw, options), ([id, expected]) =>
        Effect.flatMap(prepare("SessionStore.put", id, session), (copy) =>
          Effect.flatMap(driver.set(id, copy, expected), (actual) => conflict(id, expected, actual)))),
    remove: (raw) => Effect.flatMap(ids.remove(raw), (id) => driver.remove(id)),
    contains: (raw) => Effect.flatMap(ids.contains(raw), (id) => driver.has(id)),
    size: () => driver.size
  }, driver, options)

/**
 * The service over a driver that holds JSON text: `put` encodes with the Session schema, `get` and `remove`
 * decode, and a corrupt entry is handled as `EncodedDriver` says.
 *
 * @category constructors
 */
export const makeEncoded = (driver: EncodedDriver, options: MakeOptions = {}): SessionStore["Type"] =>
  serve({
    get: (raw) =>
      Effect.flatMap(ids.get(raw), (id) =>
        Effect.flatMap(driver.get(id), (text) =>
          Option.isNone(text)
            ? Effect.succeedNone
            : Effect.asSome(decodeStored("SessionStore.get", id, driver.locate(id), text.value)))),
    put: (raw, session, options) =>
      Effect.flatMap(putArgs(raw, options), ([id, expected]) =>
        Effect.flatMap(
          Either.flatMap(prepare("SessionStore.put", id, session), (copy) => encodeVersioned("SessionStore.put", copy)),
          (text) => Effect.flatMap(driver.set(id, text, expected), (actual) => conflict(id, expected, actual))
        )),
    remove: (raw) =>
      Effect.flatMap(ids.remove(raw), (id) =>
        driver.remove(id, (text) => decodeStored("SessionStore.remove", id, driver.locate(id), text))),
    contains: (raw) => Effect.flatMap(ids.contains(raw), (id) => driver.has(id)),
    size: () => driver.size
  }, driver, options)

/**
 * An in-process SessionStore over a `Map`, with capacity and a sliding TTL read from Effect's `Clock` (so
 * `TestClock` drives expiry): the kernel over the simplest driver, so the double behaves as the real backends do.
 *
 * @category constructors
 */
export const makeMemory = (options: CacheOptions = {}): Effect.Effect<SessionStore["Type"]> =>
  Effect.sync(() => make(memoryDriver(resolveOptions(options))))

/**
 * The in-memory SessionStore with default options (capacity 10,000, no TTL): the test double.
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<SessionStore> = Layer.effect(SessionStore, makeMemory())

/** `layerMemory` with a capacity and TTL. @category layers */
export const layerMemoryWith = (options: CacheOptions): Layer.Layer<SessionStore> =>
  Layer.effect(SessionStore, makeMemory(options))
