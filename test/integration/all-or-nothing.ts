/**
 * All or nothing per source file (issue 7), over a given bus: the parse and sink stages as the
 * pipeline runs them, a real raw zone and a real lake read through DuckDB views. Run by
 * issue-7-all-or-nothing-embedded.test.ts and issue-7-all-or-nothing-kafka.test.ts.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TOPICS, type Bus } from '../../src/bus/bus.ts';
import { createRawZone, rawKeyFor } from '../../src/lake/raw-zone.ts';
import { stagedSources, stagingDir } from '../../src/lake/staging.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { decodeEnvelope, encodeEnvelope, sourceIdFor, type DeadLetter, type FetchedEvent } from '../../src/records/envelope.ts';
import { createParseStage } from '../../src/stages/parse.ts';
import { createSinkStage } from '../../src/stages/sink.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { uniqueName } from '../contract/bus.contract.ts';
import { envelopesFor } from '../helpers/lake-rows.ts';

/** A TCX of `points` 1 Hz trackpoints in laps of 600, starting at `startIso`. */
export function tcxText(points: number, startIso = '2026-03-31T21:50:00Z'): string {
  const start = Date.parse(startIso);
  const laps: string[] = [];
  for (let lap = 0; lap * 600 < points; lap++) {
    const pts: string[] = [];
    for (let i = lap * 600; i < Math.min(points, (lap + 1) * 600); i++) {
      pts.push(`<Trackpoint><Time>${new Date(start + i * 1000).toISOString()}</Time><HeartRateBpm><Value>${100 + (i % 80)}</Value></HeartRateBpm><DistanceMeters>${(i * 2.5).toFixed(1)}</DistanceMeters></Trackpoint>`);
    }
    laps.push(`<Lap StartTime="${new Date(start + lap * 600_000).toISOString()}"><TotalTimeSeconds>600</TotalTimeSeconds><DistanceMeters>1500</DistanceMeters><Track>${pts.join('\n')}</Track></Lap>`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities><Activity Sport="Running"><Id>${startIso}</Id>\n${laps.join('\n')}\n</Activity></Activities></TrainingCenterDatabase>\n`;
}

/** The same TCX cut short in the middle of trackpoint `at` (a body that ended early). */
export function truncatedTcx(points: number, at: number): string {
  const text = tcxText(points);
  let pos = 0;
  for (let i = 0; i <= at; i++) pos = text.indexOf('<Trackpoint>', pos + 1);
  return text.slice(0, pos + 30);
}

const fetched = (userId: string, exerciseId: string, key: string): FetchedEvent => ({
  type: 'fetched', user_id: userId, exercise_id: exerciseId, payload: 'tcx', raw_key: key, bytes: 0, sha256: '',
  fetched_at_utc: '2026-04-01T00:00:00Z', utc_offset_min: 120, feeds_samples: true,
});

export type MakeStageBus = () => Promise<Bus>;

export function allOrNothingSuite(name: string, makeBus: MakeStageBus): void {
  describe(`sink > all or nothing per source > ${name}`, () => {
    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
      cleanup.length = 0;
    });

    async function setup() {
      const dir = mkdtempSync(join(tmpdir(), 'polar-lake-aon-'));
      cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
      const bus = await makeBus();
      cleanup.push(() => bus.close());
      return { dir, lake: join(dir, 'lake'), bus, raw: createRawZone(join(dir, 'lake')) };
    }

    async function count(lake: string, sql: string): Promise<number> {
      const db = await openLakeViews(lake);
      try {
        return Number((await db.conn.runAndReadAll(sql)).getRows()[0]?.[0]);
      } finally {
        db.close();
      }
    }

    async function runStages(bus: Bus, lake: string, raw: ReturnType<typeof createRawZone>, group: string): Promise<void> {
      const parse = createParseStage({ bus, rawZone: raw, logger: silentLogger, options: { batchRows: 256 }, group: `${group}-parse` });
      // Small flushes: a file's rows reach the sink over several commits, so they are staged.
      const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { flush_rows: 600, max_ack_delay_ms: 5, group: `${group}-sink` } });
      const p = await parse.start();
      const s = await sink.start();
      await p.drained();
      await s.drained();
      await p.stop();
      await sink.close();
    }

    it(`sink > ${name} > issue-7 partial rows: a TCX that breaks after 2,870 points leaves zero rows in samples and laps; its dead letter says why, where, and what was withdrawn; the next file lands whole`, async () => {
      const { lake, bus, raw } = await setup();
      const broken = rawKeyFor('u1', 'broken', 'tcx');
      const whole = rawKeyFor('u1', 'whole', 'tcx');
      await raw.put(broken, Buffer.from(truncatedTcx(4000, 2870)));
      await raw.put(whole, Buffer.from(tcxText(3100, '2026-04-02T08:00:00Z')));
      await bus.publish(TOPICS.fetched, [broken, whole].map((k, i) => ({ key: 'u1', value: encodeEnvelope(fetched('u1', i === 0 ? 'broken' : 'whole', k)) })));
      const group = uniqueName('aon');
      await runStages(bus, lake, raw, group);

      const brokenId = sourceIdFor(broken);
      expect(await count(lake, `SELECT count(*) FROM samples WHERE source_id = '${brokenId}'`)).toBe(0);
      expect(await count(lake, `SELECT count(*) FROM laps WHERE source_id = '${brokenId}'`)).toBe(0);
      expect(await count(lake, `SELECT count(*) FROM samples WHERE source_id = '${sourceIdFor(whole)}'`)).toBe(3100);
      expect(await count(lake, `SELECT count(DISTINCT (source_id, source_row)) FROM samples`)).toBe(3100);
      expect(await count(lake, `SELECT count(*) FROM laps`)).toBe(6);
      // Nothing staged is left behind: the abort discarded the broken file's staging, the whole file was promoted.
      for (const t of ['samples', 'laps'] as const) {
        expect(stagedSources(lake, t)).toBe(0);
        const d = stagingDir(lake, t);
        expect(existsSync(d) ? readdirSync(d) : []).toEqual([]);
      }

      const letters: DeadLetter[] = [];
      const sub = await bus.consume({ topics: [TOPICS.deadletter], group: uniqueName('dlq') }, async (b) => void letters.push(...b.messages.map((m) => decodeEnvelope(m.value) as DeadLetter)));
      await sub.drained();
      await sub.stop();
      expect(letters).toHaveLength(1);
      const letter = letters[0]!;
      expect(letter.raw_key).toBe(broken);
      expect(String(letter.error['code'])).toMatch(/^PL_PARSE_/);
      expect(letter.error['file']).toBe(broken);
      expect(letter.error['line']).toBeTypeOf('number');
      // Rows the parser had already published before the damage (in batches of 256), withdrawn.
      expect(letter.discarded_rows?.['samples']).toBeGreaterThanOrEqual(2560);
    });

    it(`sink > ${name} > a source cut off mid-way (parse crashed) stays invisible; its retry lands it exactly once; a topic replay changes nothing`, async () => {
      const { lake, bus } = await setup();
      // A workout crossing local midnight at a month end: rows in two partitions.
      const spec = { user_id: 'u2', exercise_id: 'e9', start_ms: Date.UTC(2026, 2, 31, 21, 45), utc_offset_min: 120, samples: 2000 };
      const envelopes = envelopesFor(spec, 250).filter((e) => e.table === 'samples');
      const publish = (list: typeof envelopes) => bus.publish(TOPICS.samples, list.map((e) => ({ key: e.user_id, value: encodeEnvelope(e) })));
      const sinkRun = async (group: string) => {
        const sink = createSinkStage({ bus, lakeRoot: lake, logger: silentLogger, options: { flush_rows: 500, max_ack_delay_ms: 5, group } });
        const s = await sink.start();
        await s.drained();
        await sink.close();
      };
      const group = uniqueName('sink');
      await publish(envelopes.slice(0, 5)); // 1,250 of 2,000 rows, then the parser died
      await sinkRun(group);
      expect(await count(lake, 'SELECT count(*) FROM samples')).toBe(0);
      expect(stagedSources(lake, 'samples')).toBe(1);
      await publish(envelopes); // the redelivered parse publishes the same batches from row 0
      await sinkRun(group);
      expect(await count(lake, 'SELECT count(*) FROM samples')).toBe(2000);
      expect(await count(lake, 'SELECT count(DISTINCT source_row) FROM samples')).toBe(2000);
      expect(await count(lake, "SELECT count(DISTINCT month) FROM samples")).toBe(2);
      expect(stagedSources(lake, 'samples')).toBe(0);
      await sinkRun(uniqueName('replay'));
      expect(await count(lake, 'SELECT count(*) FROM samples')).toBe(2000);
    });
  });
}
