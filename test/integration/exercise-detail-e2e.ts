/**
 * End to end for the API's own exercise data (issue 8, exercise side), written once and run
 * over both buses and both exercise channels: simulator → fetch → raw zone → parse → sink →
 * DuckDB. The lake must hold every committed (or listed) exercise's sample series, RR
 * intervals (strap users only), heart-rate zones and, in the listing channel, route points,
 * once each; and the API series must agree with the file (TCX or FIT) at matching seconds.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { hashedExerciseId } from '../../src/simulator/exercises.ts';
import { startSimulator, type SimulatedExercise, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

export interface DetailRunOptions {
  readonly channel: 'transactional' | 'listing';
  /** FIT files served (and preferred over TCX as the samples feeder). @default false */
  readonly fitFiles?: boolean;
}

type Row = Record<string, unknown>;

async function query(lakeDir: string, sql: string): Promise<Row[]> {
  const db = await openLakeViews(lakeDir);
  try {
    const rows = (await db.conn.runAndReadAll(sql)).getRowObjectsJS();
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    db.close();
  }
}

/** Counts and a checksum per detail table: what must not change on a second sweep or a replay. */
async function detailFacts(lakeDir: string): Promise<Row> {
  const [row] = await query(lakeDir, `SELECT
      (SELECT count(*) FROM exercise_series) AS series, (SELECT count(DISTINCT (exercise_id, sample_type_id, sample_index)) FROM exercise_series) AS series_keys,
      (SELECT coalesce(sum(hash(exercise_id, sample_type, time_utc, value)), 0)::VARCHAR FROM exercise_series) AS series_hash,
      (SELECT count(*) FROM rr_intervals) AS rr, (SELECT coalesce(sum(hash(exercise_id, beat_index, time_utc, interval_ms)), 0)::VARCHAR FROM rr_intervals) AS rr_hash,
      (SELECT count(*) FROM hr_zones) AS zones, (SELECT count(*) FROM routes) AS routes,
      (SELECT coalesce(sum(hash(exercise_id, point_index, time_utc, latitude_deg)), 0)::VARCHAR FROM routes) AS routes_hash`);
  return row!;
}

export function exerciseDetailE2E(busName: string, brokers: () => string[] | null, run: DetailRunOptions): void {
  describe(`pipeline > exercise detail > ${run.channel} channel > ${busName} bus`, () => {
    let sim: Simulator;
    let dir: string;
    let base: Omit<AppOptions, 'groupPrefix'>;
    let app: App;
    let delivered: SimulatedExercise[];
    const prefix = `test-${randomBytes(4).toString('hex')}`;
    /** The id the lake uses: numeric in the transactional channel, hashed in the listing. */
    const idOf = (e: SimulatedExercise) => (run.channel === 'listing' ? hashedExerciseId(e.exerciseId) : e.exerciseId);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'polar-lake-detail-'));
      // Twelve exercises cover every simulated variant: strap or not, zones or not, indoor and
      // outdoor, null and 0 heart-rate gaps, east and west of UTC, one ending after local midnight.
      sim = await startSimulator({ seed: 23, users: 3, exercisesPerUser: 4, durationRangeS: [120, 300], fitFiles: run.fitFiles ?? false });
      base = {
        lakeDir: join(dir, 'lake'),
        stateDir: join(dir, 'state'),
        kafkaBrokers: brokers(),
        topicPrefix: `${prefix}.`,
        pipeline: pipelineFromObject({ version: 1, name: 'detail', fetch: { exercise_channel: run.channel, daily: [] }, sink: { idle_flush_secs: 1 } }, 'detail'),
        logger: silentLogger,
        accesslink: accessLinkSettings(sim),
      };
      app = await createApp({ ...base, groupPrefix: `${prefix}-main` });
      await enrolAll(app, sim);
      await app.startConsumers();
      const report = await app.runOnce();
      expect(report.errorsByCode).toEqual({});
      delivered = run.channel === 'listing' ? sim.pendingExercises() : sim.committedExercises();
      expect(delivered).toHaveLength(12);
    });

    afterAll(async () => {
      await app?.close();
      await sim?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('exercise_series holds a heart-rate value per second of every exercise, and each series once', async () => {
      const rows = await query(base.lakeDir, `SELECT exercise_id, count(*) AS n, min(time_utc) = any_value(e.start_time_utc) AS starts_at_start
        FROM exercise_series s JOIN exercises e USING (user_id, exercise_id) WHERE sample_type = 'heart_rate' GROUP BY exercise_id`);
      const byId = new Map(rows.map((r) => [String(r['exercise_id']), r]));
      for (const e of delivered) {
        expect(byId.get(idOf(e))?.['n'], idOf(e)).toBe(e.trackpoints);
        expect(byId.get(idOf(e))?.['starts_at_start']).toBe(true);
      }
      const facts = await detailFacts(base.lakeDir);
      expect(facts['series_keys']).toBe(facts['series']);
      const types = await query(base.lakeDir, `SELECT DISTINCT sample_type, unit FROM exercise_series ORDER BY 1`);
      expect(types.map((t) => t['sample_type'])).toEqual(expect.arrayContaining(['altitude', 'distance', 'heart_rate', 'running_cadence', 'speed']));
      expect(types.find((t) => t['sample_type'] === 'speed')?.['unit']).toBe('km/h');
      expect(app.parse.counters.deadLettered).toBe(0);
    });

    it('time zones > local dates follow each exercise\'s offset, east and west of UTC, and roll over at local midnight', async () => {
      const [wrong] = await query(base.lakeDir, `SELECT count(*) AS n FROM exercise_series
        WHERE local_date <> CAST(time_utc AT TIME ZONE 'UTC' + to_minutes(utc_offset_min) AS DATE)`);
      expect(wrong!['n']).toBe(0);
      const spans = await query(base.lakeDir, `SELECT exercise_id, any_value(utc_offset_min) AS off FROM exercise_series GROUP BY 1 HAVING count(DISTINCT local_date) > 1`);
      // Every fourth simulated workout ends after local midnight: one per user here.
      expect(spans.length).toBeGreaterThanOrEqual(sim.accounts.length);
      const offsets = (await query(base.lakeDir, `SELECT DISTINCT utc_offset_min AS off FROM exercise_series`)).map((r) => Number(r['off']));
      expect(offsets.some((o) => o > 0) && offsets.some((o) => o < 0)).toBe(true);
    });

    it('missing heart-rate values are flagged as Polar sent them: null entries and 0 sentinels', async () => {
      const rows = await query(base.lakeDir, `SELECT missing_reason, count(*) AS n, count(value) AS with_value FROM exercise_series
        WHERE sample_type = 'heart_rate' AND missing_reason IS NOT NULL GROUP BY 1 ORDER BY 1`);
      expect(rows.map((r) => r['missing_reason'])).toEqual(['null', 'zero_sentinel']);
      expect(rows.every((r) => r['with_value'] === 0)).toBe(true);
    });

    it('rr_intervals exist exactly for strap exercises: beats sum to about the duration, gaps split segments', async () => {
      const rows = await query(base.lakeDir, `SELECT exercise_id, count(*) FILTER (WHERE NOT is_gap) AS beats, count(*) FILTER (WHERE is_gap) AS gaps,
        max(segment_index) AS last_segment, sum(interval_ms) AS total_ms,
        (epoch_ms(max(time_utc)) - epoch_ms(any_value(e.start_time_utc)))::DOUBLE AS span_ms
        FROM rr_intervals r JOIN exercises e USING (user_id, exercise_id) GROUP BY exercise_id`);
      const byId = new Map(rows.map((r) => [String(r['exercise_id']), r]));
      const straps = delivered.filter((e) => e.hasStrap);
      expect(straps.length).toBeGreaterThan(0);
      expect([...byId.keys()].sort()).toEqual(straps.map(idOf).sort());
      for (const e of straps) {
        const r = byId.get(idOf(e))!;
        expect(r['last_segment']).toBe(r['gaps']);
        expect(r['span_ms']).toBe(r['total_ms']);
        // Only the seconds the sensor was off are missing from the sum.
        expect(Number(r['total_ms'])).toBeLessThanOrEqual(e.durationS * 1000);
        expect(Number(r['total_ms'])).toBeGreaterThan(e.durationS * 1000 - 12_000);
      }
    });

    it('hr_zones hold five zones per exercise with zone info, none without, in-zone time within the duration', async () => {
      const rows = await query(base.lakeDir, `SELECT exercise_id, count(*) AS n, sum(in_zone_s) AS s, min(zone_index) AS lo, max(zone_index) AS hi FROM hr_zones GROUP BY 1`);
      const byId = new Map(rows.map((r) => [String(r['exercise_id']), r]));
      expect(delivered.some((e) => !e.hasZones)).toBe(true);
      for (const e of delivered) {
        const r = byId.get(idOf(e));
        if (!e.hasZones) {
          expect(r).toBeUndefined();
          continue;
        }
        expect(r).toMatchObject({ n: 5, lo: 1, hi: 5 });
        expect(Number(r!['s'])).toBeLessThanOrEqual(e.durationS);
      }
    });

    it('consistency > the API heart-rate series and the file agree at every matching second', async () => {
      const [row] = await query(base.lakeDir, `SELECT count(*) AS matched, count(*) FILTER (WHERE s.heart_rate_bpm <> x.value) AS disagree,
        count(DISTINCT x.exercise_id) AS exercises
        FROM exercise_series x JOIN samples s USING (user_id, exercise_id, time_utc)
        WHERE x.sample_type = 'heart_rate' AND x.value IS NOT NULL AND s.heart_rate_bpm IS NOT NULL`);
      // Every file the simulator serves (TCX, GPX's TrackPointExtension, FIT) carries heart rate.
      const withFile = delivered.filter((e) => e.hasTcx || e.hasGpx || e.hasFit);
      expect(row!['disagree']).toBe(0);
      expect(row!['exercises']).toBe(withFile.length);
      expect(Number(row!['matched'])).toBeGreaterThan(0.95 * withFile.reduce((n, e) => n + e.trackpoints, 0));
    });

    if (run.channel === 'listing') {
      it('routes hold one point per second of every outdoor exercise (source api), and agree with the file positions', async () => {
        const rows = await query(base.lakeDir, `SELECT exercise_id, count(*) AS n, bool_and(source_format = 'api' AND route_index = 0) AS api FROM routes GROUP BY 1`);
        const byId = new Map(rows.map((r) => [String(r['exercise_id']), r]));
        for (const e of delivered) {
          if (e.indoor) expect(byId.has(idOf(e))).toBe(false);
          else expect(byId.get(idOf(e))).toMatchObject({ n: e.trackpoints, api: true });
        }
        const [far] = await query(base.lakeDir, `SELECT count(*) AS matched, max(abs(r.latitude_deg - s.latitude_deg) + abs(r.longitude_deg - s.longitude_deg)) AS worst
          FROM routes r JOIN samples s USING (user_id, exercise_id, time_utc) WHERE s.latitude_deg IS NOT NULL`);
        expect(Number(far!['matched'])).toBeGreaterThan(0);
        expect(Number(far!['worst'])).toBeLessThan(1e-6);
      });
    } else {
      it('routes: the transactional channel has no route endpoint, so no API route rows (the GPX is the route)', async () => {
        expect((await detailFacts(base.lakeDir))['routes']).toBe(0);
      });
    }

    it('a second sweep and a replay from the raw zone change nothing', async () => {
      const before = await detailFacts(base.lakeDir);
      const report = await app.runOnce();
      expect(report.payloadsStored).toBe(0);
      expect(await detailFacts(base.lakeDir)).toEqual(before);
      expect(await app.replayRawZone()).toBeGreaterThan(0);
      await app.drain();
      expect(await detailFacts(base.lakeDir)).toEqual(before);
    });
  });
}
