import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compatibleSports, matches, openIdentityRegistry, type ExerciseMember } from '../../src/jobs/exercise-identity.ts';

const T0 = Date.UTC(2024, 4, 1, 6, 0, 0) * 1000;
const member = (over: Partial<ExerciseMember>): ExerciseMember => ({
  userId: 'u', exerciseId: 'e', source: 'accesslink', startUtcUs: T0, offsetKnown: true, durationS: 3600, sport: 'RUNNING',
  rowsKey: 'raw/exercises/user_id=u/exercise_id=e/summary.json.gz', samplesKey: null, ...over,
});

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'polar-lake-identity-'));
  dirs.push(d);
  return d;
};

describe('jobs > exercise identity > matching rule', () => {
  const api = member({});
  it.each([
    ['start 90 s apart', { startUtcUs: T0 + 90e6 }, true],
    ['start 3 min apart', { startUtcUs: T0 + 180e6 }, false],
    ['another user', { userId: 'v' }, false],
    ['zone unknown, 2 h off (wall time read as UTC)', { offsetKnown: false, startUtcUs: T0 + 7200e6 + 30e6 }, true],
    ['zone unknown, 2 h 7 min off', { offsetKnown: false, startUtcUs: T0 + 7620e6 }, false],
    ['zone known, 2 h off', { startUtcUs: T0 + 7200e6 }, false],
    ['duration 5 % longer', { durationS: 3780 }, true],
    ['duration 20 % longer', { durationS: 4320 }, false],
    ['duration unknown', { durationS: null }, true],
    ['sport Running (TCX) vs RUNNING', { sport: 'Running' }, true],
    ['sport Biking vs RUNNING', { sport: 'Biking' }, false],
    ['sport Other', { sport: 'Other' }, true],
    ['sport unknown (HRM)', { sport: null }, true],
  ] as const)('matching > %s', (_name, over, expected) => {
    expect(matches(api, member({ exerciseId: 'imp-1', source: 'tcx', ...over }))).toBe(expected);
  });

  it('matching > sport families', () => {
    expect(compatibleSports('ROAD_BIKING', 'cycling')).toBe(true);
    expect(compatibleSports('TRAIL_RUNNING', 'running')).toBe(true);
    expect(compatibleSports('Biking,Running', 'RUNNING')).toBe(true);
    expect(compatibleSports('SWIMMING', 'RUNNING')).toBe(false);
  });
});

describe('jobs > exercise identity > registry', () => {
  it('registry > precedence decides the winner whatever the arrival order; source ids stay the first member\'s', async () => {
    const reg = await openIdentityRegistry({ stateDir: stateDir() });
    const hrm = member({ exerciseId: 'imp-h', source: 'hrm', offsetKnown: false, sport: null, rowsKey: 'k/hrm', samplesKey: 'k/hrm' });
    const first = await reg.resolve(hrm);
    expect(first.role).toBe('winner');
    const tcx = await reg.resolve(member({ exerciseId: 'imp-t', source: 'tcx', sport: 'Running', rowsKey: 'k/tcx', samplesKey: 'k/tcx' }));
    expect(tcx.role).toBe('winner');
    expect(reg.rowsKeyFor(tcx, 'rows')).toBe('k/hrm');
    expect(reg.rowsKeyFor(tcx, 'samples')).toBe('k/hrm');
    const api = await reg.resolve(member({}));
    expect(api.role).toBe('winner');
    expect(api.cluster.members.map((m) => m.exerciseId)).toEqual(['imp-h', 'imp-t', 'e']);
    expect((await reg.get('u', 'imp-t'))?.role).toBe('merged');
    expect((await reg.get('u', 'imp-h'))?.role).toBe('merged');
    const gpx = await reg.resolve(member({ exerciseId: 'imp-g', source: 'gpx', sport: null, rowsKey: 'k/gpx', samplesKey: 'k/gpx' }));
    expect(gpx).toMatchObject({ role: 'merged', winner: { exerciseId: 'e' } });
    // Idempotent: the same member again changes nothing.
    expect((await reg.resolve(hrm)).cluster.members).toHaveLength(4);
  });

  it('registry > persisted: a second process (or a restart) sees every member; a torn last line is dropped', async () => {
    const dir = stateDir();
    const a = await openIdentityRegistry({ stateDir: dir });
    const b = await openIdentityRegistry({ stateDir: dir });
    await a.resolve(member({ exerciseId: 'imp-1', source: 'fit' }));
    // b had read the file before a wrote: a miss makes it read on.
    expect((await b.get('u', 'imp-1'))?.member.source).toBe('fit');
    const { appendFileSync } = await import('node:fs');
    appendFileSync(a.file, '{"c":"u/x","m":{"userId"');
    const c = await openIdentityRegistry({ stateDir: dir });
    expect((await c.get('u', 'imp-1'))?.role).toBe('winner');
    expect(await c.get('u', 'x')).toBeUndefined();
  });
});
