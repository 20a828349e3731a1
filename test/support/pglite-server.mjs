/**
 * A PostgreSQL server for tests: PGlite (PostgreSQL compiled to WASM) with pgvector, behind pglite-socket on a
 * loopback port, so clients reach it over the wire exactly as they reach a real server. argv[2] is the data
 * directory (a copy of an initialised template makes startup fast). Prints `ready <port>` once it listens.
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"

const db = await PGlite.create({ dataDir: process.argv[2], extensions: { vector } })
await db.exec("CREATE EXTENSION IF NOT EXISTS vector")
const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 64 })
await server.start()
process.stdout.write(`ready ${server.getServerConn().split(":").pop()}\n`)
const stop = async () => {
  await server.stop()
  await db.close()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
