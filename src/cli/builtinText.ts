/**
 * Corrections to the text @effect/cli writes for its built-in options: the help loses lines that only restate an
 * option's type ("A user-defined piece of text.") and the `--wizard` option this command line refuses; the bash
 * completion script gets its word matching right (the generated one sets `arawn-store` but matches `arawn__store`,
 * and matches a third word against `a,b,c` while it holds `a__b`, so it completed the first word only), and its
 * choice lists split into words.
 *
 * @since 0.1.0
 */
import { ANSI } from "./colour.js"

const TYPE_ONLY = new Set(["A user-defined piece of text.", "A true or false value.", "An integer.", "A floating point number."])

const plain = (line: string) => line.replace(ANSI, "").trim()

/** `<command> --help` without type-only lines and without `--wizard`. @category formatting */
export const tidyHelp = (text: string): string => {
  const out: Array<string> = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = plain(lines[i]!)
    if (TYPE_ONLY.has(line)) {
      // The blank line under it goes too.
      if (plain(lines[i + 1] ?? "x") === "") i++
      continue
    }
    if (line === "--wizard") {
      // The option's block runs to the next line that is not indented: the next option or section.
      while (i + 1 < lines.length && (plain(lines[i + 1]!) === "" || /^\s/.test(lines[i + 1]!.replace(ANSI, "")))) i++
      continue
    }
    out.push(lines[i]!)
  }
  return out.join("\n")
}

/** `--completions <shell>` output with the fixes above (bash) and without `--wizard` (every shell). @category formatting */
export const fixCompletions = (name: string, text: string): string => {
  const mangled = name.replace(/-/g, "__")
  return text
    .split("\n")
    .filter((line) => !/(^|\s|')--wizard\[|-l wizard\b/.test(line))
    .map((line) =>
      line
        .replace(` --wizard`, "")
        .replace(`cmd="${name}"`, `cmd="${mangled}"`)
        .replace(new RegExp(`^(\\s+)${name}\\)$`), `$1${mangled})`)
        .replace(/^(\s+)([a-z_]+(?:,[a-z_]+)+)\)$/, (_, indent: string, path: string) => {
          // `cmd` holds the words so far joined with `__`; the word being matched is as typed (`-`, not `__`).
          const words = path.split(",")
          return `${indent}${words.slice(0, -1).join("__")},${words.at(-1)!.replace(/__/g, "-")})`
        })
        .replace(/compgen -W "([^"$ ]+)"/, (_, words: string) => `compgen -W "${words.replace(/,/g, " ")}"`)
    )
    .join("\n")
}
