import { stem, terms } from "./text.js"

const K1 = 1.2
const B = 0.75

/**
 * A tiny in-process BM25 over stemmed words, for the in-memory test double. SQLite uses FTS5's own bm25 with the
 * `porter` tokenizer; stemming here too keeps the two rankings close (a query for "migrating" finds "migrations").
 */
export class Bm25Index<K> {
  private readonly docs = new Map<K, { readonly tf: Map<string, number>; readonly length: number }>()
  private readonly df = new Map<string, number>()
  private totalLength = 0

  set(key: K, text: string): void {
    this.delete(key)
    const tf = new Map<string, number>()
    const ws = terms(text)
    for (const w of ws) tf.set(w, (tf.get(w) ?? 0) + 1)
    for (const w of tf.keys()) this.df.set(w, (this.df.get(w) ?? 0) + 1)
    this.docs.set(key, { tf, length: ws.length })
    this.totalLength += ws.length
  }

  delete(key: K): void {
    const doc = this.docs.get(key)
    if (!doc) return
    for (const w of doc.tf.keys()) {
      const n = (this.df.get(w) ?? 1) - 1
      if (n === 0) this.df.delete(w)
      else this.df.set(w, n)
    }
    this.totalLength -= doc.length
    this.docs.delete(key)
  }

  /** BM25 of `key` for the query's words (unstemmed, as `words` returns them; any may match); 0 when none does. */
  score(key: K, query: ReadonlyArray<string>): number {
    return this.scoreStems(key, query.map(stem))
  }

  /** `score` for words stemmed already (a search stems its query once, not once per document). */
  scoreStems(key: K, stems: ReadonlyArray<string>): number {
    const doc = this.docs.get(key)
    if (!doc || this.docs.size === 0) return 0
    const avg = this.totalLength / this.docs.size || 1
    let s = 0
    for (const w of new Set(stems)) {
      const f = doc.tf.get(w)
      if (!f) continue
      const n = this.df.get(w) ?? 0
      const idf = Math.log(1 + (this.docs.size - n + 0.5) / (n + 0.5))
      s += idf * (f * (K1 + 1)) / (f + K1 * (1 - B + B * doc.length / avg))
    }
    return s
  }
}
