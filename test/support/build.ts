/**
 * vitest globalSetup: runs `npm run build` once before the test files, so the CLI and package tests never run a
 * stale dist/ (tsc -b and the bundler only redo what changed: about two seconds when nothing did).
 */
import { execFileSync } from "node:child_process"

export default function setup(): void {
  execFileSync("npm", ["run", "--silent", "build"], { stdio: ["ignore", "ignore", "inherit"] })
}
