import { Effect } from "effect"
import { InvalidInput } from "../Errors.js"

/** A keyset position (timestamp millis, id), opaque to callers. */
export interface Position {
  readonly millis: number
  readonly id: string
}

export const encodeCursor = (p: Position): string => Buffer.from(`${p.millis}:${p.id}`, "utf8").toString("base64url")

export const decodeCursor = (method: string, cursor: string): Effect.Effect<Position, InvalidInput> => {
  const raw = Buffer.from(cursor, "base64url").toString("utf8")
  const sep = raw.indexOf(":")
  const millis = Number(raw.slice(0, sep))
  return sep > 0 && Number.isSafeInteger(millis) && raw.length > sep + 1
    ? Effect.succeed({ millis, id: raw.slice(sep + 1) })
    : Effect.fail(new InvalidInput({ method, message: `cursor ${JSON.stringify(cursor)} is not one this store returned` }))
}
