/** The slice of better-sqlite3's API the benchmarks use for their raw floors (the package ships no types). */
declare module "better-sqlite3" {
  export interface Statement {
    run(...params: ReadonlyArray<unknown>): { changes: number; lastInsertRowid: number | bigint }
    get(...params: ReadonlyArray<unknown>): unknown
    all(...params: ReadonlyArray<unknown>): Array<unknown>
  }
  export interface Database {
    prepare(sql: string): Statement
    exec(sql: string): this
    pragma(source: string): unknown
    loadExtension(path: string): this
    transaction<A extends ReadonlyArray<unknown>, R>(fn: (...args: A) => R): (...args: A) => R
    close(): this
  }
  interface DatabaseConstructor {
    new(filename: string, options?: { readonly readonly?: boolean }): Database
  }
  const Database: DatabaseConstructor
  export default Database
}
