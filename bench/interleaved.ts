/** Per-call timing of several entries measured side by side, for the fixed-cost benches. */
import { performance } from "node:perf_hooks"

/** Named calls to time; each gets a running call number. */
export type Entries = ReadonlyArray<readonly [string, (i: number) => unknown]>

const WARMUP = 10

/**
 * Every entry's batches interleaved, one batch of each in turn, so load from other processes falls on all of them
 * alike; prints each entry's p50 over its batches of wall time and of the process's CPU time (all its threads),
 * in microseconds per call. On a loaded machine CPU time is the steadier of the two.
 */
export const interleaved = async (entries: Entries, { batches, calls }: { readonly batches: number; readonly calls: number }) => {
  const wall = entries.map((): Array<number> => [])
  const cpu = entries.map((): Array<number> => [])
  let i = 0
  for (let b = 0; b < WARMUP + batches; b++) {
    for (const [k, [, call]] of entries.entries()) {
      const t0 = performance.now()
      const c0 = process.cpuUsage()
      for (let j = 0; j < calls; j++) await call(i++)
      const c = process.cpuUsage(c0)
      if (b >= WARMUP) {
        wall[k]!.push(((performance.now() - t0) / calls) * 1000)
        cpu[k]!.push((c.user + c.system) / calls)
      }
    }
  }
  const p50 = (xs: Array<number>) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(1).padStart(8)
  console.log(`    wall      cpu  (us per call, p50 of ${batches} batches of ${calls})`)
  for (const [k, [name]] of entries.entries()) console.log(`${p50(wall[k]!)} ${p50(cpu[k]!)}  ${name}`)
}
