/** Lowercased words (unicode letters and digits), the unit of text search and of the hashing embedder. */
export const words = (text: string): Array<string> => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

/** 32-bit FNV-1a over UTF-16 code units, with a seed so two independent hashes can be drawn. */
export const fnv1a = (s: string, seed = 0x811c9dc5): number => {
  let h = seed >>> 0
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
