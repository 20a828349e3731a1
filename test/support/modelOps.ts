/**
 * How many random operations a model run on PostgreSQL makes in `npm test`. CI's server is PGlite, which serves
 * one statement at a time in WebAssembly, about ten times slower per operation than the other layers, which run
 * the same models at full length; every operation kind still comes up many times in this many. The variable the
 * suite reads (`ARAWN_MODEL_OPS`, or `ARAWN_CONSOLIDATION_OPS`) raises it for a soak.
 */
export const pgModelOps = (variable = "ARAWN_MODEL_OPS", fallback = 600): number => {
  const fromEnv = Number(process.env[variable])
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : fallback
}
