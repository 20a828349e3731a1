import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8")

describe("README", () => {
  it("shows the example test exactly as it is compiled and run", () => {
    const readme = read("README.md")
    const block = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```/.exec(readme)
    expect(block).not.toBeNull()
    expect(block![2]).toBe(read(block![1]!))
  })

  it("names the two commands", () => {
    const readme = read("README.md")
    expect(readme).toContain("npm ci && npm start")
    expect(readme).toContain("npm test")
  })
})
