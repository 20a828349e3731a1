import { expect, it } from "vitest"
import { Session, SessionStore } from "arawn-store"
import { SessionStoreModel, SessionStoreSuite } from "arawn-store/testing"

SessionStoreSuite.suite("SessionStore.layerMemory", SessionStore.layerMemoryWith, { capacity: true, clock: "test" })

// ARAWN_MODEL_OPS=20000 for a bench-sized run.
SessionStoreModel.suite("SessionStore.layerMemory", SessionStore.layerMemoryWith, { capacity: true, clock: "test" }, {
  operations: Number(process.env.ARAWN_MODEL_OPS) || undefined
})

it("the kernel's copies know every field of Session, Turn, ToolCall and ToolResult (a new one needs a look at copySession)", () => {
  expect(Object.keys(Session.Session.fields)).toEqual([
    "id", "version", "workstreamId", "turns", "metadata", "contextPreamble", "createdAt", "updatedAt"
  ])
  expect(Object.keys(Session.Turn.fields)).toEqual([
    "id", "userMessage", "assistantResponse", "toolCalls", "toolResults", "startedAt", "completedAt"
  ])
  expect(Object.keys(Session.ToolCall.fields)).toEqual(["id", "name", "arguments"])
  expect(Object.keys(Session.ToolResult.fields)).toEqual(["toolCallId", "success", "content"])
})
