import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOPICS } from '../../src/bus/bus.ts';
import { EmbeddedBus } from '../../src/bus/embedded.ts';
import { createRawZone, rawKeyFor } from '../../src/lake/raw-zone.ts';
import { encodeEnvelope, type DeadLetter, type FetchedEvent, type RecordBatchEnvelope } from '../../src/records/envelope.ts';
import { createParseStage } from '../../src/stages/parse.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { collect } from '../helpers/bus-collect.ts';

const event = (key: string, payload: FetchedEvent['payload'], feeds = true): FetchedEvent => ({
  type: 'fetched', user_id: '7', exercise_id: 'e1', payload, raw_key: key, bytes: 0, sha256: '',
  fetched_at_utc: '2026-01-01T00:00:00Z', utc_offset_min: 60, feeds_samples: feeds,
});

describe('stages > parse', () => {
  let dir: string;
  let bus: EmbeddedBus;
  afterEach(async () => {
    await bus?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams a TCX into ordered batches with offsets, the last one marked, and skips a payload that does not feed samples', async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-parse-'));
    bus = new EmbeddedBus({ logger: silentLogger });
    const raw = createRawZone(dir);
    const points = Array.from({ length: 5 }, (_, i) => `<Trackpoint><Time>2026-01-01T10:00:0${i}Z</Time><HeartRateBpm><Value>${100 + i}</Value></HeartRateBpm></Trackpoint>`).join('');
    const tcx = `<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities><Activity Sport="Running"><Id>2026-01-01T10:00:00Z</Id><Lap StartTime="2026-01-01T10:00:00Z"><TotalTimeSeconds>5</TotalTimeSeconds><Track>${points}</Track></Lap></Activity></Activities></TrainingCenterDatabase>`;
    const tcxKey = rawKeyFor('7', 'e1', 'tcx');
    const gpxKey = rawKeyFor('7', 'e1', 'gpx');
    await raw.put(tcxKey, Buffer.from(tcx));
    await raw.put(gpxKey, Buffer.from('<gpx/>'));
    await bus.publish(TOPICS.fetched, [{ key: '7', value: encodeEnvelope(event(tcxKey, 'tcx')) }, { key: '7', value: encodeEnvelope(event(gpxKey, 'gpx', false)) }]);
    const stage = createParseStage({ bus, rawZone: raw, logger: silentLogger, options: { batchRows: 2 } });
    const sub = await stage.start();
    await sub.drained();
    await sub.stop();
    const batches = (await collect(bus, TOPICS.samples)) as RecordBatchEnvelope<'samples'>[];
    expect(batches.map((b) => [b.row_offset, b.rows.length, b.last])).toEqual([[0, 2, false], [2, 2, false], [4, 1, true]]);
    expect(new Set(batches.map((b) => b.source_id)).size).toBe(1);
    expect(batches.flatMap((b) => b.rows.map((r) => r.heart_rate_bpm))).toEqual([100, 101, 102, 103, 104]);
    expect(stage.counters.sources).toBe(1); // the GPX does not feed samples: never opened
  });

  it('dead-letters an event whose raw object is missing instead of retrying it forever', async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-parse-'));
    bus = new EmbeddedBus({ logger: silentLogger });
    const missing = rawKeyFor('7', 'gone', 'tcx');
    const missingSummary = rawKeyFor('7', 'gone', 'summary');
    await bus.publish(TOPICS.fetched, [missing, missingSummary].map((k) => ({ key: '7', value: encodeEnvelope(event(k, k.includes('summary') ? 'summary' : 'tcx')) })));
    const stage = createParseStage({ bus, rawZone: createRawZone(dir), logger: silentLogger });
    const sub = await stage.start();
    await sub.drained();
    await sub.stop();
    const letters = (await collect(bus, TOPICS.deadletter)) as DeadLetter[];
    expect(letters.map((l) => [l.raw_key, l.error['code']])).toEqual([[missing, 'PL_PARSE_RAW_MISSING'], [missingSummary, 'PL_PARSE_RAW_MISSING']]);
  });
});
