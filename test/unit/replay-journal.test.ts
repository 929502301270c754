import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { journalPathFor, openReplayJournal } from '../../src/jobs/replay/journal.ts';

describe('replay journal', () => {
  const dirs: string[] = [];
  const stateDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'polar-lake-journal-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('keeps what was marked done across reopening; a torn last line is ignored', async () => {
    const dir = stateDir();
    const journal = await openReplayJournal(dir, {});
    await journal.markDone(['raw/a', 'raw/b']);
    appendFileSync(journal.path, '{"done":["raw/c"'); // a crash in the middle of a line
    const again = await openReplayJournal(dir, {});
    expect(['raw/a', 'raw/b', 'raw/c'].map((k) => again.has(k))).toEqual([true, true, false]);
    await again.markDone(['raw/d']); // the torn line does not swallow the next checkpoint
    expect((await openReplayJournal(dir, {})).has('raw/d')).toBe(true);
  });

  it('is one journal per filter (order of users does not matter); --restart and remove() forget it', async () => {
    const dir = stateDir();
    expect(journalPathFor(dir, { users: ['1', '2'] })).toBe(journalPathFor(dir, { users: ['2', '1'] }));
    expect(journalPathFor(dir, { users: ['1'] })).not.toBe(journalPathFor(dir, {}));
    await (await openReplayJournal(dir, { since: '2025-01-01' })).markDone(['raw/a']);
    expect((await openReplayJournal(dir, {})).has('raw/a')).toBe(false);
    expect((await openReplayJournal(dir, { since: '2025-01-01' })).has('raw/a')).toBe(true);
    expect((await openReplayJournal(dir, { since: '2025-01-01' }, { restart: true })).has('raw/a')).toBe(false);
    const j = await openReplayJournal(dir, { until: '2025-01-01' });
    await j.markDone(['raw/z']);
    await j.remove();
    expect((await openReplayJournal(dir, { until: '2025-01-01' })).has('raw/z')).toBe(false);
  });
});
