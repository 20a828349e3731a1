/**
 * vitest setupFile: Effect's default scheduler hands its queued fibers to each other through microtasks, and gives
 * the event loop a turn (a timer) only once in 2,048 rounds. A test file of many concurrent conformance cases over a
 * synchronous SQLite connection is then one long stretch of microtasks; on a loaded machine that stretch lasted
 * over a minute (measured: 15-24 s of event-loop delay in MemoryBackend.sqlite.test.ts at load 25-30, under 6 s
 * with a turn every round), and vitest's worker, whose calls to the main process time out after 60 s on timers
 * that cannot fire meanwhile, failed the run with "Timeout calling onTaskUpdate" after every test had passed.
 * Giving the event loop a turn every round costs a few percent of the run.
 */
import { Scheduler } from "effect"

Object.assign(Scheduler.defaultScheduler, { maxNextTickBeforeTimer: 1 })
