import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Durable writes have one home, src/fs/durable.ts: a module that fsyncs or renames on its own
 * is a second, unreviewed copy of the ordering the promises depend on (and the kind that
 * forgot the folder fsync before). This test fails when one appears.
 */
const HOME = 'src/fs/durable.ts';

/** Calls that make bytes or names durable, and imports of them from node:fs. */
const FORBIDDEN: readonly [string, RegExp][] = [
  ['fsync', /\b(?:fsync|fdatasync)(?:Sync)?\s*\(/],
  ['handle sync', /\.(?:sync|datasync)\s*\(\s*\)/],
  ['rename', /\brename(?:Sync)?\s*\(/],
  ['link', /\blink(?:Sync)?\s*\(/],
  ['import from node:fs', /import\s*\{[^}]*\b(?:rename|renameSync|fsync|fsyncSync|fdatasync|fdatasyncSync|link|linkSync)\b[^}]*\}\s*from\s*'node:fs(?:\/promises)?'/],
];

/** Justified exceptions: file → the kinds it may use, and why. */
const EXCEPTIONS: Readonly<Record<string, { readonly kinds: readonly string[]; readonly why: string }>> = {
  'src/state/lease.ts': {
    kinds: ['rename', 'link', 'import from node:fs'],
    why: 'the lease protocol uses link (create only if absent) and rename (set an expired lease aside) as mutual exclusion between contenders, not for durability: a lease a crash loses is one that has expired anyway',
  },
  'src/bus/embedded-log.ts': {
    kinds: ['handle sync'],
    why: 'the embedded bus log is itself an append-only store: positional writes on a segment handle kept open, one fdatasync per append, and a torn tail truncated and synced at start-up; it places no file (its folder syncs go through durable.ts)',
  },
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The code without comments, one entry per line (line numbers kept). */
function codeLines(text: string): string[] {
  const withoutBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (block) => block.replace(/[^\n]/g, ''));
  return withoutBlocks.split('\n').map((line) => line.replace(/(^|[^:'"`])\/\/.*$/, '$1'));
}

function findings(): { file: string; line: number; kind: string; text: string }[] {
  const out: { file: string; line: number; kind: string; text: string }[] = [];
  for (const file of sourceFiles('src')) {
    if (file === HOME) continue;
    const lines = codeLines(readFileSync(file, 'utf8'));
    const whole = lines.join('\n');
    for (const [kind, pattern] of FORBIDDEN) {
      const global = new RegExp(pattern.source, 'g');
      for (const m of whole.matchAll(global)) {
        const line = whole.slice(0, m.index).split('\n').length;
        out.push({ file, line, kind, text: (lines[line - 1] ?? '').trim() });
      }
    }
  }
  return out;
}

describe('fs > durable writes go through src/fs/durable.ts', () => {
  const found = findings();

  it('no module other than src/fs/durable.ts fsyncs, renames or links (except the justified ones)', () => {
    const unjustified = found.filter((f) => !EXCEPTIONS[f.file]?.kinds.includes(f.kind));
    expect(unjustified.map((f) => `${f.file}:${f.line} (${f.kind}): ${f.text}`)).toEqual([]);
  });

  it('every exception is still needed (the list does not outlive the code it excuses)', () => {
    for (const [file, { kinds }] of Object.entries(EXCEPTIONS)) {
      for (const kind of kinds) expect(found.some((f) => f.file === file && f.kind === kind), `${file}: ${kind}`).toBe(true);
    }
  });

  it('the check sees a direct fsync or rename (it is not blind)', () => {
    const probe = codeLines("import { rename } from 'node:fs/promises';\nawait handle.sync();\nfsyncSync(fd); // fsync\n/* rename(a, b) */");
    const hits = FORBIDDEN.filter(([, pattern]) => probe.some((line) => pattern.test(line))).map(([kind]) => kind);
    expect(hits).toEqual(['fsync', 'handle sync', 'import from node:fs']);
  });
});
