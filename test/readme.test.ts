import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8")

describe("README", () => {
  it("shows every marked example exactly as it is compiled (and, for tests, run)", () => {
    const readme = read("README.md")
    const blocks = Array.from(readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/g))
    expect(blocks.map((b) => b[1])).toEqual(["test/readme.example.test.ts", "examples/layers.ts", "examples/scale-out.ts", "examples/otel.ts", "examples/custom-session-store.ts", "test/readme.driver.test.ts", "test/MemoryBackend.memory.test.ts", "examples/custom-memory-backend.ts"])
    for (const [, path, code] of blocks) expect(code).toBe(read(path!))
  })

  it("names the two commands", () => {
    const readme = read("README.md")
    expect(readme).toContain("npm ci && npm start")
    expect(readme).toContain("npm test")
  })
})
