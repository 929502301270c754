import { afterEach, describe, expect, it } from 'vitest';
import { makeExercise, routeJson, rrIntervalsMs, sampleTypes, samplesJson, type ExerciseModel } from '../../src/simulator/exercises.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { workoutPoints } from '../../src/simulator/workout.ts';
import { api, loginAndRegister } from '../helpers/simulator-client.ts';

const model = (userIndex: number, k: number): ExerciseModel =>
  makeExercise({ seed: 9, userIndex, polarUserId: String(40_000_000 + userIndex), k, durationRangeS: [600, 900] });
const hrOf = (ex: ExerciseModel) => [...workoutPoints(ex.spec)].map((p) => p.heartRateBpm);

describe('simulator > exercise detail > shapes', () => {
  it('simulator > samples > types are strings, data one comma-separated string, one value per second, recording rate 1', () => {
    const ex = model(0, 0);
    for (const t of sampleTypes(ex)) {
      if (t === 11) continue;
      const s = samplesJson(ex, t)!;
      expect(s).toMatchObject({ 'recording-rate': 1, 'sample-type': String(t) });
      expect(typeof s['data']).toBe('string');
      expect(String(s['data']).split(',')).toHaveLength(ex.durationS);
    }
    expect(samplesJson(ex, 12)).toBeNull();
  });

  it('simulator > samples > RR only for strap users, with a null recording rate, consistent with the heart rate, one null per sensor gap', () => {
    const strap = Array.from({ length: 6 }, (_, k) => model(1, k)).filter((e) => e.hasStrap);
    const noStrap = Array.from({ length: 6 }, (_, k) => model(1, k)).filter((e) => !e.hasStrap);
    expect(strap.length).toBeGreaterThan(0);
    for (const ex of noStrap) expect(sampleTypes(ex)).not.toContain(11);
    for (const ex of strap) {
      expect(samplesJson(ex, 11)).toMatchObject({ 'recording-rate': null, 'sample-type': '11' });
      const rr = rrIntervalsMs(ex);
      const hr = hrOf(ex);
      const gapsInHr = hr.filter((v, i) => v === null && (i === 0 || hr[i - 1] !== null)).length;
      expect(rr.filter((v) => v === null)).toHaveLength(gapsInHr);
      // The sum of intervals covers the session but the seconds the strap was off.
      const total = rr.reduce<number>((s, v) => s + (v ?? 0), 0);
      const off = hr.filter((v) => v === null).length;
      expect(total).toBeLessThanOrEqual(ex.durationS * 1000);
      expect(total).toBeGreaterThan((ex.durationS - off - 3) * 1000);
      // Each beat's interval is 60000 / the heart rate of its second, within ±12 ms of beat-to-beat variability.
      // Checked up to the first gap: the lost beats' time is unknown after it, as in the real data.
      let t = 0;
      for (const v of rr) {
        if (v === null) break;
        const bpm = hr[Math.floor(t / 1000)];
        t += v;
        if (bpm) expect(Math.abs(v - 60_000 / bpm)).toBeLessThanOrEqual(12.5);
      }
    }
  });

  it('simulator > samples > heart-rate gaps are null on some devices and the 0 sentinel on others', () => {
    const markers = new Set<string>();
    for (let k = 0; k < 8; k++) {
      const ex = model(2, k);
      const data = String(samplesJson(ex, 0)!['data']).split(',');
      const gaps = hrOf(ex).map((v, i) => (v === null ? data[i] : undefined)).filter((v) => v !== undefined);
      for (const g of gaps) markers.add(g!);
    }
    expect(markers).toEqual(new Set(['null', '0']));
  });

  it('simulator > samples > outdoor rides with power have altitude, air pressure, temperature, pedalling index and L/R balance', () => {
    const all = Array.from({ length: 10 }, (_, k) => model(0, k));
    const ride = all.find((e) => e.sport === 'CYCLING' && e.spec.withPower)!;
    expect(sampleTypes(ride)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 5, 6, 7, 9, 10]));
    const indoor = all.find((e) => e.indoor)!;
    expect(sampleTypes(indoor)).not.toContain(3);
    const pressure = String(samplesJson(ride, 7)!['data']).split(',').map(Number);
    for (const p of pressure) expect(p).toBeGreaterThan(700);
  });

  it('simulator > route > one point per second with an ISO duration from the start, satellites and fix in range', () => {
    const ex = Array.from({ length: 5 }, (_, k) => model(0, k)).find((e) => !e.indoor)!;
    const route = routeJson(ex);
    expect(route).toHaveLength(ex.durationS);
    expect(route.slice(0, 3).map((p) => p['time'])).toEqual(['PT0S', 'PT1S', 'PT2S']);
    for (const p of route) expect(p).toMatchObject({ satellites: expect.any(Number), fix: 3 });
    expect(route.every((p) => (p['satellites'] as number) <= 63)).toBe(true);
  });
});

describe('simulator > exercise detail > no-data answers', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('simulator > zones > 204 without zone info (transactional), null in the listing; unknown sample type 204; missing exercise 404', async () => {
    // User 0's exercise k=3 has no zone info ((k + user) % 5 === 3).
    sim = await startSimulator({ seed: 9, users: 1, exercisesPerUser: 4, durationRangeS: [60, 90] });
    const s = sim;
    const { token, userId } = await loginAndRegister(s, 0);
    const tx = (await (await api(s, token, 'POST', `/v3/users/${userId}/exercise-transactions`)).json()) as { 'resource-uri': string };
    const urls = ((await (await api(s, token, 'GET', tx['resource-uri'])).json()) as { exercises: string[] }).exercises;
    const pending = s.pendingExercises(userId);
    const statuses = await Promise.all(urls.map(async (u) => (await api(s, token, 'GET', `${u}/heart-rate-zones`)).status));
    expect(statuses).toEqual(pending.map((e) => (e.hasZones ? 200 : 204)));
    expect(statuses).toContain(204);
    expect((await api(s, token, 'GET', `${urls[0]}/samples/12`)).status).toBe(204);
    expect((await api(s, token, 'GET', `${urls[0]!.replace(/\d+$/, '1')}/samples`)).status).toBe(404);
    const listed = (await (await api(s, token, 'GET', '/v3/exercises?zones=true')).json()) as Record<string, unknown>[];
    expect(listed.map((e) => e['heart_rate_zones'] === null)).toEqual(pending.map((e) => !e.hasZones));
    expect((await api(s, token, 'GET', '/v3/exercises/NOPE1234?samples=true')).status).toBe(404);
  });
});
