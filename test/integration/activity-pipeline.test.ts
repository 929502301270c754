/**
 * Activity samples and physical information end to end on the embedded bus: simulator →
 * fetch (both API generations) → raw zone → parse → sink → DuckDB over the Parquet lake.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLakeViews } from '../../src/lake/views.ts';
import { startSimulatedApp, type SimulatedApp } from '../helpers/simulator-app.ts';

let rig: SimulatedApp;
const query = async (sql: string): Promise<Record<string, unknown>[]> => {
  const db = await openLakeViews(rig.lakeDir);
  try {
    return (await db.conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    db.close();
  }
};
const one = async (sql: string) => (await query(sql))[0]!;

/** Per (user, day): the forward-filled sum of the current API's step samples over the interval grid, to the end of the day. */
const FORWARD_FILLED = `
  WITH s AS (
    SELECT user_id, local_date, steps, interval_s, day_total_steps,
      epoch(coalesce(lead(time_utc) OVER w, (local_date + INTERVAL 1 DAY)::TIMESTAMPTZ) - time_utc) / interval_s AS slots
    FROM activity_step_samples WHERE source_channel = 'current'
    WINDOW w AS (PARTITION BY user_id, local_date ORDER BY time_utc))
  SELECT user_id, local_date::VARCHAR AS local_date, sum(steps * slots)::BIGINT AS filled, any_value(day_total_steps) AS total FROM s GROUP BY ALL`;

beforeAll(async () => {
  rig = await startSimulatedApp({ seed: 11, users: 2, exercisesPerUser: 0, dailyDaysAtRegistration: 3, legacyDaily: true });
});
afterAll(async () => rig?.close());

describe('activity > pipeline', () => {
  it('activity > pipeline > one sweep fills daily_activity, the sample tables and physical_info, and leaves no notification', async () => {
    const report = await rig.app.runOnce();
    expect(report.errorsByCode).toEqual({});
    expect(await rig.app.client!.listNotifications()).toEqual([]);
    const users = rig.sim.accounts.map((a) => a.polarUserId);

    const days = await query('SELECT user_id, local_date::VARCHAR AS d, steps, utc_offset_min FROM daily_activity ORDER BY ALL');
    expect(days).toHaveLength(2 * 3);
    for (const u of users) {
      for (const day of rig.sim.dailyActivity(u)) {
        const row = days.find((r) => r['user_id'] === u && r['d'] === day.date);
        expect(row).toMatchObject({ steps: day.json['steps'], utc_offset_min: null });
      }
    }

    // The documented forward-fill of the filtered step samples gives back each day's total.
    const filled = await query(FORWARD_FILLED);
    expect(filled).toHaveLength(2 * 3);
    for (const r of filled) {
      expect(Number(r['filled'])).toBe(Number(r['total']));
      const day = rig.sim.dailyActivity(r['user_id'] as string).find((d) => d.date === String(r['local_date']).slice(0, 10));
      if (day) expect(Number(r['total'])).toBe(day.json['steps']);
    }
    const identical = await one(`SELECT count(*) AS n FROM (SELECT steps = lag(steps) OVER (PARTITION BY user_id, local_date ORDER BY time_utc) AS same
      FROM activity_step_samples WHERE source_channel = 'current') WHERE same`);
    expect(Number(identical['n'])).toBe(0); // what the API sent: no repeated count, nothing filled in
    const legacySteps = await one(`SELECT count(*) AS n, count(*) FILTER (WHERE steps_missing) AS missing, min(interval_s) AS i FROM activity_step_samples WHERE source_channel = 'transactional'`);
    expect(Number(legacySteps['n'])).toBe(2 * 3 * 24);
    expect(legacySteps['i']).toBe(3600);
    expect(Number(legacySteps['missing'])).toBeLessThan(24 * 2); // only hours still to come today

    const zones = await one(`SELECT count(*) FILTER (WHERE source_channel = 'current') AS changes,
      count(DISTINCT zone) FILTER (WHERE source_channel = 'current') AS names, max(in_zone_s) FILTER (WHERE source_channel = 'transactional') AS max_hour FROM activity_zone_samples`);
    expect(Number(zones['changes'])).toBeGreaterThan(2 * 3 * 3);
    expect(Number(zones['names'])).toBeGreaterThanOrEqual(3);
    expect(Number(zones['max_hour'])).toBeLessThanOrEqual(3600);
    const hours = await query(`SELECT user_id, time_utc, sum(in_zone_s) AS s FROM activity_zone_samples WHERE source_channel = 'transactional' GROUP BY ALL`);
    expect(hours.every((h) => Number(h['s']) === 3600)).toBe(true); // per-hour durations, not cumulative

    const stamps = await one('SELECT count(*) AS n, count(*) FILTER (WHERE utc_offset_min IS NOT NULL) AS zoned FROM activity_inactivity_stamps');
    expect(Number(stamps['n'])).toBeGreaterThan(0);
    expect(Number(stamps['zoned'])).toBe(0);

    const physical = await query('SELECT user_id, weight_kg, source_channel, snapshot_utc FROM physical_info ORDER BY user_id');
    expect(physical.map((p) => p['user_id'])).toEqual([...users].sort());
    for (const p of physical) expect(p['weight_kg']).toBe(rig.sim.physicalInfo(p['user_id'] as string)[0]!['weight']);
  });

  it('activity > pipeline > a re-synced day replaces its rows in every table; a new physical snapshot adds one row', async () => {
    const user = rig.sim.accounts[0]!.polarUserId;
    const date = rig.sim.dailyActivity(user)[1]!.date;
    const before = await one(`SELECT (SELECT count(*) FROM daily_activity) AS days, (SELECT count(*) FROM activity_step_samples) AS steps, (SELECT count(*) FROM physical_info) AS physical`);
    rig.sim.resyncDay(user, date, ['activity']);
    rig.sim.changePhysicalInfo(user);
    await rig.app.runOnce();

    const day = await one(`SELECT count(*) AS n, any_value(steps) AS steps FROM daily_activity WHERE user_id = '${user}' AND local_date = '${date}'`);
    expect(Number(day['n'])).toBe(1);
    expect(day['steps']).toBe(rig.sim.dailyActivity(user)[1]!.json['steps']);
    const filled = (await query(FORWARD_FILLED)).find((r) => r['user_id'] === user && String(r['local_date']).startsWith(date))!;
    expect(Number(filled['filled'])).toBe(rig.sim.dailyActivity(user)[1]!.json['steps']);
    const legacyHours = await one(`SELECT count(*) AS n FROM activity_step_samples WHERE source_channel = 'transactional' AND user_id = '${user}' AND local_date = '${date}'`);
    expect(Number(legacyHours['n'])).toBe(24); // the new summary's samples replaced the old ones
    const after = await one(`SELECT (SELECT count(*) FROM daily_activity) AS days, (SELECT count(*) FROM physical_info) AS physical`);
    expect(after['days']).toBe(before['days']);
    expect(Number(after['physical'])).toBe(Number(before['physical']) + 1);
  });
});
