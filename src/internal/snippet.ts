/**
 * The snippet of a message search hit: the content around the first word that matches the query, computed from the
 * content itself so every backend returns the same text whatever its index can store.
 */
import { stem } from "./text.js"

/** Characters of context kept on each side of the first match. */
const CONTEXT = 80

const WORD = /[\p{L}\p{N}\p{M}]+/gu

/** Whether `c` is a whitespace character, where a cut may fall without splitting a word. */
const isSpace = (c: string | undefined) => c !== undefined && /\s/u.test(c)

/**
 * The content around the first word whose stem is among the query's (`terms`, lowercase), cut at whitespace with
 * `…` where text was left out, whitespace runs folded to one space; the start of the content when no word matches.
 */
export const snippetOf = (content: string, terms: ReadonlyArray<string>): string => {
  const wanted = new Set(terms.map(stem))
  let at = 0
  let end = 0
  for (const m of content.matchAll(WORD)) {
    if (wanted.has(stem(m[0].toLowerCase()))) {
      at = m.index
      end = m.index + m[0].length
      break
    }
  }
  let from = Math.max(0, at - CONTEXT)
  let to = Math.min(content.length, end + CONTEXT)
  while (from > 0 && from < at && !isSpace(content[from - 1])) from++
  while (to < content.length && to > end && !isSpace(content[to])) to--
  // A surrogate pair split by the window would leave half a character.
  if (from > 0 && /[\uDC00-\uDFFF]/.test(content[from] ?? "")) from++
  if (to < content.length && /[\uD800-\uDBFF]/.test(content[to - 1] ?? "")) to--
  const text = content.slice(from, to).replace(/\s+/gu, " ").trim()
  return `${from > 0 ? "…" : ""}${text}${to < content.length ? "…" : ""}`
}
