/** The slice of node-postgres the benchmarks use for their raw floors (the package ships no types). */
declare module "pg" {
  export interface QueryResult {
    readonly rows: Array<Record<string, unknown>>
  }
  export class Client {
    constructor(options: { readonly connectionString: string })
    connect(): Promise<void>
    query(text: string, values?: ReadonlyArray<unknown>): Promise<QueryResult>
    end(): Promise<void>
  }
  const pg: { readonly Client: typeof Client }
  export default pg
}
