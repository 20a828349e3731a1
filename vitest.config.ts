import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The conformance suites share one Layer per backend and use fresh ids per test, so running the tests of a
    // file concurrently is part of what they prove.
    sequence: { concurrent: true },
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
