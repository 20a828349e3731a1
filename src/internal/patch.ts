/**
 * The patch rule shared by every update: `undefined` keeps the current value, `null` clears it, anything else
 * replaces it. Returns a spreadable object so an absent field stays absent (exactOptionalPropertyTypes).
 */
export const setOrClear = <K extends string, V>(key: K, value: V | null | undefined, current: V | undefined) => {
  const next = value === undefined ? current : value === null ? undefined : value
  return next === undefined ? {} : ({ [key]: next } as { [P in K]: V })
}
