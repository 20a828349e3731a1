/**
 * vitest globalSetup: the run gets its own temporary directory, handed to the test workers and every process they
 * start through TMPDIR (which `os.tmpdir()`, npm and most tools read), and removed when the run ends. Tests
 * remove what they create themselves; this catches what they cannot, such as the files of a test killed by its
 * timeout, or a temporary directory a command under test makes and keeps on purpose.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export default function setup(): () => void {
  const previous = process.env.TMPDIR
  const root = mkdtempSync(join(tmpdir(), "arawn-test-"))
  // Traversable by others (what is inside stays private: each test's own directories are 0700), since a test may
  // run a command as another user (cli.failures runs one as nobody on a store it made).
  chmodSync(root, 0o755)
  process.env.TMPDIR = root
  return () => {
    if (previous === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = previous
    rmSync(root, { recursive: true, force: true })
  }
}
