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

/**
 * English function words: they carry no topic, so the hashing embedder leaves them out (unless a text has
 * nothing else) and a query like "what is the ..." is not pulled towards every memory that says "the".
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  ("a an the of to in on at for with by from and or but nor is are was were be been being am do does did done " +
    "how what which who whom whose when where why should can could would will shall may might must i we you he " +
    "she it they me us him her them my our your his its their this that these those there here as into onto " +
    "about after before not no so if then than too very just only up out all any some each both also via per " +
    "let lets s t isn don doesn didn won").split(" ")
)

const VOWEL = /[aeiouy]/

/**
 * A light English stemmer (plurals, -ed/-ing, -ation/-ion, -ment/-ness/-ly, final e), close enough to FTS5's
 * `porter` tokenizer that the in-memory text ranking and the SQLite one agree on which word forms match:
 * migrate, migrates, migrated, migrating and migration all become "migrat".
 */
export const stem = (word: string): string => {
  let w = word
  if (w.length <= 3 || !/^[a-z]+$/.test(w)) return w
  if (w.endsWith("sses")) w = w.slice(0, -2)
  else if (w.endsWith("ies")) w = `${w.slice(0, -3)}i`
  else if (w.endsWith("s") && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1)
  for (const suffix of ["ing", "ed"]) {
    const base = w.slice(0, -suffix.length)
    if (w.endsWith(suffix) && base.length >= 3 && VOWEL.test(base)) {
      // "stopped" -> "stop", "running" -> "run": a doubled final consonant is an inflection artefact.
      w = /([^aeiouslz])\1$/.test(base) ? base.slice(0, -1) : base
      break
    }
  }
  for (const [suffix, replacement] of [["ational", "ate"], ["ation", "ate"], ["ement", ""], ["ment", ""], ["ness", ""], ["ly", ""]] as const) {
    if (w.endsWith(suffix) && w.length - suffix.length >= (suffix === "ly" ? 4 : 3)) {
      w = w.slice(0, -suffix.length) + replacement
      break
    }
  }
  if (w.endsWith("ion") && w.length >= 6 && /[st]ion$/.test(w)) w = w.slice(0, -3)
  if (w.endsWith("e") && w.length >= 5) w = w.slice(0, -1)
  if (w.endsWith("y") && w.length >= 5 && !VOWEL.test(w.charAt(w.length - 2))) w = `${w.slice(0, -1)}i`
  return w
}

/** Stemmed words: the terms text search matches on. */
export const terms = (text: string): Array<string> => words(text).map(stem)

/** An FTS5 query in which every word is a quoted string (so no word is ever syntax) and any word may match. */
export const ftsMatch = (terms: ReadonlyArray<string>): string => terms.map((t) => `"${t.replaceAll("\"", "\"\"")}"`).join(" OR ")
