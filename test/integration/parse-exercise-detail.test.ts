/**
 * The parse stage on the API's exercise detail: transactional samples and zones payloads
 * (placed in time by the exercise's summary, read from the raw zone), the listing's inline
 * series, zones and route, and bad input: the good parts land, one dead letter names the bad.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOPICS, type Bus } from '../../src/bus/bus.ts';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { createRawZone, rawKeyFor, type RawZone } from '../../src/lake/raw-zone.ts';
import { decodeEnvelope, encodeEnvelope, type DeadLetter, type FetchedEvent, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import type { TableName, TableRows } from '../../src/records/rows.ts';
import { createParseStage } from '../../src/stages/parse.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

const USER = '475';
const event = (exerciseId: string, payload: FetchedEvent['payload']): FetchedEvent => ({
  type: 'fetched', user_id: USER, exercise_id: exerciseId, payload, raw_key: rawKeyFor(USER, exerciseId, payload), bytes: 0, sha256: '',
  fetched_at_utc: '2026-01-01T00:00:00Z', utc_offset_min: -420, feeds_samples: false,
});
// 23:59:58 local at UTC-07:00 = 06:59:58Z the next day.
const START_MS = Date.UTC(2025, 5, 3, 6, 59, 58);
const summary = { id: 56, 'start-time': '2025-06-02T23:59:58', 'start-time-utc-offset': -420, duration: 'PT3S' };

async function rowsOf<T extends TableName>(bus: Bus, _table: T, topic: string): Promise<TableRows[T][]> {
  const out: TableRows[T][] = [];
  const sub = await bus.consume({ topics: [topic], group: `reader-${topic}` }, async (b) => {
    for (const m of b.messages) out.push(...(decodeEnvelope(m.value) as RecordBatchEnvelope<T>).rows);
  });
  await sub.drained();
  await sub.stop();
  return out;
}

async function letters(bus: Bus): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  const sub = await bus.consume({ topics: [TOPICS.deadletter], group: 'reader-dl' }, async (b) => void out.push(...b.messages.map((m) => decodeEnvelope(m.value) as DeadLetter)));
  await sub.drained();
  await sub.stop();
  return out;
}

describe('stages > parse > exercise detail', () => {
  let dir: string;
  let bus: EmbeddedBus;
  let raw: RawZone;
  afterEach(async () => {
    await bus?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const setup = () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-parse-detail-'));
    bus = new EmbeddedBus({ logger: silentLogger });
    raw = createRawZone(dir);
  };
  const run = async (events: FetchedEvent[]) => {
    await bus.publish(TOPICS.fetched, events.map((e) => ({ key: USER, value: encodeEnvelope(e) })));
    const stage = createParseStage({ bus, rawZone: raw, logger: silentLogger, options: { batchRows: 2 } });
    const sub = await stage.start();
    await sub.drained();
    await sub.stop();
    return stage;
  };

  it('transactional samples and zones: times from the summary in the raw zone, a bad series dead-lettered and the rest kept', async () => {
    setup();
    await raw.put(rawKeyFor(USER, '56', 'summary'), Buffer.from(JSON.stringify(summary)));
    await raw.put(rawKeyFor(USER, '56', 'samples'), Buffer.from(JSON.stringify({ samples: [
      { 'recording-rate': 1, 'sample-type': '0', data: '120,0,null' },
      { 'recording-rate': null, 'sample-type': '3', data: '10,11,12' },
      { 'recording-rate': null, 'sample-type': '11', data: '500,null,520' },
    ] })));
    await raw.put(rawKeyFor(USER, '56', 'zones'), Buffer.from(JSON.stringify({ zone: [{ index: 1, 'lower-limit': 95, 'upper-limit': 114, 'in-zone': 'PT2S' }] })));
    const stage = await run([event('56', 'samples'), event('56', 'zones')]);

    const series = await rowsOf(bus, 'exercise_series', TOPICS.exerciseSeries);
    expect(series.map((r) => [r.sample_type, new Date(r.time_utc_us / 1000).toISOString(), r.value, r.missing_reason, r.utc_offset_min])).toEqual([
      ['heart_rate', '2025-06-03T06:59:58.000Z', 120, null, -420],
      ['heart_rate', '2025-06-03T06:59:59.000Z', null, 'zero_sentinel', -420],
      ['heart_rate', '2025-06-03T07:00:00.000Z', null, 'null', -420],
    ]);
    const rr = await rowsOf(bus, 'rr_intervals', TOPICS.rrIntervals);
    expect(rr.map((r) => [r.beat_index, r.segment_index, r.time_utc_us / 1000 - START_MS, r.is_gap])).toEqual([[0, 0, 500, false], [1, 0, 500, true], [2, 1, 1020, false]]);
    const zones = await rowsOf(bus, 'hr_zones', TOPICS.hrZones);
    expect(zones).toEqual([{ user_id: USER, exercise_id: '56', zone_index: 1, lower_limit_bpm: 95, upper_limit_bpm: 114, in_zone_s: 2, start_time_utc_us: START_MS * 1000, utc_offset_min: -420 }]);
    const dl = await letters(bus);
    expect(dl.map((l) => [l.error['code'], l.raw_key])).toEqual([['PL_EXERCISE_DETAIL_INVALID', rawKeyFor(USER, '56', 'samples')]]);
    expect(String(dl[0]!.error['message'])).toMatch(/type 3\): no recording rate/);
    expect(stage.counters.rows.exercise_series).toBe(3);
  });

  it('a samples payload whose summary is not in the raw zone is dead-lettered, not retried forever', async () => {
    setup();
    await raw.put(rawKeyFor(USER, '57', 'samples'), Buffer.from(JSON.stringify({ samples: [{ 'recording-rate': 1, 'sample-type': '0', data: '1' }] })));
    await raw.put(rawKeyFor(USER, '58', 'summary'), Buffer.from(JSON.stringify(summary)));
    await raw.put(rawKeyFor(USER, '58', 'zones'), Buffer.from('{"zone": [ not json'));
    await run([event('57', 'samples'), event('58', 'zones')]);
    expect((await letters(bus)).map((l) => l.error['code'])).toEqual(['PL_PARSE_RAW_MISSING', 'PL_PARSE_BAD_EVENT']);
    expect(await rowsOf(bus, 'exercise_series', TOPICS.exerciseSeries)).toEqual([]);
  });

  it('a listed summary with inline samples, zones (snake_case) and route gives every table; a bad route point is reported after the rest', async () => {
    setup();
    const listed = {
      id: 'ymeoBNZw', start_time: '2025-06-02T23:59:58', start_time_utc_offset: 540, duration: 'PT2S',
      samples: [{ recording_rate: 1, sample_type: '1', data: '10.8,11.2' }],
      heart_rate_zones: [{ index: 1, lower_limit: 95, upper_limit: 114, in_zone: 'PT1S' }, { index: 2, 'lower-limit': 114, 'upper-limit': 133, 'in-zone': 'PT1S' }],
      route: [{ latitude: 35.67, longitude: 139.69, time: 'PT0S', satellites: 9, fix: 3 }, { latitude: null, longitude: 139.7 }, { latitude: 35.68, longitude: 139.7, time: 'PT1.5S' }],
    };
    await raw.put(rawKeyFor(USER, 'ymeoBNZw', 'summary'), Buffer.from(JSON.stringify(listed)));
    await run([event('ymeoBNZw', 'summary')]);
    const start = Date.UTC(2025, 5, 2, 14, 59, 58) * 1000;
    expect((await rowsOf(bus, 'exercises', TOPICS.exercises)).map((r) => r.start_time_utc_us)).toEqual([start]);
    expect((await rowsOf(bus, 'exercise_series', TOPICS.exerciseSeries)).map((r) => [r.sample_type, r.value, r.time_utc_us - start])).toEqual([['speed', 10.8, 0], ['speed', 11.2, 1_000_000]]);
    expect((await rowsOf(bus, 'hr_zones', TOPICS.hrZones)).map((r) => [r.zone_index, r.lower_limit_bpm, r.in_zone_s])).toEqual([[1, 95, 1], [2, 114, 1]]);
    expect((await rowsOf(bus, 'routes', TOPICS.routes)).map((r) => [r.point_index, r.time_utc_us === null ? null : r.time_utc_us - start, r.utc_offset_min])).toEqual([[0, 0, 540], [2, 1_500_000, 540]]);
    expect((await letters(bus)).map((l) => l.error['code'])).toEqual(['PL_EXERCISE_DETAIL_INVALID']);
  });
});
