/**
 * Temporary directories for tests, each removed when its test file ends. The run's own temporary root
 * (runTmpdir.ts) also goes when the run ends, taking whatever a test killed by its timeout, or a child process,
 * left behind.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll } from "vitest"

const made: Array<string> = []
// Registered when a test file first imports this module, i.e. for that file.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Marks `dir` (a directory or file) for removal when the test file ends; returns it. */
export const removedAfterAll = (dir: string): string => {
  made.push(dir)
  return dir
}

/** A new empty directory under the temporary directory, removed when the test file ends. */
export const tempDir = (prefix: string): string => removedAfterAll(mkdtempSync(join(tmpdir(), prefix)))
