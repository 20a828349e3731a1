/**
 * `arawn-store ui` in a real browser: headless Chromium loads the page served by the built command line against a
 * store seeded once (10,000 memories, 2,000 of them in one namespace, a 100,000-message thread, a thread with
 * forks) and does what a person would. Screenshots of the views go to tmp/ui-screenshots/ (ignored by git).
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { launch, SHOTS, skipBrowser, startUi } from "./support/browser.js"
import type { UiServer } from "./support/browser.js"
import { tempDir } from "./support/tempDir.js"
import type { Seeded } from "./support/uiSeed.js"
import { seed } from "./support/uiSeed.js"

const SLOW = 240_000
const why = skipBrowser()
if (why !== undefined) console.warn(why)

describe.skipIf(why !== undefined).sequential("arawn-store ui in headless Chromium", () => {
  let server: UiServer
  let browser: Awaited<ReturnType<typeof launch>>
  let context: BrowserContext
  let page: Page
  let seeded: Seeded
  let dir: string
  const timings: Record<string, number> = {}
  const pageErrors: Array<string> = []

  beforeAll(async () => {
    dir = tempDir("arawn-ui-")
    seeded = await Effect.runPromise(seed(dir, { paged: 1999, others: 8000, bigThread: 100_000 }))
    ;[server, browser] = await Promise.all([startUi(dir), launch()])
    context = browser.context
    page = await context.newPage()
    page.on("pageerror", (e) => pageErrors.push(e.message))
  }, SLOW)

  afterAll(async () => {
    writeFileSync(join(SHOTS, "timings.json"), `${JSON.stringify(timings, null, 2)}\n`)
    await Promise.all([browser?.close(), server?.stop()])
  }, SLOW)

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${server.origin}${path}`, { ...init, headers: { "x-arawn-token": server.token, ...init.headers } })

  const total = async (namespace: string) => {
    const r = await api(`/api/memories?namespace=${namespace}&limit=1`)
    const body: { readonly total: number } = await r.json()
    return body.total
  }

  it("the page loads the newest memories of a 10,000-memory store", async () => {
    const started = performance.now()
    await page.goto(server.url)
    await page.waitForSelector("[data-testid=memory-row]")
    timings["pageLoad10kMs"] = Math.round(performance.now() - started)
    console.log(`page load, 10k-memory store: ${timings["pageLoad10kMs"]} ms`)
    expect(await page.textContent("[data-testid=page-info]")).toBe("1–50 of 10000")
    const again = performance.now()
    await page.reload()
    await page.waitForSelector("[data-testid=memory-row]")
    timings["pageReload10kMs"] = Math.round(performance.now() - again)
    console.log(`page reload, 10k-memory store: ${timings["pageReload10kMs"]} ms`)
    expect(await page.locator("[data-testid=memory-row]").count()).toBe(50)
    await page.screenshot({ path: join(SHOTS, "memories.png") })
  }, SLOW)

  it("the list pages through 2,000 memories, each once", async () => {
    await page.fill("label:has-text('namespace') input", "paged")
    await page.selectOption("[data-testid=page-size]", "200")
    await page.waitForSelector("[data-testid=page-info]:has-text('of 2000')")
    const seen = new Set<string>()
    for (let n = 1; ; n++) {
      await page.waitForSelector(`[data-testid=page-info]:has-text('${(n - 1) * 200 + 1}–')`)
      for (const id of await page.locator("[data-testid=memory-row]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")))) {
        expect(seen.has(id!)).toBe(false)
        seen.add(id!)
      }
      if (await page.locator("[data-testid=older]").isDisabled()) break
      await page.click("[data-testid=older]")
    }
    expect(seen.size).toBe(2000)
    await page.click("[data-testid=newer]")
    await page.waitForSelector("[data-testid=page-info]:has-text('1601–1800')")
  }, SLOW)

  it("a search shows why each hit ranked, as bars with the numbers on hover", async () => {
    await page.fill("[data-testid=search-input]", "billing ledger nightly")
    await page.click("[data-testid=search]")
    await page.waitForSelector("[data-testid=explain]")
    const hits = page.locator("[data-testid=memory-row]")
    expect(await hits.count()).toBe(50)
    const first = hits.first()
    const widths = await first.locator(".fill").evaluateAll((fills) => fills.map((f) => (f instanceof HTMLElement ? f.style.width : "")))
    const r = await api(`/api/memories/search?namespace=paged&mode=hybrid&limit=50&q=${encodeURIComponent("billing ledger nightly")}`)
    const top: { readonly hits: ReadonlyArray<{ readonly explain: Record<string, number | undefined> }> } = await r.json()
    const e = top.hits[0]!.explain
    const pct = (x: number | undefined) => `${Math.round((x ?? 0) * 100)}%`
    expect(widths).toEqual([pct(e["vectorRelevance"]), pct(e["textRelevance"]), pct(e["confidence"])])
    expect(widths.some((w) => Number.parseFloat(w) > 0)).toBe(true)
    expect(await first.locator("[data-testid=bar-vec]").getAttribute("title")).toMatch(/^vector: rank (\d+|–), distance (\d|–).*relevance/)
    expect(await first.locator("[data-testid=bar-text]").getAttribute("title")).toMatch(/^text: rank (\d+|–), BM25 (\d|–).*relevance/)
    expect(await first.locator("[data-testid=bar-conf]").getAttribute("title")).toMatch(/^confidence \d/)
    await page.screenshot({ path: join(SHOTS, "search.png") })
  }, SLOW)

  it("a memory's history opens as a timeline", async () => {
    await page.fill("[data-testid=search-input]", "billing region")
    await page.selectOption("[data-testid=search-mode]", "text")
    await page.click("[data-testid=search]")
    await page.click("[data-testid=memory-row]:has-text('The billing region is eu-west-1')")
    await page.waitForSelector("[data-testid=history] li.reinforced")
    const events = await page.locator("[data-testid=history] li").allTextContents()
    expect(events.map((e) => e.replace(/^[\d-]+ [\d:]+/, ""))).toEqual(["inserted", "reinforced (1×)"])
    await page.screenshot({ path: join(SHOTS, "history.png") })
  }, SLOW)

  it("delete asks first, and then removes exactly one memory", async () => {
    expect(await total("paged")).toBe(2000)
    await page.fill("[data-testid=search-input]", "")
    await page.click("[data-testid=apply]")
    const row = page.locator("[data-testid=memory-row]").nth(3)
    const id = await row.getAttribute("data-id")
    await row.click()
    await page.waitForSelector("[data-testid=delete]")
    await page.click("[data-testid=delete]")
    await page.waitForSelector("[data-testid=confirm]")
    await page.screenshot({ path: join(SHOTS, "delete-confirm.png") })
    await page.click("[data-testid=confirm-cancel]")
    expect(await total("paged")).toBe(2000)
    await page.click("[data-testid=delete]")
    await page.click("[data-testid=confirm-ok]")
    await page.waitForSelector("[data-testid=detail-gone]")
    expect(await total("paged")).toBe(1999)
    expect(await total("other")).toBe(8000)
    expect((await api(`/api/memory?id=${id}`)).status).toBe(404)
    await page.waitForSelector("[data-testid=page-info]:has-text('of 1999')")
    expect(await page.locator(`[data-testid=memory-row][data-id="${id}"]`).count()).toBe(0)
  }, SLOW)

  it("the where editor says what is wrong as it is typed; edit and expire ask first and show in the history", async () => {
    await page.fill("[data-testid=where]", '{"extra.n": {"$near": 5}}')
    await page.waitForSelector("[data-testid=where].invalid")
    expect(await page.textContent("[data-testid=where-error]")).toContain("$near")
    await page.fill("[data-testid=where]", '{"extra.n": {"$lt": 5}}')
    await page.waitForSelector("[data-testid=where]:not(.invalid)")
    expect(await page.textContent("[data-testid=where-error]")).toBe("")
    await page.click("[data-testid=apply]")
    await page.waitForSelector("[data-testid=page-info]:has-text('1–5 of 5')")
    await page.click("[data-testid=memory-row] >> nth=0")
    await page.click("[data-testid=edit]")
    await page.fill("[data-testid=edit-content]", "Edited in the inspector")
    await page.click("text=Save")
    await page.click("[data-testid=confirm-ok]")
    await page.waitForSelector("[data-testid=history] li.updated:has-text('content')")
    expect(await page.textContent("[data-testid=detail-content]")).toBe("Edited in the inspector")
    await page.click("[data-testid=expire]")
    await page.click("[data-testid=confirm-ok]")
    await page.waitForSelector("[data-testid=detail-gone]")
    await page.waitForSelector("[data-testid=page-info]:has-text('of 4')")
    expect(await total("paged")).toBe(1998)
  }, SLOW)

  it("a 100,000-message thread opens at its newest message in under a second, and scrolls", async () => {
    await page.click("[data-testid=tab-threads]")
    await page.click(`[data-testid=thread-item][data-id="${seeded.bigThread}"]`)
    await page.waitForSelector("[data-testid=message][data-seq='100000']")
    await page.waitForFunction(() => document.body.dataset["threadOpenMs"] !== undefined)
    timings["open100kThreadMs"] = Number(await page.evaluate(() => document.body.dataset["threadOpenMs"]))
    console.log(`100k-message thread open: ${timings["open100kThreadMs"]} ms`)
    expect(timings["open100kThreadMs"]).toBeLessThan(1000)
    // Virtual: only the rows in view exist, wherever the thread is scrolled to.
    expect(await page.locator("[data-testid=message]").count()).toBeLessThan(60)
    await page.locator("[data-testid=messages]").evaluate((el) => (el.scrollTop = el.scrollHeight / 2))
    await page.waitForSelector("[data-testid=message][data-seq='50000']")
    expect(await page.locator("[data-testid=message]").count()).toBeLessThan(60)
    await page.click("[data-testid=message][data-seq='50000']")
    expect(await page.textContent("[data-testid=message-content]")).toMatch(/^message 50000: /)
    await page.screenshot({ path: join(SHOTS, "thread.png") })
  }, SLOW)

  it("a thread's branch tree is a picture to click through", async () => {
    await page.click(`[data-testid=thread-item][data-id="${seeded.fork}"]`)
    await page.waitForSelector("[data-testid=tree]")
    expect(await page.locator("[data-testid=tree-node]").count()).toBe(3)
    expect(await page.locator("[data-testid=tree-node].current").getAttribute("data-id")).toBe(seeded.fork)
    await page.screenshot({ path: join(SHOTS, "tree.png") })
    await page.click(`[data-testid=tree-node][data-id="${seeded.forkOfFork}"]`)
    await page.waitForSelector(`[data-testid=tree-node].current[data-id="${seeded.forkOfFork}"]`)
    expect(await page.textContent("[data-testid=thread-title]")).toBe("Plan B, rolled back")
    await page.waitForSelector("[data-testid=message][data-seq='8']")
    expect(await page.locator("[data-testid=message]").count()).toBe(8)
  }, SLOW)

  it("search across threads shows snippets and opens the message", async () => {
    await page.fill("[data-testid=thread-search]", "ledger")
    await page.press("[data-testid=thread-search]", "Enter")
    await page.waitForSelector("[data-testid=thread-hit]")
    const hit = page.locator("[data-testid=thread-hit]").first()
    expect(await hit.textContent()).toContain("ledger")
    const [, thread, seq] = /^(\S+) #(\d+)/.exec((await hit.locator(".meta").textContent()) ?? "")!
    await hit.click()
    await page.waitForSelector(`[data-testid=message][data-seq="${seq}"]`)
    expect(await page.getAttribute("[data-testid=thread-item].selected", "data-id")).toBe(thread)
  }, SLOW)

  it("the store view shows counts and a chart", async () => {
    await page.click("[data-testid=tab-store]")
    await page.waitForSelector("[data-testid=chart]")
    expect(await page.textContent("[data-testid=store-memories]")).toContain("9998")
    expect(await page.textContent("[data-testid=store-messages]")).toContain(String(100_000 + 12 + 9 + 8))
    await page.screenshot({ path: join(SHOTS, "store.png") })
  }, SLOW)

  it("a wrong token, another Host or another Origin gets 403", async () => {
    const wrong = new URL(server.url)
    wrong.searchParams.set("token", "x".repeat(server.token.length))
    expect((await page.goto(wrong.href))?.status()).toBe(403)
    expect((await fetch(`${server.origin}/`)).status).toBe(403)
    expect((await fetch(`${server.origin}/api/info`)).status).toBe(403)
    expect((await api("/api/info")).status).toBe(200)
    expect((await api("/api/info", { headers: { origin: "http://evil.example" } })).status).toBe(403)
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch() sets Host itself: a raw request names the rebinding attacker's host.
      import("node:http").then((http) => {
        const u = new URL(server.origin)
        http.get({ host: u.hostname, port: u.port, path: "/api/info", headers: { host: `evil.example:${u.port}`, "x-arawn-token": server.token } },
          (res) => resolve(res.statusCode ?? 0)).on("error", reject)
      }, reject)
    })
    expect(rebound).toBe(403)
    expect((await api("/api/memory/delete", { method: "GET" })).status).toBe(405)
    // A write takes the token in its header only, and a JSON body (what a form on another site cannot send).
    const post = (path: string, headers: Record<string, string>) =>
      fetch(`${server.origin}${path}`, { method: "POST", headers, body: JSON.stringify({ id: "00000000-0000-4000-8000-000000000000" }) })
    expect((await post(`/api/memory/delete?token=${server.token}`, { "content-type": "application/json" })).status).toBe(403)
    expect((await post("/api/memory/delete", { "x-arawn-token": server.token, "content-type": "text/plain" })).status).toBe(415)
    expect((await post("/api/memory/delete", { "x-arawn-token": server.token, "content-type": "application/json" })).status).toBe(404)
  }, SLOW)

  it("--read-only shows no writes and refuses them; --namespace shows one namespace", async () => {
    const readOnly = await startUi(dir, ["--read-only"], ["--namespace", "other"])
    try {
      const p = await context.newPage()
      await p.goto(readOnly.url)
      await p.waitForSelector("[data-testid=read-only]")
      await p.waitForSelector("[data-testid=page-info]:has-text('1–50 of 8000')")
      expect(await p.textContent("header")).toContain("namespace other")
      await p.click("[data-testid=memory-row]")
      await p.waitForSelector("[data-testid=history]")
      expect(await p.locator("[data-testid=delete]").count()).toBe(0)
      const id = await p.locator("[data-testid=memory-row]").first().getAttribute("data-id")
      const r = await fetch(`${readOnly.origin}/api/memory/delete`, {
        method: "POST",
        headers: { "x-arawn-token": readOnly.token, "content-type": "application/json" },
        body: JSON.stringify({ id })
      })
      expect(r.status).toBe(403)
      expect((await fetch(`${readOnly.origin}/api/memory?id=${id}`, { headers: { "x-arawn-token": readOnly.token } })).status).toBe(200)
      await p.close()
    } finally {
      await readOnly.stop()
    }
  }, SLOW)

  it("the page raised no script errors", () => {
    expect(pageErrors).toEqual([])
  })
})
