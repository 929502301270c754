/**
 * Renders docs/tables.md from the table schemas, so the table reference cannot drift from
 * the code: test/unit/lake-schema.test.ts fails when the committed file differs.
 * Regenerate with `node bin/run-ts.mjs scripts/gen-table-docs.ts`.
 */
import { loadAllTableSchemas, type TableSchema } from './schema.ts';

function cell(text: string | null | undefined): string {
  return (text ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function renderTable(schema: TableSchema): string {
  const lines = [
    `## ${schema.name} (v${schema.version})`,
    '',
    schema.description,
    '',
    `- Natural key: ${schema.natural_key.map((k) => `\`${k}\``).join(', ')}`,
    `- Partitions: ${schema.partition_by.map((p) => `\`${p.name}=\` (${cell(p.expr)})`).join(' / ')}`,
    `- Sorted by: ${schema.sort_by.map((k) => `\`${k}\``).join(', ')}`,
    `- Files: \`<lake>/${schema.name}/${schema.partition_by.map((p) => `${p.name}=…`).join('/')}/*.parquet\``,
    '',
    '| column | type | nullable | unit | from | description |',
    '|---|---|---|---|---|---|',
  ];
  for (const c of schema.columns) {
    const from = c.field !== undefined ? `row \`${c.field}\`` : `derived (${c.derive ?? ''})`;
    lines.push(`| \`${c.name}\` | ${c.type} | ${c.nullable ? 'yes' : 'no'} | ${cell(c.unit)} | ${from} | ${cell(c.description)} |`);
  }
  return lines.join('\n');
}

export function renderTableDocs(): string {
  const head = [
    '# Lake tables',
    '',
    '<!-- Generated from schemas/tables/*.json by `node bin/run-ts.mjs scripts/gen-table-docs.ts`; do not edit by hand. -->',
    '',
    'Timestamps are Parquet `TIMESTAMP(isAdjustedToUTC, MICROS)` (DuckDB `TIMESTAMPTZ`, pyarrow `timestamp[us, tz=UTC]`);',
    'the row fields they come from carry epoch microseconds (`*_utc_us`). `utc_offset_min` is the local offset, and',
    '`local_date` the local calendar date that daily tables and partitions use. Query through the views',
    '(`schemas/views.sql`, `polar-lake query`): see docs/lake.md.',
    '',
  ];
  return [...head, ...loadAllTableSchemas().map(renderTable)].join('\n') + '\n';
}
