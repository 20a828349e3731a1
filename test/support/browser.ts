/**
 * Headless Chromium for the inspector's browser tests (Debian's `chromium`, driven by playwright-core), and the
 * `arawn-store ui` server they load, run as the built command line.
 */
import { spawn } from "node:child_process"
import type { ChildProcessWithoutNullStreams } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { chromium } from "playwright-core"
import type { BrowserContext } from "playwright-core"
import { BIN } from "./cli.js"

/** Where Chromium is: `ARAWN_CHROMIUM`, else Debian's package. */
export const CHROMIUM = process.env["ARAWN_CHROMIUM"] ?? "/usr/bin/chromium"

/** Why the browser tests cannot run here, or undefined. Only where services are not required (CI requires them). */
export const skipBrowser = (): string | undefined =>
  existsSync(CHROMIUM) || process.env["ARAWN_REQUIRE_SERVICES"]
    ? undefined
    : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set ARAWN_CHROMIUM): the inspector's browser tests are skipped`

/** Screenshots are kept here as artefacts of the run (an ignored directory), not removed. */
export const SHOTS = fileURLToPath(new URL("../../tmp/ui-screenshots/", import.meta.url))

/** A fresh headless Chromium with its own profile directory, removed by `close`. */
export const launch = async (): Promise<{ readonly context: BrowserContext; readonly close: () => Promise<void> }> => {
  const profile = mkdtempSync(join(tmpdir(), "arawn-chromium-"))
  mkdirSync(SHOTS, { recursive: true })
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"]
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}

/** A running `arawn-store ui` and its address (with the token). */
export interface UiServer {
  readonly url: string
  readonly origin: string
  readonly token: string
  readonly stop: () => Promise<void>
}

/** Starts `arawn-store --dir <dir> <global> ui <args>` and waits for the address it prints. */
export const startUi = (dir: string, args: ReadonlyArray<string> = [], global: ReadonlyArray<string> = []): Promise<UiServer> =>
  new Promise((resolve, reject) => {
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [BIN, "--dir", dir, ...global, "ui", ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const stop = async () => {
      if (child.exitCode === null) child.kill("SIGTERM")
      await exited
    }
    child.stderr.on("data", (b: Buffer) => (err += b.toString("utf8")))
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString("utf8")
      const found = /arawn-store ui: (http:\/\/\S+)/.exec(out)
      if (found === null) return
      const url = new URL(found[1]!)
      resolve({ url: url.href, origin: url.origin, token: url.searchParams.get("token") ?? "", stop })
    })
    child.once("exit", (code) => reject(new Error(`arawn-store ui exited (${code}) before printing its address: ${err}`)))
  })
