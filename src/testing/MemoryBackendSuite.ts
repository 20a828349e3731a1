/**
 * The MemoryBackend conformance suite: every contract line of `MemoryBackend`, run against one Layer.
 *
 * @since 0.1.0
 */
import { layer } from "@effect/vitest"
import { Duration, Effect } from "effect"
import type { Layer } from "effect"
import { SessionId } from "../Ids.js"
import type { NewMemory } from "../Memory.js"
import { MemoryBackend } from "../MemoryBackend.js"
import type { Options } from "../MemoryBackend.js"
import { factAndListTests } from "./memoryFactTests.js"
import { expiryTests, historyTests, namespaceTests, optionTests, whereTests } from "./memoryFeatureTests.js"
import { freshPathTests, pathTests } from "./memoryPathTests.js"
import { purgeTests } from "./memoryPurgeTests.js"
import { searchTests } from "./memorySearchTests.js"
import { retryTests } from "./memoryRetryTests.js"
import { storeTests } from "./memoryStoreTests.js"
import { timeTests } from "./memoryTimeTests.js"
import { isolated } from "./internal.js"


/** What a backend lets the suite exercise beyond one shared store. @category suites */
export interface SuiteOptions<E> {
  /** A fresh store built with layer options (default time to live, sliding expiry): runs the option cases. */
  readonly withOptions?: (options: Options) => Layer.Layer<MemoryBackend, E>
}

/**
 * Registers the suite for `storeLayer` under `name`. Tests run concurrently on one shared store, each with fresh
 * ids, its own session scope and its own TestClock.
 *
 * @category suites
 */
export const suite = <E, E2 = never>(
  name: string,
  storeLayer: Layer.Layer<MemoryBackend, E>,
  features: SuiteOptions<E2> = {}
): void =>
  layer(storeLayer, { timeout: Duration.minutes(2) })(name, (it) => {
    const test = (title: string, body: () => Effect.Effect<void, unknown, MemoryBackend>, timeout?: number) =>
      it.effect(title, () => isolated(Effect.suspend(body)), timeout)

    namespaceTests(test)
    // On a store of their own where the backend offers one: their writes would shift the shared store's text
    // statistics under the cases that compare two searches.
    if (features.withOptions === undefined) pathTests(test)
    expiryTests(test)
    historyTests(test)
    whereTests(test)
    if (features.withOptions !== undefined) {
      const withOptions = features.withOptions
      optionTests((title, options, body) => it.effect(title, () => isolated(Effect.provide(Effect.suspend(body), withOptions(options)))))
      const fresh = (title: string, body: () => Effect.Effect<void, unknown, MemoryBackend>) =>
        it.effect(title, () => isolated(Effect.provide(Effect.suspend(body), withOptions({}))))
      pathTests(fresh)
      freshPathTests(fresh)
      // Purges write and delete dozens of memories at once, moving the text statistics the same way.
      purgeTests(fresh)
    } else purgeTests(test)

    const seed = (sessionId: SessionId, inputs: ReadonlyArray<Omit<NewMemory, "sessionId">>) =>
      Effect.flatMap(MemoryBackend, (m) => m.storeMany(inputs.map((i) => ({ ...i, sessionId }))))

    storeTests(test, seed)
    retryTests(test)
    searchTests(test, seed)
    factAndListTests(test, seed)
    timeTests(test)
  })
