import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

describe('bus > errors > docs', () => {
  it('bus > errors > docs/errors-bus.md lists exactly the codes src/bus/errors.ts defines, with their kind', async () => {
    const source = await readFile('src/bus/errors.ts', 'utf8');
    const inCode = new Map([...source.matchAll(/readonly code = '(PL_[A-Z_]+)';\s*readonly kind = '(\w+)'/g)].map((m) => [m[1]!, m[2]!]));
    const doc = await readFile('docs/errors-bus.md', 'utf8');
    const inDoc = new Map([...doc.matchAll(/^\| `(PL_[A-Z_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
    expect(inCode.size).toBe(4);
    expect(Object.fromEntries([...inDoc].sort())).toEqual(Object.fromEntries([...inCode].sort()));
  });
});
