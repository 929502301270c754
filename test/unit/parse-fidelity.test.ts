/**
 * Every TCX / GPX / FIT file of the corpus against an independent reference reading
 * (test/python/fidelity_reference.py: lxml trees, Garmin's Python FIT SDK): same rows, same
 * values (floats to 1e-9), same UTC instants; or the same rejection code.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CORPUS_DIR, HAVE_CORPUS, REPO_ROOT, collectFile, corpusEntries, pythonPath } from '../helpers/parse-corpus.ts';

const run = promisify(execFile);
const REFERENCE = resolve(REPO_ROOT, 'test/python/fidelity_reference.py');

type Row = Record<string, unknown>;

async function reference(path: string, format: string, keepOrder: boolean): Promise<{ error: string | null; samples: Row[]; laps: Row[] }> {
  const args = [REFERENCE, path, format, ...(keepOrder ? ['--keep-time-order'] : [])];
  const { stdout } = await run(pythonPath(), args, { maxBuffer: 1 << 30 });
  const out = { error: null as string | null, samples: [] as Row[], laps: [] as Row[] };
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const row = JSON.parse(line) as Row;
    if ('error' in row) out.error = row['error'] as string;
    else if (row['table'] === 'samples') out.samples.push(row);
    else if (row['table'] === 'laps') out.laps.push(row);
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  return a === b;
}

/** First difference between our rows and the reference's, as a readable line, or null. */
function firstDifference(table: string, ours: readonly object[], theirs: Row[]): string | null {
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

/** Codes that name the same rejection from the two readers' points of view. */
const EQUIVALENT: Record<string, string[]> = {
  PL_PARSE_XML_MALFORMED: ['PL_PARSE_XML_MALFORMED', 'PL_PARSE_TRUNCATED'],
  PL_PARSE_FIT_INVALID: ['PL_PARSE_FIT_INVALID'],
};

describe.skipIf(!HAVE_CORPUS)(`parse > fidelity > corpus (${HAVE_CORPUS ? CORPUS_DIR : 'corpus folder absent: set POLAR_LAKE_CORPUS; skipped'})`, () => {
  for (const entry of corpusEntries()) {
    it(`parse > fidelity > ${entry.path}`, { timeout: 180_000 }, async () => {
      const path = resolve(CORPUS_DIR, entry.path);
      const theirs = await reference(path, entry.format, false);
      const ours = await collectFile(path, 'auto');
      if (theirs.error !== null) {
        expect(ours.error, `reference rejects with ${theirs.error}`).not.toBeNull();
        expect(EQUIVALENT[theirs.error] ?? [theirs.error]).toContain(ours.error!.code);
        if (theirs.error !== 'PL_PARSE_TIME_ORDER') return;
        // Rejected by the default policy: with 'keep' both readers must agree on every row.
        const keptTheirs = await reference(path, entry.format, true);
        const keptOurs = await collectFile(path, 'auto', { timeOrder: 'keep' });
        expect(keptOurs.error).toBeNull();
        expect(firstDifference('samples', keptOurs.samples, keptTheirs.samples)).toBeNull();
        expect(firstDifference('laps', keptOurs.laps, keptTheirs.laps)).toBeNull();
        return;
      }
      expect(ours.error, ours.error?.message).toBeNull();
      expect(firstDifference('samples', ours.samples, theirs.samples)).toBeNull();
      expect(firstDifference('laps', ours.laps, theirs.laps)).toBeNull();
      expect(ours.info?.sample_count).toBe(theirs.samples.length);
    });
  }
});
