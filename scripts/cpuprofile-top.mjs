#!/usr/bin/env node
/**
 * Summarises V8 .cpuprofile files (from `node --cpu-prof`): the top functions by self time and by inclusive time
 * (aggregated by function name + file + line, recursion counted once), and the share of samples in each group.
 *
 *   node scripts/cpuprofile-top.mjs [--top N] [--window FROM:TO] [--within REGEX] [--detail REGEX] [--group "label=REGEX"]... file.cpuprofile...
 *
 * A sample is put in the first group, in the order given, one of whose stack frames ("name file:line") matches its
 * regex; samples matching none are "other". Without --group the default groups below describe where a memory call
 * of arawn-store spends its time. `--within REGEX` keeps only samples with a frame matching REGEX (e.g. the
 * workload's own function); `--window FROM:TO` keeps only samples taken between two monotonic timestamps in
 * microseconds (`process.hrtime.bigint() / 1000n`, the clock of a profile's timestamps on Linux), so start-up drops
 * out. Percentages are of the kept samples. `--detail REGEX` lists the samples of the groups matching REGEX by their
 * innermost frame outside effect's fiber loop (what the runtime was working for).
 */
import { readFileSync } from "node:fs"

/** Ordered: the first that matches a sample's stack wins, so the narrower purposes come before the wider ones. */
const DEFAULT_GROUPS = [
  ["GC", /^\(garbage collector\)/],
  ["idle (event loop waiting)", /^\(idle\)|^\(program\)/],
  ["reader pool hop (postMessage, replies)", /readPool|^postMessage |MessagePort|internal\/worker/],
  // better-sqlite3's native calls are counted as their JavaScript caller's self time: @effect/sql's statement runner,
  // or the store's own read connection.
  ["SQLite statement run (better-sqlite3, native)", /sql-sqlite-node\/dist\/esm\/SqliteClient\.js:55$|^(all|get|run) .*better-sqlite3|^\(anonymous\) .*sqliteMemory\/connection\.(ts|js):1$/],
  ["Schema.Array + parser built per call (SqlSchema.findAll, read.ts)", /^findAll |^Array\$ |^makeArrayClass /],
  ["input decoding (decodeInput)", /internal\/decode\.(js|ts)/],
  ["row decoding (Schema decode, rowToMemory, Memory)", /^(decodeUnknown|decode|rowToMemory|memoryOfRow|headOfRow) |ParseResult\.js|Schema\.js/],
  ["@effect/sql statement (compile, connection, prepare cache)", /@effect\/sql\/|sql-sqlite-node|internal\/cache\.js|[sS]emaphore/],
  ["spans (Effect.fn stack capture, span make/end)", /^(unsafeMakeSpan|endSpan|useSpan|withSpan|makeSpan|NativeSpan|span|end|attribute|defineLength|fnApply|addSpanStackTrace|captureStackTrace) /],
  ["DateTime / Clock", /dateTime\.js|DateTime\.js|clock\.js/],
  ["kernel and driver code (src)", /\/(src|dist)\/(internal|MemoryBackend|Memory|Ids|Json|Errors)/],
  ["Effect runtime (fiber loop, runPromise)", /effect\/dist\//]
]

const args = process.argv.slice(2)
let top = 25
let within
let window
let detail
const details = new Map()
const groups = []
const files = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i])
  else if (args[i] === "--within") within = new RegExp(args[++i])
  else if (args[i] === "--window") window = args[++i].split(":").map(Number)
  else if (args[i] === "--detail") detail = new RegExp(args[++i])
  else if (args[i] === "--group") {
    const spec = args[++i]
    const at = spec.indexOf("=")
    groups.push([spec.slice(0, at), new RegExp(spec.slice(at + 1))])
  } else files.push(args[i])
}
if (files.length === 0) {
  console.error("usage: node scripts/cpuprofile-top.mjs [--top N] [--window FROM:TO] [--within REGEX] [--detail REGEX] [--group label=REGEX]... file.cpuprofile...")
  process.exit(2)
}
const order = groups.length > 0 ? groups : DEFAULT_GROUPS

const shortUrl = (url) =>
  url === "" ? "" : url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "").replace(/.*\/(src|bench|test)\//, "$1/")

const self = new Map()
const inclusive = new Map()
const grouped = new Map()
let total = 0

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8"))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const keyOf = new Map(profile.nodes.map((n) => {
    const f = n.callFrame
    return [n.id, `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`.trim()]
  }))
  const stacks = new Map()
  const stackOf = (id) => {
    let s = stacks.get(id)
    if (s === undefined) {
      s = []
      for (let at = id; at !== undefined; at = parent.get(at)) if (byId.get(at).callFrame.functionName !== "(root)") s.push(keyOf.get(at))
      stacks.set(id, s)
    }
    return s
  }
  const { samples, timeDeltas } = profile
  let at = profile.startTime
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] precedes sample i; the time until the next sample is what sample i stands for.
    const dt = (timeDeltas[i + 1] ?? timeDeltas[i] ?? 0) / 1000
    at += timeDeltas[i] ?? 0
    if (window !== undefined && (at < window[0] || at > window[1])) continue
    const stack = stackOf(samples[i])
    if (within !== undefined && !stack.some((k) => within.test(k))) continue
    total += dt
    self.set(stack[0], (self.get(stack[0]) ?? 0) + dt)
    for (const k of new Set(stack)) inclusive.set(k, (inclusive.get(k) ?? 0) + dt)
    const group = order.find(([, re]) => stack.some((k) => re.test(k)))?.[0] ?? "other"
    grouped.set(group, (grouped.get(group) ?? 0) + dt)
    if (detail !== undefined && detail.test(group)) {
      // The innermost frame outside effect's own fiber machinery: what the runtime was doing work for.
      const caller = stack.find((k) => !/fiberRuntime\.js|internal\/core\.js|Function\.js|Utils\.js|internal\/runtime\.js|Scheduler\.js/.test(k)) ?? stack[0]
      details.set(caller, (details.get(caller) ?? 0) + dt)
    }
  }
}

const pct = (ms) => `${((100 * ms) / total).toFixed(1).padStart(5)}%`
const list = (title, m, n = top) => {
  console.log(`\n${title}`)
  for (const [k, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${ms.toFixed(0).padStart(8)} ms ${pct(ms)}  ${k}`)
}
console.log(`${files.length} profile(s), ${total.toFixed(0)} ms of samples${within ? ` within /${within.source}/` : ""}${
  window ? ` in the window ${window.join(":")}` : ""
}`)
list(`top ${top} by self time`, self)
list(`top ${top} by inclusive time`, inclusive)
list("groups (first matching group of each sample's stack)", grouped, Infinity)
if (detail !== undefined) list(`groups /${detail.source}/ by innermost frame outside the fiber loop`, details)
