import { randomBytes, randomUUID } from "node:crypto"
import { expect } from "@effect/vitest"
import { Effect, Either, FastCheck as fc, Runtime, TestContext } from "effect"
import type { TestServices } from "effect"

/** A word no other test uses, so text search and filters stay inside one test even on a shared store. */
export const token = (): string => `t${randomBytes(6).toString("hex")}`

/** A fresh UUID for ids the suite picks itself. */
export const uuid = (): string => randomUUID()

/** Runs `body` with its own TestClock, so time moved by one test never reaches another sharing the layer. */
export const isolated = <A, E, R>(body: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, TestServices.TestServices>> =>
  Effect.provide(body, TestContext.TestContext)

/** The failure's `_tag` when `self` fails, or "success". */
export const outcome = <A, E extends { readonly _tag: string }, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.either(self), (e) => Either.isLeft(e) ? e.left._tag : "success")

/**
 * Hands a value the types forbid to a method, to prove its runtime validation: callers reach these methods from
 * JSON, CLIs and other untyped edges, so the schemas must hold even where TypeScript would have stopped them.
 */
export const untyped = <A>(value: unknown): A => value as A

/**
 * Values no free-form metadata field may hold, however JSON-like they look: a cycle, nesting far past the depth
 * limit, and a text over the size limit. Walking either of the first two naively overflows the stack.
 */
export const hostileJson = (): ReadonlyArray<unknown> => {
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic["self"] = cyclic
  let deep: unknown = "bottom"
  for (let i = 0; i < 10_000; i++) deep = { d: deep }
  let deepArray: unknown = 0
  for (let i = 0; i < 100; i++) deepArray = [deepArray]
  return [cyclic, deep, deepArray, "x".repeat(1024 * 1024 + 1)]
}

/**
 * Runs `total` generated commands against the service in runs of `perRun` (fast-check shrinks a failing run), each
 * run through `runModel` on the current runtime; fails if fewer than `total` ran.
 */
export const modelRuns = <C, R>(
  total: number,
  perRun: number,
  command: fc.Arbitrary<C>,
  runModel: (commands: ReadonlyArray<C>) => Effect.Effect<unknown, unknown, R>
): Effect.Effect<void, never, R> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<R>()
    let ran = 0
    yield* Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: perRun, maxLength: perRun }), (commands) => {
          ran += commands.length
          return Runtime.runPromise(runtime)(runModel(commands)).then(() => undefined)
        }),
        { numRuns: Math.ceil(total / perRun) }
      )
    )
    expect(ran).toBeGreaterThanOrEqual(total)
  })
