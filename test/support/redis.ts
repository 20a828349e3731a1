/**
 * Redis servers for the session tests: the shared one on 6379 (never restarted: other test runs use it),
 * private throwaway servers on free loopback ports, and a real 3-master Redis Cluster started from redis-server
 * and `redis-cli --cluster create`, stopped when the test file ends.
 */
import { execFile, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { promisify } from "node:util"
import { Deferred, Duration, Effect, Layer } from "effect"
import type { Cluster, Redis } from "ioredis"
import { SessionStoreSuite } from "arawn-store/testing"
import { literalPattern } from "../../src/internal/session/redis.js"

export const host = "127.0.0.1"
export const port = 6379
const run = promisify(execFile)

/**
 * Whether something accepts TCP connections on `host:p` within two seconds: a refused connection answers at once;
 * the bound is for a loaded machine, where the process may not run for longer than a short bound and then sees its
 * timer expired before it sees the connection.
 */
export const answers = (p: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port: p })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(2_000, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

/** Redis tests may be skipped only when no server answers AND the environment does not require services (CI). */
export const skipRedis = async () => !(await answers(port)) && !process.env.ARAWN_REQUIRE_SERVICES

/** A port nothing listens on right now. */
export const sparePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const p = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(p))
    })
  })

export const until = async (check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return false
}

/** Starts a redis-server on `p` with `extra` arguments; resolves once it answers. */
export const startServer = async (p: number, extra: ReadonlyArray<string> = []): Promise<ChildProcess> => {
  const child = spawn("redis-server", ["--port", String(p), "--bind", host, "--save", "", "--appendonly", "no", ...extra], {
    stdio: "ignore"
  })
  if (!(await until(() => answers(p), 5_000))) {
    child.kill("SIGKILL")
    throw new Error(`redis-server did not start on port ${p}`)
  }
  return child
}

export const stopServer = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

/** A throwaway redis-server on `p`, killed when the scope closes. */
export const redisServer = (p: number) =>
  Effect.acquireRelease(Effect.promise(() => startServer(p)), (child) => Effect.promise(() => stopServer(child)))

export interface RedisCluster {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly stop: () => Promise<void>
}

/**
 * A Redis Cluster of three masters (no replicas) on free loopback ports, its bus on other free ports, in a
 * temporary directory; resolves once every node reports `cluster_state:ok`.
 */
export const startCluster = async (): Promise<RedisCluster> => {
  const dir = mkdtempSync(join(tmpdir(), "arawn-cluster-"))
  const ports: Array<number> = []
  while (ports.length < 6) {
    const p = await sparePort()
    if (!ports.includes(p)) ports.push(p)
  }
  const masters = ports.slice(0, 3)
  const children: Array<ChildProcess> = []
  const stop = async () => {
    await Promise.all(children.map(stopServer))
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const [i, p] of masters.entries()) {
      children.push(await startServer(p, [
        "--cluster-enabled", "yes",
        "--cluster-config-file", join(dir, `nodes-${p}.conf`),
        "--cluster-port", String(ports[3 + i]),
        "--cluster-node-timeout", "5000",
        "--dir", dir
      ]))
    }
    await run("redis-cli", ["--cluster", "create", ...masters.map((p) => `${host}:${p}`), "--cluster-replicas", "0", "--cluster-yes"])
    const ok = await until(async () => {
      const infos = await Promise.all(masters.map((p) => run("redis-cli", ["-h", host, "-p", String(p), "cluster", "info"])))
      return infos.every(({ stdout }) => stdout.includes("cluster_state:ok"))
    }, 20_000)
    if (!ok) throw new Error("the cluster did not reach cluster_state:ok")
    return { nodes: masters.map((p) => ({ host, port: p })), stop }
  } catch (e) {
    await stop()
    throw e
  }
}

/** Takes ARGV[1] ms off KEYS[1]'s TTL, deleting it when that leaves nothing: to the server, as if the time passed. */
const ageSource = `
local t = redis.call('PTTL', KEYS[1])
if t < 0 then return 0 end
if t <= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], t - tonumber(ARGV[1])) end
return 1
`

/**
 * The `SessionStoreSuite.Expiry` of the Redis stores on `prefix` (`clock: "hand"`): every key under it with a TTL
 * has `d` taken off it, as if `d` had passed on the server. With `tiered`, every tiered instance on the prefix is
 * then told to drop its copies of those keys (an L1 copy ages in real time, which has not passed), as a write
 * tells it, and `advance` returns once each has acknowledged.
 */
export const expiryHand = (client: Redis | Cluster, prefix: string, tiered: boolean) =>
  Layer.scoped(
    SessionStoreSuite.Expiry,
    Effect.gen(function*() {
      const masters = "nodes" in client ? client.nodes("master") : [client]
      const pending = new Map<string, { need: number; got: number; readonly done: Deferred.Deferred<void> }>()
      const settle = (nonce: string) => {
        const p = pending.get(nonce)
        if (p !== undefined && p.got >= p.need) Deferred.unsafeDone(p.done, Effect.void)
      }
      const writer = `expiry-${randomUUID()}`
      if (tiered) {
        yield* Effect.acquireRelease(
          Effect.promise(async () => {
            const conn = masters[0]!.duplicate()
            await conn.subscribe(`${prefix}ack:${writer}`)
            conn.on("message", (_: string, message: string) => {
              const nonce = message.slice(0, message.indexOf(" "))
              const p = pending.get(nonce)
              if (p === undefined) return
              p.got++
              settle(nonce)
            })
            return conn
          }),
          (conn) => Effect.promise(() => conn.quit())
        )
      }
      let counter = 0
      const ageAll = (ms: number) =>
        Effect.promise(async () => {
          const aged: Array<string> = []
          for (const node of masters) {
            let cursor = "0"
            do {
              const [next, keys] = await node.scan(cursor, "MATCH", literalPattern(prefix), "COUNT", 1000)
              for (const k of keys) if (await client.eval(ageSource, 1, k, String(ms)) === 1) aged.push(k)
              cursor = next
            } while (cursor !== "0")
          }
          return aged
        })
      const invalidate = (key: string) =>
        Effect.gen(function*() {
          const nonce = `${writer}/${++counter}`
          const entry = { need: Number.POSITIVE_INFINITY, got: 0, done: yield* Deferred.make<void>() }
          pending.set(nonce, entry)
          entry.need = yield* Effect.promise(() => client.publish(`${prefix}invalidate`, `${nonce} ${key.slice(prefix.length)}`))
          settle(nonce)
          yield* Deferred.await(entry.done)
          pending.delete(nonce)
        })
      return {
        advance: (d: Duration.Duration) =>
          Effect.flatMap(ageAll(Duration.toMillis(d)), (aged) =>
            tiered ? Effect.forEach(aged, invalidate, { discard: true }) : Effect.void)
      }
    })
  )
