import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PARSE_ERROR_CODES } from '../../src/parse/index.ts';
import { REPO_ROOT } from '../helpers/parse-corpus.ts';

describe('parse > errors', () => {
  it('parse > errors > every code is documented in docs/errors-parse.md, and only those', () => {
    const doc = readFileSync(resolve(REPO_ROOT, 'docs/errors-parse.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(PL_PARSE_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]).sort();
    expect(documented).toEqual(Object.keys(PARSE_ERROR_CODES).sort());
  });
});
