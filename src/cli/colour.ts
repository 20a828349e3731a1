/**
 * When the command line may print colour codes. No imports: the launcher applies the same rule to help text it
 * prints before anything else has loaded.
 *
 * @since 0.1.0
 */

/** ANSI SGR sequences, as @effect/cli's help renderer writes them. @category formatting */
export const ANSI = /\u001b\[[0-9;]*m/g

/**
 * Whether stdout may carry colour codes: never when `NO_COLOR` is set and not empty (https://no-color.org),
 * always when `FORCE_COLOR` is set and not `0`, else only on a terminal.
 *
 * @category formatting
 */
export const colourAllowed = (): boolean => {
  const noColor = process.env["NO_COLOR"]
  if (noColor !== undefined && noColor !== "") return false
  const force = process.env["FORCE_COLOR"]
  if (force !== undefined && force !== "" && force !== "0") return true
  return process.stdout.isTTY === true
}
