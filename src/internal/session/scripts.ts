/**
 * The Lua scripts of the Redis session stores: each write is one script, so the version check, the write and the
 * invalidation message are one atomic step on the server (and one round trip), on a single key (one slot in a
 * Cluster).
 */
import { createHash } from "node:crypto"
import type { Cluster, Redis } from "ioredis"

/** A standalone client or a Cluster: every command the stores send names one key, so either routes it. */
export type Client = Redis | Cluster

/**
 * Compare-and-set put. KEYS[1] the key; ARGV: head, tail, expected version ("" for none), PX ("" for none),
 * channel ("" for none), message. The live version is read where `encodeVersioned` puts it (-1 when the text has
 * none: an unreadable entry, which an unconditional put replaces with version 1). Returns
 * `{written, version, receivers}`: the new version when written, the live one otherwise, and how many
 * subscribers the invalidation reached on this server.
 */
export const putSource = `
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = tonumber(string.match(cur, '^{"id":"[^"]*","version":(%d+),')) or -1 end
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= v then return {0, v, 0} end
if v < 0 then v = 0 end
v = v + 1
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[1] .. v .. ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1] .. v .. ARGV[2], 'PX', ARGV[4])
end
local n = 0
if ARGV[5] ~= '' then n = redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return {1, v, n}
`

/**
 * Deletes KEYS[1] only while it still holds ARGV[1] (remove deletes exactly the value it read and decoded),
 * publishing ARGV[3] on channel ARGV[2] ("" for none) when it did. Returns `{deleted, receivers}`.
 */
export const deleteSource = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, 0} end
redis.call('DEL', KEYS[1])
local n = 0
if ARGV[2] ~= '' then n = redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return {1, n}
`

const isNoScript = (e: unknown) => e instanceof Error && e.message.startsWith("NOSCRIPT")

/** Runs a script by its SHA1, loading it with EVAL the first time a server has not seen it. */
export const script = (source: string) => {
  const sha = createHash("sha1").update(source).digest("hex")
  return (client: Client, key: string, args: ReadonlyArray<string>): Promise<unknown> =>
    client.evalsha(sha, 1, key, ...args).catch((e: unknown) =>
      isNoScript(e) ? client.eval(source, 1, key, ...args) : Promise.reject(e)
    )
}

/** The integers a script returned, or a failure naming what came back instead. */
export const integers = (reply: unknown, count: number): ReadonlyArray<number> => {
  if (Array.isArray(reply) && reply.length === count && reply.every((n) => typeof n === "number")) return reply
  throw new Error(`unexpected script reply: ${JSON.stringify(reply)}`)
}

/** The masters of a client: every node a SCAN must visit. */
export const masters = (client: Client): ReadonlyArray<Redis> => "nodes" in client ? client.nodes("master") : [client]
