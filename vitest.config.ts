import { defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

// Tests import `arawn-store` by name and must get the TypeScript sources, not a dist that may be stale: the
// package-specific `arawn-store:source` export condition points at src/ (consumers never enable it).
// Without vite's `module`: vitest passes these conditions to Node too (`--conditions`), and under `module` Node loads
// @opentelemetry/api's ESM build, whose extensionless imports it cannot resolve (no other dependency names it).
const conditions = ["arawn-store:source", ...defaultServerConditions.filter((c) => c !== "module")]

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    // Builds dist/ (incrementally) once before any test file: the CLI and package tests run the compiled output.
    // Then gives the run a temporary directory of its own, removed when it ends.
    globalSetup: ["test/support/build.ts", "test/support/runTmpdir.ts"],
    // Lets each worker's event loop run between Effect scheduler rounds (see the file).
    setupFiles: ["test/support/scheduler.ts"],
    // vitest's default on 2 cores is one worker, i.e. one file at a time; the CLI, package and crash tests spend
    // most of their time waiting for child processes, so two files at a time finish the suite much sooner.
    maxWorkers: 2,
    // The conformance suites share one Layer per backend and use fresh ids per test, so running the tests of a
    // file concurrently is part of what they prove.
    sequence: { concurrent: true },
    // Sized for this 2-core machine at a load of 10 (`node scripts/busy.mjs -- npm test`), where a test's share of
    // a core is a fifth and PGlite serves one statement at a time to every suite of a file: a bound that catches a
    // hang, not a budget for speed (speed is measured by `npm run bench`).
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
