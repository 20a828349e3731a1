/**
 * The driver types the SessionStore kernel builds on, apart from the kernel so that the drivers it ships with
 * (the test double among them) can name them without importing the module that imports them.
 */
import type { Effect, Option } from "effect"
import type { InvalidInput, StorageError } from "../../Errors.js"
import type { SessionId } from "../../Ids.js"
import type { Session } from "../../Session.js"

/** A session's stored text with its version left open: the text at version `v` is `head + v + tail`. @category drivers */
export interface VersionedText {
  readonly head: string
  readonly tail: string
}

/**
 * The storage primitives of a backend that holds `Session` objects (an in-process cache). Every id is valid and
 * every session is a private copy the kernel made for this driver, so the driver may keep it as it is; the
 * kernel copies what `get` returns before a caller sees it. Each primitive is atomic with respect to the others.
 *
 * @category drivers
 */
export interface Driver {
  /** The backend's name, the `arawn.backend` attribute of every span. */
  readonly backend: string
  /** Span attributes beside `arawn.backend` (e.g. `db.system.name`). */
  readonly attributes?: Readonly<Record<string, string>> | undefined
  /** The live entry, refreshing its TTL and LRU position. */
  readonly get: (id: SessionId) => Effect.Effect<Option.Option<Session>, StorageError>
  /**
   * In one atomic step: reads the live entry's version (0 when none), and when `expected` is undefined or equal to
   * it, stores `session` (its version set with `stamp` to that version + 1) replacing any previous entry (expired
   * or not), evicting past capacity and refreshing TTL and LRU, and returns None; otherwise stores nothing and
   * returns the live version as text. InvalidInput only for what the driver itself must encode and cannot.
   */
  readonly set: (
    id: SessionId,
    session: Session,
    expected: number | undefined
  ) => Effect.Effect<Option.Option<string>, InvalidInput | StorageError>
  /** Deletes the entry and returns the live one that was there; the driver must no longer hold it. */
  readonly remove: (id: SessionId) => Effect.Effect<Option.Option<Session>, StorageError>
  /** Whether a live entry exists; refreshes nothing. */
  readonly has: (id: SessionId) => Effect.Effect<boolean, StorageError>
  /** How many live entries exist. */
  readonly size: Effect.Effect<number, StorageError>
}
