/**
 * The machine's PostgreSQL for the tests that need it: such a test may be skipped only when the server does not
 * answer AND the environment does not require services (CI sets `ARAWN_REQUIRE_SERVICES`), as for Redis.
 */
import { answers } from "./redis.js"

/** The machine's PostgreSQL: database `test`, trust authentication. */
export const PG_PORT = 5432
export const PG_URL = `postgres://postgres@127.0.0.1:${PG_PORT}/test`

/** True when the PostgreSQL tests are to be skipped: the server does not answer and services are optional. */
export const skipPg = async () => !(await answers(PG_PORT)) && !process.env["ARAWN_REQUIRE_SERVICES"]
