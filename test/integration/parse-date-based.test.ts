import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOPICS } from '../../src/bus/bus.ts';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { createRawZone, rawDailyKeyFor } from '../../src/lake/raw-zone.ts';
import { encodeEnvelope, type DailyKind, type DeadLetter, type FetchedEvent, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import { dateBasedTopic } from '../../src/records/rows-date-based.ts';
import { createParseStage } from '../../src/stages/parse.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { collect } from '../helpers/bus-collect.ts';

const event = (kind: DailyKind, date: string): FetchedEvent => ({
  type: 'fetched', user_id: '7', exercise_id: date, payload: kind, date, raw_key: rawDailyKeyFor('7', kind, date), bytes: 0, sha256: '',
  fetched_at_utc: '2026-01-01T00:00:00Z', utc_offset_min: null, feeds_samples: false,
});

describe('stages > parse > date-based', () => {
  let dir: string;
  let bus: EmbeddedBus;
  afterEach(async () => {
    await bus?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stages > parse > date-based > bad days are dead-lettered with PL_DAILY_INVALID and where; good days flow; big series go in 4096-row batches', async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-parse-daily-'));
    bus = new EmbeddedBus({ logger: silentLogger });
    const raw = createRawZone(dir);
    const put = (kind: DailyKind, date: string, body: unknown) => raw.put(rawDailyKeyFor('7', kind, date), Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
    // A dense device: a sample every 8 s for a whole day (10,800 rows).
    const dense = Array.from({ length: 86_400 / 8 }, (_, i) => {
      const s = i * 8;
      const hh = String(Math.floor(s / 3600)).padStart(2, '0');
      const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
      const ss = String(s % 60).padStart(2, '0');
      return { heart_rate: 60 + (i % 30), sample_time: `${hh}:${mm}:${ss}` };
    });
    await put('continuous_heart_rate', '2026-01-15', { date: '2026-01-15', heart_rate_samples: dense });
    await put('sleep', '2026-01-15', { date: '2026-01-15', sleep_start_time: '2026-01-14T23:00:00+01:00', hypnogram: { '23:00': 2, 'late': 3 } });
    await put('ecg', '2026-01-15', [{ test_time: 'noon', samples: [] }]);
    await put('cardio_load', '2026-01-15', '{"date": "2026-01-15", "cardio_load": ');
    await put('spo2', '2026-01-15', [{ test_time: 1768478400, time_zone_offset: 60, blood_oxygen_percent: 97 }]);
    await bus.publish(TOPICS.fetched, (['continuous_heart_rate', 'sleep', 'ecg', 'cardio_load', 'spo2'] as const).map((k) => ({ key: '7', value: encodeEnvelope(event(k, '2026-01-15')) })));
    // An event naming a day that is not in the raw zone (a topic replayed against another lake).
    await bus.publish(TOPICS.fetched, [{ key: '7', value: encodeEnvelope(event('skin_temperature', '2026-01-16')) }]);

    const stage = createParseStage({ bus, rawZone: raw, logger: silentLogger });
    const sub = await stage.start();
    await sub.drained();
    await sub.stop();

    const letters = (await collect(bus, TOPICS.deadletter)) as DeadLetter[];
    expect(letters.map((l) => [l.raw_key.split('/')[2], l.error['code'], l.error['field'] ?? null])).toEqual([
      ['sleep', 'PL_DAILY_INVALID', 'hypnogram'],
      ['ecg', 'PL_DAILY_INVALID', 'test_time'],
      ['cardio_load', 'PL_PARSE_BAD_EVENT', null],
      ['skin_temperature', 'PL_PARSE_RAW_MISSING', null],
    ]);
    // Abort markers of the bad days (all or nothing per source: they discard nothing here) aside.
    const hr = ((await collect(bus, dateBasedTopic('continuous_heart_rate'))) as RecordBatchEnvelope<'continuous_heart_rate'>[]).filter((b) => !b.aborted);
    expect(hr.map((b) => [b.row_offset, b.rows.length, b.last])).toEqual([[0, 4096, false], [4096, 4096, false], [8192, 2608, true]]);
    expect(new Set(hr.map((b) => b.source_id)).size).toBe(1);
    const spo2 = (await collect(bus, dateBasedTopic('spo2'))) as RecordBatchEnvelope<'spo2'>[];
    expect(spo2.flatMap((b) => b.rows.map((r) => r.blood_oxygen_percent))).toEqual([97]);
    expect(stage.counters.deadLettered).toBe(4);
  });
});
