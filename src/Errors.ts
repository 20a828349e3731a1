/**
 * The typed failures of every service. Caller mistakes are `InvalidInput` or `NotFound`; backend failures are
 * `StorageError`; nothing here is ever turned into a defect by the library.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The backend failed (I/O, SQL, Redis down). Never used for a caller's mistake.
 *
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  method: Schema.String,
  cause: Schema.Defect
}) {
  override get message(): string {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `${this.method} failed: ${cause}`
  }
}

/**
 * The input failed its schema or a rule (bad id, empty content, NaN vector, wrong dimension). Nothing was written.
 *
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  method: Schema.String,
  message: Schema.String
}) {}

/**
 * An operation that requires an existing record did not find it (update, append to an unknown workstream).
 *
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", {
  entity: Schema.String,
  id: Schema.String
}) {
  override get message(): string {
    return `${this.entity} ${JSON.stringify(this.id)} does not exist`
  }
}

/**
 * Identity of an embedding space: the model that made the vectors and their length.
 *
 * @category models
 */
export class EmbeddingSpace extends Schema.Class<EmbeddingSpace>("EmbeddingSpace")({
  model: Schema.String,
  dimensions: Schema.Int
}) {}

/**
 * The store's vectors were made by another embedder. Vector search and vector writes refuse until `reindex`;
 * text search keeps working.
 *
 * @category errors
 */
export class EmbeddingSpaceMismatch extends Schema.TaggedError<EmbeddingSpaceMismatch>()("EmbeddingSpaceMismatch", {
  stored: EmbeddingSpace,
  current: EmbeddingSpace
}) {
  override get message(): string {
    return `the store's vectors come from ${this.stored.model} (${this.stored.dimensions} dims) but the embedder is ` +
      `${this.current.model} (${this.current.dimensions} dims): run reindex`
  }
}

/**
 * The embedder failed.
 *
 * @category errors
 */
export class EmbeddingError extends Schema.TaggedError<EmbeddingError>()("EmbeddingError", {
  cause: Schema.Defect
}) {
  override get message(): string {
    return `embedding failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/**
 * A compare-and-set write lost: the record's version (or `updatedAt`) was no longer the one the caller read,
 * because another writer got there first. Nothing was written; read the record again and retry or give up.
 *
 * @category errors
 */
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", {
  entity: Schema.String,
  id: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}) {
  override get message(): string {
    return `${this.entity} ${JSON.stringify(this.id)} changed: expected ${this.expected}, found ${this.actual}`
  }
}
