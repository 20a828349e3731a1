/**
 * One lock per workstream, in process: a semaphore held in an `RcMap`, so it exists only while some fiber holds or
 * waits for it, however many ids a long-lived process touches.
 */
import { Effect, RcMap } from "effect"
import type { Scope } from "effect"
import type { WorkstreamId } from "../../Ids.js"

export interface Locks {
  /** Runs `self` holding the lock of `id`. */
  readonly withLock: (id: WorkstreamId) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, Scope.Scope>>
}

export const makeLocks: Effect.Effect<Locks, never, Scope.Scope> = Effect.map(
  RcMap.make({ lookup: (_: WorkstreamId) => Effect.makeSemaphore(1) }),
  (map) => ({
    withLock: (id) => (self) => Effect.scoped(Effect.flatMap(RcMap.get(map, id), (lock) => lock.withPermits(1)(self)))
  })
)
