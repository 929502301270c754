import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const SOURCES = [
  'src/accesslink/errors.ts',
  'src/accesslink/oauth.ts',
  'src/cli/commands/users.ts',
  'src/state/secret-box.ts',
  'src/state/users.ts',
  'src/state/ledger.ts',
  'src/lake/raw-zone.ts',
  'src/stages/fetch.ts',
  'src/stages/fetch-listing.ts',
  'src/stages/fetch-transactions.ts',
  'src/stages/fetch-budget.ts',
];

describe('fetch > errors > docs', () => {
  it('docs/errors-fetch.md lists exactly the codes the fetch modules define, with their kind', async () => {
    const inCode = new Map<string, string>();
    for (const file of SOURCES) {
      const source = await readFile(file, 'utf8');
      for (const m of source.matchAll(/readonly code(?:: \w+)? = '(PL_[A-Z_]+)';\s*(?:override )?(?:\/\*\*[^]*?\*\/\s*)?(?:override )?readonly kind(?:: \w+)? = '(\w+)'/g)) inCode.set(m[1]!, m[2]!);
    }
    const doc = await readFile('docs/errors-fetch.md', 'utf8');
    const inDoc = new Map([...doc.matchAll(/^\| `(PL_[A-Z_]+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]));
    expect(inCode.size).toBeGreaterThan(15);
    expect(Object.fromEntries([...inDoc].sort())).toEqual(Object.fromEntries([...inCode].sort()));
  });
});
