/**
 * Queries built once and bound many times. Kysely builds an immutable tree and compiles it to SQL
 * on every call; on the message hot path that cost more than SQLite running the statement. A
 * prepared query is built and compiled once per store (the SQL depends only on the dialect), with
 * numbered placeholders where the values go; each execution only binds the values.
 *
 *   const byId = prepare((arg) => db.selectFrom('users').selectAll().where('id', '=', arg(0)))
 *   const rows = await byId.execute(db, [id])     // or a transaction: byId.execute(trx, [id])
 */
import type { Compilable, CompiledQuery, QueryResult } from 'kysely'

/**
 * Stands in for the value at `index` of the arguments. Typed `never` so that it fits any column
 * in the builder; it is only ever a marker that `prepare` replaces.
 */
export type Arg = (index: number) => never

/** A database or a transaction of it (the same dialect the query was compiled for). */
interface Executor {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>
}

export interface Prepared<Row> {
  execute(db: Executor, args: readonly unknown[]): Promise<Row[]>
}

// A marker no real value can equal: an object, recognised by identity.
class Placeholder {
  constructor(readonly index: number) {}
}

/** `build` must use the database the query will run on (its dialect decides the SQL). */
export function prepare<Row>(build: (arg: Arg) => Compilable<Row>): Prepared<Row> {
  const compiled = build((index) => new Placeholder(index) as never).compile()
  // Each SQL parameter is either an argument (by index) or a constant written in the builder.
  const slots = compiled.parameters.map((value) => (value instanceof Placeholder ? value.index : { constant: value }))
  return {
    async execute(target, args) {
      const parameters = slots.map((slot) => (typeof slot === 'number' ? args[slot] : slot.constant))
      const query: CompiledQuery<Row> = { sql: compiled.sql, parameters, query: compiled.query, queryId: compiled.queryId }
      return (await target.executeQuery(query)).rows
    },
  }
}

/**
 * One prepared query per size, for multi-row inserts: `build` gets the number of rows, and the
 * arguments are the rows' values one after another. Sizes are bounded by the caller's chunking.
 */
export function prepareBySize<Row>(build: (arg: Arg, size: number) => Compilable<Row>): (size: number) => Prepared<Row> {
  const bySize = new Map<number, Prepared<Row>>()
  return (size) => {
    let query = bySize.get(size)
    if (!query) {
      query = prepare((arg) => build(arg, size))
      bySize.set(size, query)
    }
    return query
  }
}
