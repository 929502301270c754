/**
 * The format rules on small hand-written fixtures (no corpus needed), and the golden JSONL
 * of each fixture: UPDATE_GOLDEN=1 rewrites test/golden/, the git diff is the review.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TokenizerName, detectFormat } from '../../src/parse/index.ts';
import { REPO_ROOT, collectFile, type Collected } from '../helpers/parse-corpus.ts';

const FIXTURES = resolve(REPO_ROOT, 'test/fixtures');
const fixture = (p: string) => resolve(FIXTURES, p);

function sortedJson(value: object): string {
  return JSON.stringify(value, Object.keys(value).sort());
}

function toJsonl(c: Collected, file: string): string {
  const lines: string[] = [];
  for (const r of c.samples) lines.push(sortedJson({ table: 'samples', ...r }));
  for (const r of c.laps) lines.push(sortedJson({ table: 'laps', ...r }));
  for (const r of c.routes) lines.push(sortedJson({ table: 'routes', ...r }));
  if (c.info) lines.push(sortedJson({ table: 'file', ...c.info, file, fields_present: c.info.fields_present.join(',') }));
  return lines.join('\n') + '\n';
}

describe('parse > tcx', () => {
  it('parse > tcx > laps, trackpoint fields, TPX with and without prefix, creator', async () => {
    const r = await collectFile(fixture('tcx/two-laps.tcx'));
    expect(r.error).toBeNull();
    expect(r.samples).toHaveLength(4);
    expect(r.laps.map((l) => [l.lap_index, l.trigger_method, l.intensity, l.avg_cadence_rpm, l.avg_power_w, l.avg_heart_rate_bpm])).toEqual([
      [0, 'Distance', 'Active', 85, 240, 121],
      [1, 'Manual', 'Resting', 80, null, null],
    ]);
    const [a, b, c] = r.samples;
    expect(a).toMatchObject({ time_utc_us: Date.UTC(2024, 4, 1, 6) * 1000, latitude_deg: 60.1699, heart_rate_bpm: 118, speed_mps: 3.1, power_w: 250, cadence_rpm: 84, sensor_state: 'Present', lap_index: 0 });
    // +02:00 local time is the same instant as 06:00:02.5Z, and the offset is kept.
    expect(b).toMatchObject({ time_utc_us: Date.UTC(2024, 4, 1, 6, 0, 2, 500) * 1000, utc_offset_min: 120, speed_mps: 3.2, cadence_rpm: 86 });
    expect(c).toMatchObject({ lap_index: 1, cadence_rpm: 80, sensor_state: 'Absent' });
    expect(r.info).toMatchObject({ creator_name: 'Polar Vantage V2', creator_version: '5.1.0.0', author_name: 'Polar Flow Mobile Viewer', dropped_point_count: 1, content: 'activity', sport: 'Running' });
  });

  it('parse > tcx > multi-sport session: one activity per sport, transition skipped', async () => {
    const r = await collectFile(fixture('tcx/multisport.tcx'));
    expect(r.samples.map((s) => [s.activity_index, s.lap_index, s.heart_rate_bpm])).toEqual([[0, 0, 100], [0, 0, 101], [1, 0, 130]]);
    expect(r.samples[0]!.power_w).toBe(180);
    expect(r.info).toMatchObject({ activity_count: 2, sport: 'Biking,Running', ignored_point_count: 1 });
  });

  it('parse > tcx > a course file puts its points in routes, not samples; a workouts file gives a clear, empty result', async () => {
    const course = await collectFile(fixture('tcx/course.tcx'));
    expect(course.samples).toHaveLength(0);
    expect(course.info).toMatchObject({ content: 'course', route_point_count: 2, ignored_point_count: 0 });
    expect(course.routes.map((r) => [r.source_format, r.route_index, r.point_index, r.time_utc_us, r.latitude_deg, r.longitude_deg, r.name])).toEqual([
      ['tcx', 0, 0, Date.UTC(2024, 0, 1) * 1000, 1, 2, 'Loop'],
      ['tcx', 0, 1, Date.UTC(2024, 0, 1, 0, 1) * 1000, 1.001, 2, 'Loop'],
    ]);
    const workouts = await collectFile(fixture('tcx/workouts.tcx'));
    expect(workouts.info).toMatchObject({ content: 'workouts', sample_count: 0 });
  });

  it('parse > tcx > sax tokenizer gives the same rows as saxes', async () => {
    for (const f of ['tcx/two-laps.tcx', 'tcx/multisport.tcx', 'gpx/tracks-1.1.gpx']) {
      const a = await collectFile(fixture(f), 'auto', { tokenizer: 'saxes' });
      const b = await collectFile(fixture(f), 'auto', { tokenizer: 'sax' });
      expect(b.samples).toEqual(a.samples);
      expect(b.laps).toEqual(a.laps);
    }
  });
});

describe('parse > gpx', () => {
  it('parse > gpx > segments, extensions of every namespace, waypoints ignored, routes in routes', async () => {
    const r = await collectFile(fixture('gpx/tracks-1.1.gpx'));
    expect(r.error).toBeNull();
    expect(r.samples.map((s) => [s.segment_index, s.heart_rate_bpm, s.cadence_rpm, s.temperature_c, s.power_w])).toEqual([
      [0, 110, 85, 18.5, 210],
      [0, 111, 86, 18.4, 215],
      [1, 120, null, null, null],
    ]);
    expect(r.samples[0]!.speed_mps).toBe(7.5);
    expect(r.samples[1]!.distance_m).toBe(7.6);
    expect(r.samples[1]!.time_utc_us).toBe(Date.UTC(2024, 6, 1, 5, 0, 1, 250) * 1000);
    expect(r.samples[2]).toMatchObject({ altitude_m: null, utc_offset_min: 180, time_utc_us: Date.UTC(2024, 6, 1, 5, 1) * 1000 });
    expect(r.info).toMatchObject({ ignored_point_count: 1, route_point_count: 2, dropped_point_count: 1, sport: 'cycling', creator_name: 'Polar Flow', author_name: 'Polar' });
    expect(r.routes.map((p) => [p.route_index, p.point_index, p.latitude_deg, p.longitude_deg, p.time_utc_us])).toEqual([[0, 0, 60.1, 24.9, null], [0, 1, 60.2, 24.9, null]]);
  });

  it('parse > gpx > 1.0 with speed in the trkpt and zone-less times', async () => {
    const r = await collectFile(fixture('gpx/polar-websync-1.0.gpx'));
    expect(r.samples.map((s) => [s.time_utc_us, s.speed_mps, s.altitude_m])).toEqual([
      [Date.UTC(2012, 0, 4, 17) * 1000, 2.5, 5],
      [Date.UTC(2012, 0, 4, 17, 0, 1) * 1000, 2.6, 5.5],
    ]);
  });
});

describe('parse > fit', () => {
  it('parse > fit > records, laps, pause segments, running dynamics, local offset', async () => {
    const r = await collectFile(fixture('fit/run.fit'));
    expect(r.error).toBeNull();
    expect(r.samples.map((s) => [s.lap_index, s.segment_index])).toEqual([[0, 0], [0, 0], [0, 0], [1, 1], [1, 1], [1, 1]]);
    expect(r.samples[3]).toMatchObject({ vertical_oscillation_mm: 85.5, stance_time_ms: 240.5, step_length_mm: 1150, left_right_balance_pct: 51, utc_offset_min: 120, power_w: 253 });
    expect(r.samples[0]!.latitude_deg).toBeCloseTo((717900000 * 180) / 2 ** 31, 12);
    expect(r.laps.map((l) => l.trigger_method)).toEqual(['distance', 'session_end']);
    expect(r.info).toMatchObject({ creator_name: 'Polar Test', creator_version: '2.5', sport: 'running' });
  });

  it('parse > fit > chained files read as one, a session per activity', async () => {
    const r = await collectFile(fixture('fit/chained.fit'));
    expect(r.samples).toHaveLength(12);
    expect(new Set(r.samples.map((s) => s.activity_index))).toEqual(new Set([0, 1]));
    expect(r.laps.map((l) => [l.activity_index, l.lap_index])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1]]);
  });
});

describe('parse > detect', () => {
  it('parse > detect > by bytes first, file name only when the bytes cannot tell', () => {
    expect(detectFormat(readFileSync(fixture('tcx/two-laps.tcx')), 'x.gpx')).toBe('tcx');
    expect(detectFormat(readFileSync(fixture('gpx/tracks-1.1.gpx')))).toBe('gpx');
    expect(detectFormat(readFileSync(fixture('fit/run.fit')))).toBe('fit');
    expect(detectFormat(Buffer.from('<!DOCTYPE html><html><body>502</body></html>'), 'a.tcx')).toBe('unknown');
    expect(detectFormat(Buffer.from('{"error": 1}'), 'a.tcx')).toBe('unknown');
    expect(detectFormat(Buffer.from('<?xml version="1.0"?>'), 'a.gpx')).toBe('gpx');
  });
});

describe('parse > golden', () => {
  const dirs = ['tcx', 'gpx', 'fit', 'salvage'];
  for (const dir of dirs) {
    for (const name of readdirSync(resolve(FIXTURES, dir)).filter((n) => /\.(tcx|gpx|fit)$/.test(n))) {
      // XML fixtures must give the same golden bytes on every tokenizer.
      const tokenizers: (TokenizerName | undefined)[] = dir === 'fit' ? [undefined] : ['fast', 'saxes', 'sax'];
      it.each(tokenizers)(`parse > golden > ${dir}/${name} (%s)`, async (tokenizer) => {
        const r = await collectFile(fixture(`${dir}/${name}`), 'auto', tokenizer === undefined ? {} : { tokenizer });
        expect(r.error).toBeNull();
        const actual = toJsonl(r, `${dir}/${name}`);
        const goldenPath = resolve(REPO_ROOT, 'test/golden', dir, name.replace(/\.\w+$/, '.jsonl'));
        if ((process.env['UPDATE_GOLDEN'] === '1' && (tokenizer === undefined || tokenizer === 'saxes')) || !existsSync(goldenPath)) {
          mkdirSync(dirname(goldenPath), { recursive: true });
          writeFileSync(goldenPath, actual);
        }
        expect(actual).toBe(readFileSync(goldenPath, 'utf8'));
      });
    }
  }
});
