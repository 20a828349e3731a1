/** The reference model of `WorkstreamStoreModel`: what each workstream holds, and the checks against it. */
import { expect } from "@effect/vitest"
import { Effect, Either } from "effect"
import { SCRATCH_ID, WorkstreamId } from "../Ids.js"
import type { SessionId } from "../Ids.js"
import type { Message, Workstream } from "../Workstream.js"
import { token } from "./internal.js"

/** How many workstream ids a run plays with (scratch is one more). */
export const POOL = 4


export interface ModelMessage {
  /** The workstream that stores it (a branch shows its source's first messages as they are). */
  readonly owner: string
  readonly id: string
  readonly seq: number
  readonly content: string
  readonly sessionId: SessionId | undefined
  /** Its timestamp (epoch ms), for maxAge. */
  readonly at: number
}
/** A summary made on a workstream (`owner`), as the model keeps it. */
export interface ModelSummary {
  readonly id: string
  readonly owner: string
  readonly fromSeq: number
  readonly toSeq: number
  readonly createdAt: number
}
export interface ModelWs {
  title: string
  state: Workstream["state"]
  tags: ReadonlyArray<string>
  updatedAt: number
  /** Its path: what loadMessages returns. */
  messages: Array<ModelMessage>
  /** The workstream whose messages it shares (a branch), and up to which seq. */
  readonly parent?: string
  readonly forkAt?: number
  /** The summaries made on it (its own; it shows its ancestors' too, by position). */
  summaries: Array<ModelSummary>
  /** How far prune removed its own log (0: never pruned); its path may show less (see `pathPruned`). */
  prunedThrough: number
}

/** A retention policy as the model keeps it (maxAge in ms). */
export interface ModelPolicy {
  readonly maxAge?: number
  readonly maxMessages?: number
}

export const STATES = ["active", "paused", "archived"] as const

/** The state of one run: the model, the run's ids and tag, and a counter for unique contents. */
export class Run {
  readonly model = new Map<string, ModelWs>()
  readonly tag = token()
  readonly ids = Array.from({ length: POOL }, (_, i) => WorkstreamId.make(`${this.tag}_w${i}`))
  /** Retention policies by target key (`w:<id>` or `t:<tag>`); a workstream's goes when it is deleted. */
  readonly policies = new Map<string, ModelPolicy>()
  /** Every target the run set a policy on, cleared when the run ends (policies outlive a run on a shared store). */
  readonly targets = new Map<string, { readonly workstreamId: WorkstreamId } | { readonly tag: string }>()
  now = 0
  contents = 0
  ops = 0

  idOf(ws: number): WorkstreamId {
    return ws === POOL ? SCRATCH_ID : this.ids[ws]!
  }
  tagsOf(n: number): ReadonlyArray<string> {
    // The run's own tags, so a tag's policy never reaches another run's workstreams on the same store.
    return [this.tag, ...["x", "y", "z"].slice(0, n).map((t) => `${this.tag}.${t}`)].sort()
  }
}

export const expectWorkstream = (actual: Workstream, expected: ModelWs, id: string) => {
  const pruned = actual.prunedThrough ?? 0
  expect({ id: actual.id, title: actual.title, state: actual.state, tags: actual.tags, count: actual.messageCount, at: actual.updatedAt.epochMillis, pruned })
    .toEqual({ id, title: expected.title, state: expected.state, tags: expected.tags, count: expected.messages.length, at: expected.updatedAt, pruned: expected.prunedThrough })
}

/**
 * How many leading seqs of `id`'s path are gone: its own prune, or its source's below the fork point (recursively).
 * A workstream prunes its own log only once its inherited seqs are gone, so what is gone is always a prefix.
 */
export const pathPruned = (run: Run, id: string): number => {
  const ws = run.model.get(id)
  if (ws === undefined) return 0
  const inherited = ws.parent === undefined ? 0 : Math.min(pathPruned(run, ws.parent), ws.forkAt ?? 0)
  return Math.max(ws.prunedThrough, inherited)
}

/** What loadMessages returns for `id`: its path after what prune removed. */
export const visibleMessages = (run: Run, id: string): Array<ModelMessage> => {
  const gone = pathPruned(run, id)
  return (run.model.get(id)?.messages ?? []).filter((m) => m.seq > gone)
}

export const expectMessages = (actual: ReadonlyArray<Message>, expected: ReadonlyArray<ModelMessage>) =>
  expect(actual.map((m) => [m.seq, m.id, m.content, m.sessionId])).toEqual(expected.map((m) => [m.seq, m.id, m.content, m.sessionId]))

export type Outcome<A, T extends string> = { readonly tag: "success"; readonly value: A } | { readonly tag: T; readonly value?: never }

export const outcomeOf = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(self), (e): Outcome<A, E["_tag"]> => Either.isLeft(e) ? { tag: e.left._tag } : { tag: "success", value: e.right })
