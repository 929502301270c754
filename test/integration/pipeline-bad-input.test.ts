/**
 * Promise 4 through the whole pipeline: one exercise's TCX is an HTML error page (as a proxy
 * in front of an API serves it). The file is stored (the raw zone keeps what was served), the
 * transaction is committed (the payload was durably stored), the parse stage dead-letters it
 * with its code and position, and every other exercise lands in full.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { TOPICS } from '../../src/bus/bus.ts';
import { decodeEnvelope, type DeadLetter } from '../../src/records/envelope.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { startSimulatedApp, type SimulatedApp } from '../helpers/simulator-app.ts';

describe('pipeline > bad input > an HTML error page served as TCX', () => {
  let t: SimulatedApp;
  let sim: Simulator;
  let app: App;
  let dir: string;

  beforeAll(async () => {
    t = await startSimulatedApp({ seed: 5, users: 2, exercisesPerUser: 3, durationRangeS: [300, 600] });
    ({ sim, app, dir } = t);
  });

  afterAll(async () => t?.close());

  it('dead-letters that file with code and position, and everything else lands', async () => {
    const victim = sim.pendingExercises().find((e) => e.hasTcx && !e.hasFit);
    expect(victim).toBeDefined();
    sim.injectFault({
      method: 'GET',
      path: new RegExp(`/exercises/${victim!.exerciseId}/tcx$`),
      status: 200,
      headers: { 'content-type': 'application/vnd.garmin.tcx+xml' },
      body: '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>\n',
      times: 1,
    });

    const report = await app.runOnce();
    expect(report.transactionsLeftOpen).toBe(0);

    const letters: DeadLetter[] = [];
    const sub = await app.bus.consume({ topics: [TOPICS.deadletter], group: 'test-deadletter-reader' }, async (batch) => {
      for (const m of batch.messages) letters.push(decodeEnvelope(m.value) as DeadLetter);
    });
    await sub.drained();
    await sub.stop();
    expect(letters).toHaveLength(1);
    const letter = letters[0]!;
    expect(letter.raw_key).toContain(`exercise_id=${victim!.exerciseId}/tcx`);
    expect(letter.stage).toBe('parse');
    expect(String(letter.error['code'])).toMatch(/^PL_PARSE_/);
    expect(letter.error['line']).toBeTypeOf('number');
    expect(letter.error['file']).toBe(letter.raw_key);

    const facts = await lakeFacts(join(dir, 'lake'));
    const committed = sim.committedExercises();
    expect(facts.exercises).toBe(committed.length); // its summary still landed
    const expected = committed.filter((e) => e.exerciseId !== victim!.exerciseId).reduce((s, e) => s + e.trackpoints, 0);
    expect(facts.samples).toBe(expected);
    // The raw zone keeps what was served, for a replay after a fix.
    expect(await app.rawZone.exists(letter.raw_key)).toBe(true);
  });
});
