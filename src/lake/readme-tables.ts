/**
 * The README's table reference is the generated docs/tables.md, one heading level down,
 * between two markers. `scripts/gen-table-docs.ts` writes both; a test fails when the
 * committed README block differs, so the README cannot drift from schemas/tables/.
 */
import { renderTableDocs } from './table-docs.ts';

export const README_BEGIN = '<!-- table-reference:begin (generated: node bin/run-ts.mjs scripts/gen-table-docs.ts) -->';
export const README_END = '<!-- table-reference:end -->';

export function renderReadmeTables(): string {
  const body = renderTableDocs()
    .split('\n')
    .filter((line) => !line.startsWith('# ') && !line.startsWith('<!--'))
    .map((line) => (line.startsWith('#') ? `#${line}` : line))
    .join('\n')
    .trim();
  return `${README_BEGIN}\n${body}\n${README_END}`;
}

/** The README text with its generated block replaced (or unchanged when the markers are absent). */
export function withReadmeTables(readme: string): string {
  const start = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) return readme;
  return readme.slice(0, start) + renderReadmeTables() + readme.slice(end + README_END.length);
}
