/**
 * A PostgreSQL server for tests: PGlite (PostgreSQL compiled to WASM) with pgvector, behind pglite-socket on a
 * loopback port, so clients reach it over the wire exactly as they reach a real server. argv[2] is the data
 * directory (a copy of an initialised template makes startup fast). Prints `ready <port>` once it listens.
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"

/**
 * PGlite is one PostgreSQL session shared by every connection. pglite-socket's own queue keeps a transaction to
 * its connection, but outside one it interleaves single messages, so one client's Parse/Bind/Execute can land
 * between another's (a Bind then meets the wrong unnamed statement). This queue also keeps a connection's
 * extended-query sequence together until its Sync, which makes concurrent connections safe.
 */
class SessionQueue {
  constructor(db) {
    this.db = db
    this.queue = []
    this.processing = false
    this.owner = null // the connection the session belongs to until its Sync (or its transaction ends)
    this.midSequence = false
  }
  enqueue(handlerId, message, onData) {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject })
      void this.drain()
    })
  }
  next() {
    const held = this.owner !== null && (this.midSequence || this.db.isInTransaction())
    if (!held) return this.queue.shift()
    const at = this.queue.findIndex((q) => q.handlerId === this.owner)
    return at === -1 ? undefined : this.queue.splice(at, 1)[0]
  }
  async drain() {
    if (this.processing) return
    this.processing = true
    for (let item = this.next(); item !== undefined; item = this.next()) {
      const type = String.fromCharCode(item.message[0])
      let bytes = 0
      try {
        await this.db.runExclusive(() =>
          this.db.execProtocolRawStream(item.message, { onRawData: (d) => { bytes += d.length; item.onData(d) } })
        )
      } catch (error) {
        item.reject(error)
        continue
      }
      this.owner = item.handlerId
      // Simple queries (Q) and Sync (S) end a sequence; Parse, Bind, Describe, Execute, Close and Flush continue one.
      this.midSequence = "PBDECH".includes(type)
      item.resolve(bytes)
    }
    this.processing = false
  }
  getQueueLength() {
    return this.queue.length
  }
  clearQueueForHandler(handlerId) {
    this.queue = this.queue.filter((q) => q.handlerId !== handlerId || (q.reject(new Error("Handler disconnected")), false))
  }
  async clearTransactionIfNeeded(handlerId) {
    if (this.owner !== handlerId) return
    if (this.db.isInTransaction()) await this.db.exec("ROLLBACK")
    this.owner = null
    this.midSequence = false
    await this.drain()
  }
}

const db = await PGlite.create({ dataDir: process.argv[2], extensions: { vector } })
await db.exec("CREATE EXTENSION IF NOT EXISTS vector")
const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1", maxConnections: 64 })
server.queryQueue = new SessionQueue(db)
await server.start()
process.stdout.write(`ready ${server.getServerConn().split(":").pop()}\n`)
const stop = async () => {
  await server.stop()
  await db.close()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
