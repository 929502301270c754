/**
 * The end-to-end suite, written once and run over both buses (pipeline-e2e-embedded.test.ts,
 * pipeline-e2e-kafka.test.ts): simulator → OAuth enrolment → fetch → parse → sink → DuckDB.
 * It proves the "done when": the lake holds exactly the trackpoints of the exercises
 * the simulator saw committed, once each, and replays (raw zone and topic) change nothing.
 * Daily tables (issue 4): daily_activity and sleep hold one row per simulated (user, local
 * date), a re-synced day replaces its row, and local dates are right east and west of UTC.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { loadTableSchema } from '../../src/lake/schema.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { DATE_BASED_TABLES } from '../../src/records/rows-date-based.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

export interface LakeFacts {
  samples: number;
  distinctSampleKeys: number;
  exercises: number;
  exerciseIds: string[];
  laps: number;
  dailyActivity: number;
  sleep: number;
  checksum: string;
  /** Over daily_activity and sleep values. */
  dailyChecksum: string;
  /** Per night, heart and biosensing table: rows, and rows with a distinct natural key (equal: nothing doubled). */
  dateBased: Record<string, { rows: number; keys: number }>;
}

export async function lakeFacts(lakeDir: string): Promise<LakeFacts> {
  const db = await openLakeViews(lakeDir);
  try {
    const one = async (sql: string) => (await db.conn.runAndReadAll(sql)).getRowObjectsJS()[0] as Record<string, unknown>;
    const s = await one(`SELECT count(*) AS n, count(DISTINCT (user_id, exercise_id, time_utc)) AS d,
      coalesce(sum(hash(user_id, exercise_id, time_utc, latitude_deg, heart_rate_bpm, distance_m)), 0)::VARCHAR AS h FROM samples`);
    const e = await one(`SELECT count(*) AS n, coalesce(sum(hash(exercise_id, start_time_utc, duration_s)), 0)::VARCHAR AS h,
      list(exercise_id ORDER BY exercise_id) AS ids FROM exercises`);
    const l = await one(`SELECT count(*) AS n, coalesce(sum(hash(exercise_id, lap_index, start_time_utc)), 0)::VARCHAR AS h FROM laps`);
    const a = await one(`SELECT count(*) AS n, coalesce(sum(hash(user_id, local_date, steps, active_duration_s)), 0)::VARCHAR AS h FROM daily_activity`);
    const z = await one(`SELECT count(*) AS n, coalesce(sum(hash(user_id, local_date, sleep_start_utc, sleep_rating)), 0)::VARCHAR AS h FROM sleep`);
    const dateBased: LakeFacts['dateBased'] = {};
    for (const table of DATE_BASED_TABLES) {
      const key = loadTableSchema(table).natural_key.join(', ');
      const r = await one(`SELECT count(*) AS n, count(DISTINCT (${key})) AS k FROM ${table}`);
      dateBased[table] = { rows: Number(r['n']), keys: Number(r['k']) };
    }
    return {
      dateBased,
      samples: Number(s['n']),
      distinctSampleKeys: Number(s['d']),
      exercises: Number(e['n']),
      exerciseIds: (e['ids'] as string[] | null) ?? [],
      laps: Number(l['n']),
      dailyActivity: Number(a['n']),
      sleep: Number(z['n']),
      checksum: `${String(s['h'])}/${String(e['h'])}/${String(l['h'])}`,
      dailyChecksum: `${String(a['h'])}/${String(z['h'])}`,
    };
  } finally {
    db.close();
  }
}

interface DailyRowFacts {
  user_id: string;
  local_date: string;
  steps: number | null;
  active_duration_s: number | null;
  sleep_start_ms: number | null;
  sleep_end_ms: number | null;
  utc_offset_min: number | null;
  sleep_rating: number | null;
  sleep_score: number | null;
}

/** Every daily_activity / sleep row, ordered by (user, date). */
async function dailyRows(lakeDir: string, table: 'daily_activity' | 'sleep'): Promise<DailyRowFacts[]> {
  const db = await openLakeViews(lakeDir);
  try {
    const cols = table === 'daily_activity'
      ? `steps, active_duration_s, NULL AS sleep_start_ms, NULL AS sleep_end_ms, utc_offset_min, NULL AS sleep_rating, NULL AS sleep_score`
      : `NULL AS steps, NULL AS active_duration_s, (epoch_ms(sleep_start_utc))::DOUBLE AS sleep_start_ms, (epoch_ms(sleep_end_utc))::DOUBLE AS sleep_end_ms,
         utc_offset_min, sleep_rating, sleep_score`;
    const rows = (await db.conn.runAndReadAll(`SELECT user_id, local_date::VARCHAR AS local_date, ${cols} FROM ${table} ORDER BY user_id, local_date`)).getRowObjectsJS();
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])) as unknown as DailyRowFacts);
  } finally {
    db.close();
  }
}

function isoSeconds(text: unknown): number {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(String(text));
  return Number(m?.[1] ?? 0) * 3600 + Number(m?.[2] ?? 0) * 60 + Number(m?.[3] ?? 0);
}

function expectedActivity(sim: Simulator): DailyRowFacts[] {
  return sim.accounts
    .flatMap((a) => sim.dailyActivity(a.polarUserId))
    .map((d) => ({
      user_id: d.polarUserId, local_date: d.date, steps: d.json['steps'] as number, active_duration_s: isoSeconds(d.json['active_duration']),
      sleep_start_ms: null, sleep_end_ms: null, utc_offset_min: null, sleep_rating: null, sleep_score: null,
    }))
    .sort((x, y) => (x.user_id + x.local_date).localeCompare(y.user_id + y.local_date));
}

function expectedSleep(sim: Simulator): DailyRowFacts[] {
  return sim.accounts
    .flatMap((a) => sim.sleepNights(a.polarUserId))
    .map((d) => ({
      user_id: d.polarUserId, local_date: d.date, steps: null, active_duration_s: null,
      sleep_start_ms: Date.parse(d.json['sleep_start_time'] as string), sleep_end_ms: Date.parse(d.json['sleep_end_time'] as string),
      utc_offset_min: d.utcOffsetMin, sleep_rating: d.json['sleep_rating'] as number, sleep_score: d.json['sleep_score'] as number,
    }))
    .sort((x, y) => (x.user_id + x.local_date).localeCompare(y.user_id + y.local_date));
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export function pipelineE2E(busName: string, brokers: () => string[] | null): void {
  describe(`pipeline > end to end > ${busName} bus`, () => {
    let sim: Simulator;
    let dir: string;
    let base: Omit<AppOptions, 'groupPrefix'>;
    let app: App;
    const prefix = `test-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'polar-lake-e2e-'));
      sim = await startSimulator({ seed: 11, users: 3, exercisesPerUser: 4, durationRangeS: [600, 1500] });
      base = {
        lakeDir: join(dir, 'lake'),
        stateDir: join(dir, 'state'),
        kafkaBrokers: brokers(),
        topicPrefix: `${prefix}.`,
        pipeline: pipelineFromObject({ version: 1, name: 'e2e', sink: { idle_flush_secs: 1 } }, 'e2e'),
        logger: silentLogger,
        accesslink: accessLinkSettings(sim),
      };
      app = await createApp({ ...base, groupPrefix: `${prefix}-main` });
      await enrolAll(app, sim);
      await app.startConsumers();
    });

    afterAll(async () => {
      await app?.close();
      await sim?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lands every committed exercise with all its trackpoints, exactly once', async () => {
      const report = await app.runOnce();
      expect(report.transactionsLeftOpen).toBe(0);
      const committed = sim.committedExercises();
      expect(committed).toHaveLength(12);
      expect(sim.pendingExercises()).toHaveLength(0);

      const facts = await lakeFacts(base.lakeDir);
      const trackpoints = committed.reduce((sum, e) => sum + e.trackpoints, 0);
      expect(facts.samples).toBe(trackpoints);
      expect(facts.distinctSampleKeys).toBe(facts.samples);
      expect(facts.exercises).toBe(committed.length);
      expect(facts.exerciseIds).toEqual(committed.map((e) => e.exerciseId).sort());
      expect(facts.laps).toBeGreaterThan(0);
      expect(app.parse.counters.deadLettered).toBe(0);
      // The default pipeline sweeps every date-based type: every table filled, one row per natural key.
      for (const [table, { rows, keys }] of Object.entries(facts.dateBased)) {
        expect(rows, table).toBeGreaterThan(0);
        expect(keys, table).toBe(rows);
      }
    });

    it('daily > daily_activity and sleep hold every simulated day of every user, once per (user, date)', async () => {
      const activity = await dailyRows(base.lakeDir, 'daily_activity');
      const sleep = await dailyRows(base.lakeDir, 'sleep');
      // 3 users x 7 days uploaded at registration (the registration day may differ per time zone, the count does not).
      expect(activity).toHaveLength(21);
      expect(activity).toEqual(expectedActivity(sim));
      expect(sleep).toEqual(expectedSleep(sim));
      expect(new Set(activity.map((r) => `${r.user_id}/${r.local_date}`)).size).toBe(activity.length);
      expect(new Set(sleep.map((r) => `${r.user_id}/${r.local_date}`)).size).toBe(sleep.length);
    });

    it('daily > time zones > nights cross midnight and days east and west of UTC keep their local date', async () => {
      const sleep = await dailyRows(base.lakeDir, 'sleep');
      const offsets = new Set(sleep.map((r) => r.utc_offset_min));
      expect(offsets).toEqual(new Set([600, -480, 0])); // Sydney-like, Los Angeles-like, UTC
      for (const r of sleep) {
        const offsetMs = (r.utc_offset_min ?? 0) * 60_000;
        // Local wall clock: the night starts the evening before its date and ends on it.
        expect(dayOf(r.sleep_start_ms! + offsetMs)).toBe(dayOf(Date.parse(`${r.local_date}T00:00:00Z`) - 86_400_000));
        expect(dayOf(r.sleep_end_ms! + offsetMs)).toBe(r.local_date);
      }
      // At +10:00 the whole night lies on the previous UTC date; at -08:00 it starts on the UTC date itself.
      const east = sleep.filter((r) => r.utc_offset_min === 600);
      const west = sleep.filter((r) => r.utc_offset_min === -480);
      expect(east.length).toBeGreaterThan(0);
      expect(west.length).toBeGreaterThan(0);
      for (const r of east) expect(dayOf(r.sleep_end_ms!)).not.toBe(r.local_date);
      for (const r of west) expect(dayOf(r.sleep_start_ms!)).toBe(r.local_date);
      // Activity days follow each user's own calendar: the newest day is the user's local today.
      const activity = await dailyRows(base.lakeDir, 'daily_activity');
      for (const account of sim.accounts) {
        const days = sim.dailyActivity(account.polarUserId);
        const newest = activity.filter((r) => r.user_id === account.polarUserId).at(-1)?.local_date;
        expect(newest).toBe(dayOf(Date.now() + days[0]!.utcOffsetMin * 60_000));
      }
    });

    it('a second sweep finds nothing new and changes nothing', async () => {
      const before = await lakeFacts(base.lakeDir);
      const report = await app.runOnce();
      expect(report.exercisesFetched).toBe(0);
      expect(report.daysStored).toBe(0);
      expect(report.daysUnchanged).toBe(before.dailyActivity + before.sleep);
      expect(await lakeFacts(base.lakeDir)).toEqual(before);
    });

    it('new uploads arrive on the next sweep and only they are added', async () => {
      const before = await lakeFacts(base.lakeDir);
      const uid = sim.accounts[0]!.polarUserId;
      const added = sim.uploadExercises(uid, 2);
      await app.runOnce();
      const after = await lakeFacts(base.lakeDir);
      expect(after.samples - before.samples).toBe(added.reduce((s, e) => s + e.trackpoints, 0));
      expect(after.exercises).toBe(before.exercises + 2);
      expect(after.distinctSampleKeys).toBe(after.samples);
    });

    it('daily > a re-synced day replaces its rows with the new values, counts unchanged', async () => {
      const before = await lakeFacts(base.lakeDir);
      const uid = sim.accounts[1]!.polarUserId;
      const date = sim.dailyActivity(uid).at(-2)!.date;
      const oldActivity = (await dailyRows(base.lakeDir, 'daily_activity')).find((r) => r.user_id === uid && r.local_date === date)!;
      sim.resyncDay(uid, date);
      const report = await app.runOnce();
      expect(report.daysStored).toBe(2); // that day's activity and that night's sleep, nothing else
      const after = await lakeFacts(base.lakeDir);
      expect(after.dailyActivity).toBe(before.dailyActivity);
      expect(after.sleep).toBe(before.sleep);
      const activity = await dailyRows(base.lakeDir, 'daily_activity');
      const row = activity.filter((r) => r.user_id === uid && r.local_date === date);
      expect(row).toHaveLength(1);
      expect(row[0]!.steps).toBeGreaterThan(oldActivity.steps!);
      expect(activity).toEqual(expectedActivity(sim));
      expect(await dailyRows(base.lakeDir, 'sleep')).toEqual(expectedSleep(sim));
    });

    it('a replay from the raw zone leaves count and checksum of every table unchanged', async () => {
      const before = await lakeFacts(base.lakeDir);
      const published = await app.replayRawZone();
      expect(published).toBeGreaterThan(0);
      await app.drain();
      expect(await lakeFacts(base.lakeDir)).toEqual(before);
    });

    it('replaying every topic from offset 0 (fresh consumer groups) leaves the lake unchanged', async () => {
      const before = await lakeFacts(base.lakeDir);
      await app.close();
      // Same topics, new groups: parse re-reads polar.fetched from 0 and the sink re-reads the record topics.
      app = await createApp({ ...base, groupPrefix: `${prefix}-replay` });
      await app.startConsumers();
      await app.drain();
      const after = await lakeFacts(base.lakeDir);
      // The record topics hold a re-synced day's old and new batch; the newer one wins, as it did
      // the first time, so values (not just counts) are unchanged.
      expect(after).toEqual(before);
      // The replay really re-parsed everything: polar.fetched holds the fetch sweeps' events
      // and the raw-zone replay's, so every sample was parsed twice, and stored once.
      expect(app.parse.counters.rows.samples).toBe(2 * before.samples);
    });
  });
}
