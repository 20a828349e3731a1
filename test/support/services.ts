/**
 * Whether the machine's services answer, for tests that need one: such a test may be skipped only when its service
 * does not answer AND the environment does not require services (CI sets `ARAWN_REQUIRE_SERVICES`).
 */
import * as net from "node:net"

/** Whether something accepts TCP connections on `host:port` within half a second. */
export const answers = (port: number, host = "127.0.0.1") =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

/** True when the tests of a service on `port` are to be skipped: it does not answer and services are optional. */
export const unreachableAndOptional = async (port: number, host = "127.0.0.1") =>
  !(await answers(port, host)) && !process.env["ARAWN_REQUIRE_SERVICES"]

/** The machine's PostgreSQL: database `test`, trust authentication. */
export const PG_PORT = 5432
export const PG_URL = `postgres://postgres@127.0.0.1:${PG_PORT}/test`
