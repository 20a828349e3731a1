/**
 * Tiered session stores in separate processes on one Redis: an acknowledged put in one process is what the other
 * reads next (no stale read in 1,000 rounds), compare-and-set races between processes have exactly one winner,
 * and with a private Redis restarted mid-run calls fail typed, recover, and never read stale.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { randomBytes, randomUUID } from "node:crypto"
import * as readline from "node:readline"
import { Redis as IORedis } from "ioredis"
import { bundled } from "./support/bundle.js"
import { host, port, skipRedis, sparePort, startServer, stopServer } from "./support/redis.js"

const child = bundled("session-child.ts")

/** One child, asked one line at a time. */
class Child {
  private readonly lines: Array<string> = []
  private waiting: ((line: string) => void) | undefined
  stderr = ""
  constructor(readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on("line", (line) => {
      const w = this.waiting
      this.waiting = undefined
      if (w !== undefined) w(line)
      else this.lines.push(line)
    })
    proc.stderr!.on("data", (chunk: Buffer) => void (this.stderr += chunk.toString("utf8")))
  }
  next(): Promise<string> {
    const line = this.lines.shift()
    if (line !== undefined) return Promise.resolve(line)
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`no answer from the child; stderr: ${this.stderr}`)), 15_000)
      this.waiting = (l) => {
        clearTimeout(guard)
        resolve(l)
      }
    })
  }
  ask(command: string): Promise<string> {
    this.proc.stdin!.write(`${command}\n`)
    return this.next()
  }
  async exit(): Promise<void> {
    if (this.proc.exitCode !== null) return
    const exited = new Promise<void>((resolve) => this.proc.once("exit", () => resolve()))
    this.proc.stdin!.write("exit\n")
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5_000)
    await exited
    clearTimeout(timer)
  }
}

const start = async (p: number, prefix: string, id: string): Promise<Child> => {
  const command = await child()
  const c = new Child(spawn(process.execPath, [...command, String(p), prefix, id], { stdio: ["pipe", "pipe", "pipe"] }))
  expect(await c.next()).toBe("ready")
  return c
}

describe.skipIf(await skipRedis())("SessionStore/Tiered across processes", () => {
  const children: Array<Child> = []
  let raw: IORedis
  const prefixes: Array<string> = []
  const two = async (p: number) => {
    const prefix = `arawn-test:${randomBytes(6).toString("hex")}:`
    prefixes.push(prefix)
    const id = randomUUID()
    const [a, b] = await Promise.all([start(p, prefix, id), start(p, prefix, id)])
    children.push(a, b)
    return { a, b, prefix, id }
  }
  beforeAll(async () => {
    raw = new IORedis({ host, port })
  })
  afterAll(async () => {
    await Promise.all(children.map((c) => c.exit()))
    for (const prefix of prefixes) {
      const keys = await raw.keys(`${prefix}*`)
      if (keys.length > 0) await raw.del(...keys)
    }
    await raw.quit()
  })

  it("process A puts and acknowledges; process B's next get returns that version: 1,000 rounds, 0 stale", async () => {
    const { a, b } = await two(port)
    let stale = 0
    const t0 = performance.now()
    for (let round = 1; round <= 1_000; round++) {
      expect(await a.ask(`put ${round}`)).toBe(`put ${round} ok`)
      // B holds the previous version in L1 (its last get filled it): the put must have reached it.
      if (await b.ask("get") !== `get ${round} ${round}`) stale++
    }
    console.log(`cross-process: 1000 rounds in ${Math.round(performance.now() - t0)} ms, ${stale} stale`)
    expect(stale).toBe(0)
  }, 120_000)

  it("a compare-and-set race between two processes that read the same version has exactly one winner per round", async () => {
    const { a, b } = await two(port)
    expect(await a.ask("put 0")).toBe("put 0 ok")
    const winners: Array<number> = []
    for (let round = 1; round <= 200; round++) {
      const reads = await Promise.all([a.ask("read"), b.ask("read")])
      expect(reads[0]).toBe(`read ${round}`)
      expect(reads[1]).toBe(reads[0])
      const results = await Promise.all([a.ask(`cas a${round}`), b.ask(`cas b${round}`)])
      winners.push(results.filter((r) => r === "cas won").length)
      expect(results.every((r) => r === "cas won" || r === "cas lost")).toBe(true)
    }
    expect(winners.every((n) => n === 1)).toBe(true)
  }, 120_000)

  it("a private Redis restarted mid-run: calls fail typed while it is down, recover, and no read is ever stale", async () => {
    const p = await sparePort()
    let server = await startServer(p)
    try {
      const { a, b } = await two(p)
      const failures = new Map<string, number>()
      const fail = (line: string) => failures.set(line, (failures.get(line) ?? 0) + 1)
      let stale = 0
      let checked = 0
      /** One round: a puts `round`, then b reads it back; whether both went through. */
      const round = async (n: number) => {
        const put = await a.ask(`put ${n}`)
        if (put !== `put ${n} ok`) {
          fail(put.replace(/^put \d+ /, "put "))
          return false
        }
        const got = await b.ask("get")
        if (got.startsWith("get err ")) fail(got)
        else if (!got.startsWith(`get ${n} `)) stale++
        else checked++
        return got.startsWith(`get ${n} `)
      }
      let n = 0
      for (; n < 100; n++) expect(await round(n + 1)).toBe(true)
      await stopServer(server)
      for (; n < 130; n++) expect(await round(n + 1)).toBe(false)
      server = await startServer(p)
      // Back once both reconnected, however long a loaded machine takes (the pause only spaces the attempts).
      const deadline = performance.now() + 60_000
      while (!(await round(++n))) {
        expect(performance.now()).toBeLessThan(deadline)
        await new Promise((r) => setTimeout(r, 20))
      }
      const recovered = n
      for (; n < recovered + 100; n++) expect(await round(n + 1)).toBe(true)
      console.log(`restart: ${checked} reads checked, ${stale} stale, back after ${recovered - 130} rounds, failures ${JSON.stringify([...failures])}`)
      expect(stale).toBe(0)
      // Every failure was typed, and there were some: the server was down for 30 rounds.
      expect([...failures.keys()].every((k) => k === "put err StorageError" || k === "get err StorageError")).toBe(true)
      expect(failures.get("put err StorageError") ?? 0).toBeGreaterThanOrEqual(30)
      expect(checked).toBeGreaterThanOrEqual(201)
    } finally {
      await stopServer(server)
    }
  }, 120_000)
})
