#!/usr/bin/env node
// The package ships TypeScript sources: register tsx's loader, then run the command line.
import { register } from "tsx/esm/api"

register()
await import("../src/cli/main.ts")
