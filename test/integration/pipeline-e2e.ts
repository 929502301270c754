/**
 * The end-to-end suite, written once and run over both buses (pipeline-e2e-embedded.test.ts,
 * pipeline-e2e-kafka.test.ts): simulator → OAuth enrolment → fetch → parse → sink → DuckDB.
 * It proves the "done when": the lake holds exactly the trackpoints of the exercises
 * the simulator saw committed, once each, and replays (raw zone and topic) change nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrolUser } from '../../src/accesslink/enrol.ts';
import { createApp, type App, type AppOptions } from '../../src/app.ts';
import { openLakeViews } from '../../src/lake/views.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

export interface LakeFacts {
  samples: number;
  distinctSampleKeys: number;
  exercises: number;
  exerciseIds: string[];
  laps: number;
  checksum: string;
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
    return {
      samples: Number(s['n']),
      distinctSampleKeys: Number(s['d']),
      exercises: Number(e['n']),
      exerciseIds: (e['ids'] as string[] | null) ?? [],
      laps: Number(l['n']),
      checksum: `${String(s['h'])}/${String(e['h'])}/${String(l['h'])}`,
    };
  } finally {
    db.close();
  }
}

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
        accesslink: {
          apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl,
          redirectUri: sim.redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret,
        },
      };
      app = await createApp({ ...base, groupPrefix: `${prefix}-main` });
      for (const account of sim.accounts) {
        const { code } = await sim.approve(account.login, 'e2e-state');
        await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: `m-${account.login}` });
      }
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
    });

    it('a second sweep finds nothing new and changes nothing', async () => {
      const before = await lakeFacts(base.lakeDir);
      const report = await app.runOnce();
      expect(report.exercisesFetched).toBe(0);
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
      expect(after).toEqual(before);
      // The replay really re-parsed everything: polar.fetched holds the fetch sweeps' events
      // and the raw-zone replay's, so every sample was parsed twice, and stored once.
      expect(app.parse.counters.rows.samples).toBe(2 * before.samples);
    });
  });
}
