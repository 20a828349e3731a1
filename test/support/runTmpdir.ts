/**
 * vitest globalSetup: the run gets its own temporary directory, handed to the test workers and every process they
 * start through TMPDIR (which `os.tmpdir()`, npm and most tools read), and removed when the run ends. Tests
 * remove what they create themselves; this catches what they cannot, such as the files of a test killed by its
 * timeout, or a temporary directory a command under test makes and keeps on purpose.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export default function setup(): () => void {
  const previous = process.env.TMPDIR
  const root = mkdtempSync(join(tmpdir(), "arawn-test-"))
  process.env.TMPDIR = root
  return () => {
    if (previous === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previous
    rmSync(root, { recursive: true, force: true })
  }
}
