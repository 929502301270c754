/** The independent reference reader (test/python/fidelity_reference.py) and a row comparison, for the fidelity tests. */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, pythonPath } from './parse-corpus.ts';

const run = promisify(execFile);
const REFERENCE = resolve(REPO_ROOT, 'test/python/fidelity_reference.py');

export type Row = Record<string, unknown>;

export interface Reference {
  error: string | null;
  samples: Row[];
  laps: Row[];
  routes: Row[];
  file: Row | null;
}

export async function reference(path: string, format: string): Promise<Reference> {
  const { stdout } = await run(pythonPath(), [REFERENCE, path, format], { maxBuffer: 1 << 30 });
  const out: Reference = { error: null, samples: [], laps: [], routes: [], file: null };
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const row = JSON.parse(line) as Row;
    if ('error' in row) out.error = row['error'] as string;
    else if (row['table'] === 'samples') out.samples.push(row);
    else if (row['table'] === 'laps') out.laps.push(row);
    else if (row['table'] === 'routes') out.routes.push(row);
    else if (row['table'] === 'file') out.file = row;
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

/** First difference between our rows and the reference's, as a readable line, or null. */
export function firstDifference(table: string, ours: readonly object[], theirs: Row[]): string | null {
  if (ours.length !== theirs.length) return `${table}: ${ours.length} rows, reference ${theirs.length}`;
  for (let i = 0; i < ours.length; i++) {
    const o = ours[i] as Row;
    const t = theirs[i]!;
    for (const key of Object.keys(t)) {
      if (key === 'table') continue;
      if (!same(o[key], t[key])) return `${table}[${i}].${key}: ours ${JSON.stringify(o[key])}, reference ${JSON.stringify(t[key])}`;
    }
  }
  return null;
}

