/** Renders query results for the CLI: an aligned text table, CSV or JSON lines. */
export type Cell = string | number | boolean | null;

function text(v: Cell): string {
  return v === null ? 'NULL' : String(v);
}

export function renderTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => text(r[i] ?? null).length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  return [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...rows.map((r) => line(r.map((v) => text(v ?? null)))), `(${rows.length} rows)`].join('\n') + '\n';
}

function csvCell(v: Cell): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function renderCsv(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [columns.map(csvCell).join(','), ...rows.map((r) => r.map((v) => csvCell(v ?? null)).join(','))].join('\n') + '\n';
}

/** JSON lines; values as DuckDB's JSON conversion gives them (STRUCT an object, LIST an array, MAP key/value pairs). */
export function renderJson(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return rows.map((r) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null])))).join('\n') + (rows.length > 0 ? '\n' : '');
}
