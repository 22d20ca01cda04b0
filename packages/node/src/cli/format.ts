/** Human output of the client commands: a table for a list, `field  value` lines for one object. */

type Row = Record<string, unknown>

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value)) return value.length ? value.join(',') : '-'
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** Columns aligned under their headers; "(none)" for an empty list. */
export function table(rows: Row[], columns: string[]): string {
  if (rows.length === 0) return '(none)\n'
  const cells = rows.map((row) => columns.map((column) => cell(row[column])))
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)))
  const line = (values: string[]) => values.map((value, i) => value.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(columns.map((column) => column.toUpperCase())), ...cells.map(line)].join('\n') + '\n'
}

/** One object, a field per line, in the order given (fields absent from the object are skipped). */
export function details(object: Row, fields: string[] = Object.keys(object)): string {
  const present = fields.filter((field) => field in object)
  const width = Math.max(...present.map((field) => field.length))
  return present.map((field) => `${field.padEnd(width)}  ${cell(object[field])}`).join('\n') + '\n'
}
