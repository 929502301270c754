import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README_BEGIN, README_END, renderReadmeTables } from '../../src/lake/readme-tables.ts';
import { TABLE_NAMES } from '../../src/lake/schema.ts';

describe('docs > README table reference', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('is the one generated from schemas/tables (run scripts/gen-table-docs.ts after a schema change)', () => {
    const start = readme.indexOf(README_BEGIN);
    const end = readme.indexOf(README_END);
    expect(start).toBeGreaterThan(0);
    expect(readme.slice(start, end + README_END.length)).toBe(renderReadmeTables());
  });

  it('covers every table the lake has', () => {
    for (const table of TABLE_NAMES) expect(readme).toMatch(new RegExp(`### ${table} \\(v\\d+\\)`));
  });
});
