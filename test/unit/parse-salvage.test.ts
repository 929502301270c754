/**
 * Issue 7, "salvage, don't reject": the real workouts that used to be dead-lettered whole for
 * one flaw now land with every point, equal to the independent reference reader's
 * (test/python/fidelity_reference.py), on every tokenizer; generated fixtures cover the same
 * flaws without the corpus.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TokenizerName } from '../../src/parse/index.ts';
import { QUALITY } from '../../src/parse/values.ts';
import { firstDifference, reference } from '../helpers/fidelity.ts';
import { CORPUS_DIR, HAVE_CORPUS, REPO_ROOT, collectFile, type Collected } from '../helpers/parse-corpus.ts';

const TOKENIZERS: TokenizerName[] = ['fast', 'saxes', 'sax'];

/** Parses on every tokenizer (XML) and checks each against the reference reader; returns the fast result. */
async function salvagedLikeTheReference(path: string, format: 'tcx' | 'gpx' | 'fit'): Promise<Collected> {
  const theirs = await reference(path, format);
  expect(theirs.error).toBeNull();
  let first: Collected | null = null;
  for (const tokenizer of format === 'fit' ? (['fast'] as const) : TOKENIZERS) {
    const ours = await collectFile(path, 'auto', { tokenizer });
    expect(ours.error, `${tokenizer}: ${ours.error?.message}`).toBeNull();
    expect(firstDifference('samples', ours.samples, theirs.samples), tokenizer).toBeNull();
    expect(firstDifference('laps', ours.laps, theirs.laps), tokenizer).toBeNull();
    expect(firstDifference('routes', ours.routes, theirs.routes), tokenizer).toBeNull();
    const { table: _table, ...counts } = theirs.file ?? {};
    expect(ours.info, tokenizer).toMatchObject(counts);
    first ??= ours;
  }
  return first!;
}

const flagged = (c: Collected, bit: number) => c.samples.filter((s) => (s.quality_flags & bit) !== 0).length;

describe('parse > salvage > generated fixtures', () => {
  const fixture = (p: string) => resolve(REPO_ROOT, 'test/fixtures', p);

  it('parse > salvage > keeps a TCX whose distances have decimal commas, read as decimal points', async () => {
    const c = await salvagedLikeTheReference(fixture('salvage/decimal-comma.tcx'), 'tcx');
    expect(c.samples.map((s) => [s.distance_m, s.quality_flags])).toEqual([[0, QUALITY.decimal_comma], [2.5, QUALITY.decimal_comma], [5, 0]]);
    expect(c.laps.map((l) => [l.total_time_s, l.distance_m])).toEqual([[3, 7.5]]);
    expect(c.info?.decimal_comma_count).toBe(4);
  });

  it('parse > salvage > keeps a TCX with `<LatitudeDegrees>no` (null, flagged) and a time stepping backwards (kept, flagged)', async () => {
    const c = await salvagedLikeTheReference(fixture('salvage/latitude-no.tcx'), 'tcx');
    expect(c.samples.map((s) => [s.latitude_deg, s.quality_flags])).toEqual([[60.1, 0], [null, QUALITY.value_unparseable], [60.1002, QUALITY.time_backwards]]);
  });

  it('parse > salvage > keeps a FIT whose record time steps backwards, flagged (FIT had no time-order rule)', async () => {
    const c = await salvagedLikeTheReference(fixture('fit/backwards.fit'), 'fit');
    expect(c.samples).toHaveLength(6);
    expect(c.samples.map((s) => s.quality_flags)).toEqual([0, 0, 0, 0, QUALITY.time_backwards, 0]);
    expect(c.info?.time_backwards_count).toBe(1);
    const strict = await collectFile(fixture('fit/backwards.fit'), 'auto', { timeOrder: 'reject' });
    expect(strict.error?.code).toBe('PL_PARSE_TIME_ORDER');
  });

  it('parse > salvage > puts a GPX rte (no times, a bad coordinate, a decimal comma) in routes, waypoints ignored', async () => {
    const c = await salvagedLikeTheReference(fixture('salvage/route-no-times.gpx'), 'gpx');
    expect(c.routes.map((r) => [r.route_index, r.point_index, r.time_utc_us === null, r.altitude_m, r.satellites, r.fix, r.name])).toEqual([
      [0, 0, true, 12.5, 7, 3, 'Loop'], [0, 1, true, 13.5, null, 2, 'Loop'], [1, 0, false, null, null, null, 'Back'],
    ]);
    expect(c.info).toMatchObject({ content: 'course', sample_count: 0, route_point_count: 3, dropped_point_count: 1, ignored_point_count: 1 });
  });

  it('parse > salvage > puts a course-only TCX in routes', async () => {
    const c = await salvagedLikeTheReference(fixture('tcx/course.tcx'), 'tcx');
    expect(c.routes).toHaveLength(2);
    expect(c.info).toMatchObject({ content: 'course', route_point_count: 2 });
  });
});

describe.skipIf(!HAVE_CORPUS)(`parse > salvage > corpus (${HAVE_CORPUS ? CORPUS_DIR : 'corpus folder absent: set POLAR_LAKE_CORPUS; skipped'})`, () => {
  const corpus = (p: string) => resolve(CORPUS_DIR, p);

  it('parse > salvage > keeps a Coros open-water swim TCX whose time steps backwards once: 2,870 points, one flagged', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('GoldenCheetah_GoldenCheetah/OWswim.tcx'), 'tcx');
    expect(c.samples).toHaveLength(2870);
    expect(flagged(c, QUALITY.time_backwards)).toBe(1);
  });

  it('parse > salvage > keeps a Sports Tracker GPX of 7,785 points whose time steps backwards, every backwards point flagged', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('sports-alliance_sports-lib/sports-tracker.gpx'), 'gpx');
    expect(c.samples).toHaveLength(7785);
    expect(flagged(c, QUALITY.time_backwards)).toBe(c.info?.time_backwards_count);
    expect(c.info?.time_backwards_count).toBeGreaterThan(0);
  });

  it('parse > salvage > keeps a Runkeeper GPX whose time steps backwards at the start, flagged', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('Runalyze_Runalyze/runkeeper-negative-time-step-at-start.gpx'), 'gpx');
    expect(c.samples).toHaveLength(1626);
    expect(flagged(c, QUALITY.time_backwards)).toBe(1);
  });

  it('parse > salvage > keeps a Sigma ROX TCX with a negative pause, its backwards step flagged', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('Runalyze_Runalyze/negative-pause.tcx'), 'tcx');
    expect(c.samples).toHaveLength(124);
    expect(flagged(c, QUALITY.time_backwards)).toBe(1);
  });

  it('parse > salvage > keeps a converter TCX written with decimal commas (`<DistanceMeters>0,000000`), read as points', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('epot_Polar2Strava/13121201.tcx'), 'tcx');
    expect(c.samples).toHaveLength(3020);
    expect(c.samples.filter((s) => s.distance_m === null)).toEqual([]);
    expect(c.info?.decimal_comma_count).toBeGreaterThan(6000);
  });

  it('parse > salvage > keeps a Fitbit TCX with `<LatitudeDegrees>no`, the value null and flagged', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('placemark_togeojson/bad.tcx'), 'tcx');
    expect(c.samples).toHaveLength(4);
    expect(flagged(c, QUALITY.value_unparseable)).toBeGreaterThan(0);
  });

  it('parse > salvage > puts a course-only TCX (Route-only.tcx) in routes instead of nowhere', { timeout: 180_000 }, async () => {
    const c = await salvagedLikeTheReference(corpus('Runalyze_Runalyze/Route-only.tcx'), 'tcx');
    expect(c.samples).toHaveLength(0);
    expect(c.routes).toHaveLength(11);
    expect(c.routes[0]!.name).toBe('route-only');
  });
});
