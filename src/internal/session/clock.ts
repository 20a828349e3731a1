/**
 * Real time for the Redis session stores. Command deadlines, leases and acknowledgement waits bound what happens
 * on servers and in other processes, which Effect's Clock does not drive: under TestClock they must still pass in
 * real time, or a suite moving its clock by hand would stall them (or let a lease outlive what it proves).
 */
import { Clock, Effect } from "effect"

/** The process's own clock, whatever Clock the caller's fiber carries. */
export const realClock: Clock.Clock = Clock.make()

/** Monotonic milliseconds of the real clock, for code that must read time synchronously (lru-cache, lease checks). */
export const monotonicMillis = (): number => Number(realClock.unsafeCurrentTimeNanos() / 1_000n) / 1_000

/** `self` with every sleep and timeout in it on the real clock. */
export const onRealClock = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => Effect.withClock(self, realClock)
