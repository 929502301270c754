import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createJobProgress, EXIT_ITEMS_FAILED, exitCodeFor, formatJobSummary } from '../../src/jobs/progress.ts';

function captured(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 120 });
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

describe('jobs > progress', () => {
  it('counts every outcome once and lists failures with their reasons', () => {
    let now = 0;
    const out = captured(false);
    const progress = createJobProgress({ job: 'import', unit: 'files', stream: out.stream, clock: () => now });
    progress.addTotal(5);
    progress.done('stored', 2);
    progress.done('already_present');
    progress.done('merged');
    progress.failed({ path: 'a.zip!../evil', code: 'PL_IMPORT_PATH_ESCAPES', reason: 'entry escapes the import' });
    progress.count('zip_entries', 4);
    now = 2500;
    const summary = progress.finish();
    expect(summary).toMatchObject({
      job: 'import', unit: 'files', seen: 5, stored: 2, already_present: 1, merged: 1, failed: 1,
      failed_by_code: { PL_IMPORT_PATH_ESCAPES: 1 }, counts: { zip_entries: 4 }, elapsed_s: 2.5, failures_not_listed: 0,
    });
    expect(summary.failures).toEqual([{ path: 'a.zip!../evil', code: 'PL_IMPORT_PATH_ESCAPES', reason: 'entry escapes the import' }]);
    expect(exitCodeFor(summary)).toBe(EXIT_ITEMS_FAILED);
    expect(progress.finish()).toBe(summary);
  });

  it('exit code 0 when nothing failed', () => {
    const progress = createJobProgress({ job: 'replay', mode: 'silent', clock: () => 0 });
    progress.done('stored');
    expect(exitCodeFor(progress.finish())).toBe(0);
  });

  it('not a terminal: plain lines at most once per interval, driven by the clock, and a last line', () => {
    let now = 0;
    const out = captured(false);
    const progress = createJobProgress({ job: 'import', unit: 'files', stream: out.stream, clock: () => now, lineIntervalMs: 1000 });
    progress.addTotal(100);
    for (let i = 0; i < 10; i++) {
      now += 250;
      progress.done('stored');
    }
    progress.finish();
    const lines = out.text().trim().split('\n');
    // 2.5 s of work at one line per second gives two periodic lines, then the final one.
    expect(lines).toEqual([
      'import: 4/100 files, 4.0/s, ETA 24s, 0 failed',
      'import: 8/100 files, 4.0/s, ETA 23s, 0 failed',
      'import: 10/100 files, 4.0/s, ETA 23s, 0 failed',
    ]);
    expect(out.text()).not.toContain('\u001b[');
  });

  it('on a terminal: a cli-progress bar with rate, ETA and failures', () => {
    const out = captured(true);
    const progress = createJobProgress({ job: 'import', unit: 'files', stream: out.stream, clock: () => 0 });
    progress.addTotal(3);
    progress.done('stored', 3);
    progress.finish();
    expect(out.text()).toMatch(/import \[[^\]]+\] 3\/3 files \| [\d.]+\/s \| ETA \S+ \| 0 failed/);
  });

  it('caps the listed failures but counts them all', () => {
    const progress = createJobProgress({ job: 'import', mode: 'silent', clock: () => 0, maxFailuresListed: 2 });
    for (let i = 0; i < 5; i++) progress.failed({ path: `f${i}`, code: 'PL_X', reason: 'bad' });
    const summary = progress.finish();
    expect(summary.failures.map((f) => f.path)).toEqual(['f0', 'f1']);
    expect(summary.failures_not_listed).toBe(3);
    expect(formatJobSummary(summary)).toContain('… and 3 more failures');
  });

  it('--json prints the same summary as one JSON document', () => {
    const progress = createJobProgress({ job: 'import', mode: 'silent', clock: () => 0 });
    progress.done('stored');
    const summary = progress.finish();
    expect(JSON.parse(formatJobSummary(summary, { json: true }))).toEqual(summary);
    expect(formatJobSummary(summary)).toContain('stored            1');
  });
});
