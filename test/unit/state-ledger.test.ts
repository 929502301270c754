import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLedger, type LedgerEntry } from '../../src/state/ledger.ts';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'polar-lake-ledger-'));
});
afterEach(async () => {
  await rm(stateDir, { recursive: true, force: true });
});

const entry = (over: Partial<LedgerEntry>): LedgerEntry => ({
  userId: '1', exerciseId: 'e1', payload: 'tcx', state: 'stored', rawKey: 'raw/k', sha256: 'ab', bytes: 3, utcOffsetMin: null, atUtc: '2026-01-01T00:00:00.000Z', ...over,
});

describe('state > ledger', () => {
  it('keeps the latest state per payload across reopen', async () => {
    const ledger = await openLedger({ stateDir });
    await ledger.record([entry({}), entry({ payload: 'gpx', state: 'absent', rawKey: null })]);
    await ledger.record([entry({ state: 'published' })]);
    const reopened = await openLedger({ stateDir });
    expect(reopened.get('1', 'e1', 'tcx')?.state).toBe('published');
    expect(reopened.get('1', 'e1', 'gpx')?.state).toBe('absent');
    expect(reopened.get('1', 'e1', 'fit')).toBeUndefined();
    expect(reopened.size).toBe(2);
  });

  it('drops a torn last line and appends the next entry on a fresh line', async () => {
    const ledger = await openLedger({ stateDir });
    await ledger.record([entry({})]);
    await appendFile(ledger.file, '{"u":"1","e":"e2","p":"fi');
    const reopened = await openLedger({ stateDir });
    expect(reopened.get('1', 'e2', 'fit')).toBeUndefined();
    await reopened.record([entry({ exerciseId: 'e3' })]);
    const again = await openLedger({ stateDir });
    expect(again.get('1', 'e3', 'tcx')?.state).toBe('stored');
    expect((await readFile(ledger.file, 'utf8')).trim().split('\n')).toHaveLength(3);
  });

  it('appends asked for while one is being written share one write and one fsync, each answered once durable', async () => {
    const ledger = await openLedger({ stateDir });
    const recorded = Array.from({ length: 50 }, (_, i) => ledger.record([entry({ exerciseId: `e${i}` }), entry({ exerciseId: `e${i}`, payload: 'gpx' })]));
    // Nothing answered before it is on disk: the index learns an entry only with its append.
    expect(ledger.get('1', 'e49', 'tcx')).toBeUndefined();
    await Promise.all(recorded);
    // The first append goes alone; the 49 asked for meanwhile go together in the second.
    expect(ledger.appends).toBe(2);
    expect(ledger.size).toBe(100);
    const reopened = await openLedger({ stateDir });
    expect(reopened.size).toBe(100);
    expect((await readFile(ledger.file, 'utf8')).trim().split('\n')).toHaveLength(100);
  });
});
