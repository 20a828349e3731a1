/**
 * Tags: the labels memories and workstreams carry and filter by.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { isStorableText } from "./Json.js"

/** A tag: non-empty and without surrounding whitespace. Tag lists are sets (sorted, unique) once stored. @category schemas */
export const Tag = Schema.String.pipe(
  Schema.filter((s) => (s.trim().length > 0 && s.trim() === s) || `tag ${JSON.stringify(s)} must be non-empty and trimmed`),
  Schema.filter((s) => isStorableText(s) || `tag ${JSON.stringify(s)} must be well-formed Unicode without NUL characters`)
)
