import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const codesIn = (text: string, pattern: RegExp) => new Set([...text.matchAll(pattern)].map((m) => m[1] as string));

describe('errors > documentation', () => {
  const source = sourceFiles('src').map((f) => readFileSync(f, 'utf8')).join('\n');
  const docs = readdirSync('docs').filter((f) => /^errors.*\.md$/.test(f)).map((f) => readFileSync(join('docs', f), 'utf8')).join('\n');
  const inSource = codesIn(source, /'(PL_[A-Z0-9_]+)'/g);
  const inDocs = codesIn(docs, /`(PL_[A-Z0-9_]+)`/g);

  it('documents every error code the source raises', () => {
    expect(inSource.size).toBeGreaterThan(40);
    expect([...inSource].filter((c) => !inDocs.has(c))).toEqual([]);
  });

  it('documents no code that no longer exists', () => {
    expect([...inDocs].filter((c) => !inSource.has(c))).toEqual([]);
  });
});
