/**
 * A TCP proxy on loopback that a test steers: every byte it passes is logged in one ordered list (which
 * connection, which way, the text), each direction of each connection can be held (its bytes buffered, in order)
 * and released, and `when` waits, without polling, until the log satisfies a condition. Closed with its Scope.
 */
import * as net from "node:net"
import { Deferred, Effect } from "effect"
import type { Scope } from "effect"

export type Way = "up" | "down"

export interface Chunk {
  readonly conn: number
  readonly way: Way
  readonly text: string
}

interface Pipe {
  held: boolean
  readonly queue: Array<Buffer>
  readonly to: net.Socket
}

export interface Proxy {
  readonly port: number
  /** Everything passed or held so far, in the order it arrived at the proxy. */
  readonly log: ReadonlyArray<Chunk>
  /** How many client connections were accepted (numbered from 0 in that order). */
  readonly connections: () => number
  readonly hold: (conn: number, way: Way) => Effect.Effect<void>
  readonly release: (conn: number, way: Way) => Effect.Effect<void>
  /**
   * Holds `way` of `conn` as soon as what passes on `on` since this call includes `text`: in the same step that
   * passes it, so an answer to it is held too.
   */
  readonly holdOn: (conn: number, way: Way, on: { readonly conn: number; readonly way: Way; readonly text: string }) => Effect.Effect<void>
  /** Resolves once `check(log)` holds, re-checked as each chunk arrives. */
  readonly when: (check: (log: ReadonlyArray<Chunk>) => boolean) => Effect.Effect<void>
}

/** A proxy on a free loopback port in front of `host:port`. */
export const proxy = (host: string, port: number): Effect.Effect<Proxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const log: Array<Chunk> = []
    const pipes = new Map<string, Pipe>()
    const sockets = new Set<net.Socket>()
    const waiters = new Set<{ readonly check: (log: ReadonlyArray<Chunk>) => boolean; readonly done: Deferred.Deferred<void> }>()
    const triggers = new Set<{ readonly on: { readonly conn: number; readonly way: Way; readonly text: string }; seen: string; readonly hold: () => void }>()
    let accepted = 0
    const wake = () => {
      for (const w of waiters) {
        if (w.check(log)) {
          waiters.delete(w)
          Deferred.unsafeDone(w.done, Effect.void)
        }
      }
    }
    const server = net.createServer((client) => {
      const conn = accepted++
      const upstream = net.connect({ host, port })
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.setNoDelay(true)
        s.on("error", () => {})
      }
      const pipe = (from: net.Socket, to: net.Socket, way: Way) => {
        const p: Pipe = { held: false, queue: [], to }
        pipes.set(`${conn}:${way}`, p)
        from.on("data", (data: Buffer) => {
          const text = data.toString("latin1")
          log.push({ conn, way, text })
          for (const t of triggers) {
            if (t.on.conn !== conn || t.on.way !== way) continue
            t.seen += text
            if (!t.seen.includes(t.on.text)) continue
            triggers.delete(t)
            t.hold()
          }
          if (p.held) p.queue.push(data)
          else to.write(data)
          wake()
        })
        from.on("close", () => to.destroy())
      }
      pipe(client, upstream, "up")
      pipe(upstream, client, "down")
    })
    const listening = yield* Effect.async<number>((resume) => {
      server.listen(0, host, () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        server.close(() => resume(Effect.void))
      })
    )
    const pipeOf = (conn: number, way: Way) => {
      const p = pipes.get(`${conn}:${way}`)
      if (p === undefined) throw new Error(`no connection ${conn}`)
      return p
    }
    return {
      port: listening,
      log,
      connections: () => accepted,
      hold: (conn, way) => Effect.sync(() => void (pipeOf(conn, way).held = true)),
      release: (conn, way) =>
        Effect.sync(() => {
          const p = pipeOf(conn, way)
          p.held = false
          for (const data of p.queue.splice(0)) p.to.write(data)
        }),
      holdOn: (conn, way, on) =>
        Effect.sync(() => {
          const p = pipeOf(conn, way)
          triggers.add({ on, seen: "", hold: () => void (p.held = true) })
        }),
      when: (check) =>
        Effect.suspend(() => {
          if (check(log)) return Effect.void
          return Effect.flatMap(Deferred.make<void>(), (done) => {
            const waiter = { check, done }
            waiters.add(waiter)
            return Effect.ensuring(Deferred.await(done), Effect.sync(() => waiters.delete(waiter)))
          })
        })
    }
  })
