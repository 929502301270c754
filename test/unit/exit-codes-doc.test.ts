import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';

describe('cli > exit codes', () => {
  it('docs/exit-codes.md lists exactly the codes of src/cli/exit-codes.ts, with their names', () => {
    const rows = [...readFileSync('docs/exit-codes.md', 'utf8').matchAll(/^\| (\d+) \| (\w+) \|/gm)].map((m) => [m[2], Number(m[1])]);
    expect(Object.fromEntries(rows)).toEqual({ ...EXIT });
  });
});
