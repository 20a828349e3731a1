/**
 * The shapes of the inspector API's answers, as the page reads them (types only: nothing here reaches the bundle).
 *
 * @since 0.2.0
 */
import type { Explain, Memory } from "../../Memory.js"
import type { MemoryEvent } from "../../MemoryEvent.js"
import type { Message, Workstream } from "../../Workstream.js"

export type { Explain }

/** A memory as JSON, with its confidence now. */
export type MemoryJson = (typeof Memory)["Encoded"] & { readonly confidenceNow: number }

export type EventJson = (typeof MemoryEvent)["Encoded"]
export type ThreadJson = (typeof Workstream)["Encoded"]
export type MessageJson = (typeof Message)["Encoded"]

export interface Info {
  readonly readOnly: boolean
  readonly namespace: string | null
  readonly location: string
}

export interface MemoryPage {
  readonly items: ReadonlyArray<MemoryJson>
  readonly nextCursor: string | null
  readonly total: number | null
}

export interface Hit {
  readonly memory: MemoryJson
  readonly score: number
  readonly explain: Explain
}

export interface Detail {
  readonly memory: MemoryJson
  readonly history: ReadonlyArray<EventJson>
}

export interface ThreadPage {
  readonly items: ReadonlyArray<ThreadJson>
  readonly nextCursor: string | null
}

export interface MessageHitJson {
  readonly workstreamId: string
  readonly seq: number
  readonly score: number
  readonly snippet: string
  readonly role: string
  readonly timestamp: string
}

export interface TreeNode {
  readonly id: string
  readonly title: string
  readonly state: string
  readonly messageCount: number
  readonly parent: string | null
  readonly atSeq: number | null
}

export interface Tree {
  readonly root: string
  readonly current: string
  readonly cut: boolean
  readonly nodes: ReadonlyArray<TreeNode>
}

export interface StoreOverview {
  readonly location: string
  readonly memories: number
  readonly live: number
  readonly vectors: number
  readonly embedder: { readonly model: string; readonly dimensions: number }
  readonly stale: boolean
  readonly threads: number
  readonly messages: number
  readonly files: ReadonlyArray<{ readonly name: string; readonly bytes: number }>
  readonly timeline: ReadonlyArray<{ readonly from: string; readonly memories: number; readonly messages: number }>
  readonly timelineThreads: number
}
