/**
 * The operator's commands as processes: `polar-lake run --once` against AccessLink (the
 * simulator, configured only through the environment, as a real deployment would be), then
 * `polar-lake replay`, which must leave the lake unchanged.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

const run = promisify(execFile);

describe('cli > run --once and replay', () => {
  let sim: Simulator;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-cli-'));
    sim = await startSimulator({ seed: 21, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600] });
    env = {
      ...process.env,
      POLAR_CLIENT_ID: sim.clientId, POLAR_CLIENT_SECRET: sim.clientSecret,
      POLAR_API_BASE_URL: sim.apiBaseUrl, POLAR_AUTHORIZE_URL: sim.authorizeUrl, POLAR_TOKEN_URL: sim.tokenUrl, POLAR_REDIRECT_URI: sim.redirectUri,
      POLAR_LAKE_DIR: join(dir, 'lake'), POLAR_LAKE_STATE_DIR: join(dir, 'state'), POLAR_LAKE_LOG_LEVEL: 'warn',
    };
    delete env['KAFKA_BROKERS'];
    // Enrol the users into the state folder the commands will use (what `users add` does).
    const app = await createApp({
      lakeDir: env['POLAR_LAKE_DIR']!, stateDir: env['POLAR_LAKE_STATE_DIR']!, pipeline: pipelineFromObject({ version: 1, name: 'default' }, 'p'), logger: silentLogger,
      accesslink: accessLinkSettings(sim),
    });
    await enrolAll(app, sim);
    await app.close();
  });

  afterAll(async () => {
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('run --once fetches, parses and sinks everything, and says what it did', async () => {
    const { stdout, stderr } = await run(process.execPath, ['bin/polar-lake.mjs', 'run', '--once'], { env });
    const out = JSON.parse(stdout) as { fetch: { transactionsCommitted: number; exercisesFetched: number } };
    expect(out.fetch.exercisesFetched).toBe(4);
    expect(stderr).not.toContain(sim.clientSecret);
    const facts = await lakeFacts(env['POLAR_LAKE_DIR']!);
    expect(facts.samples).toBe(sim.committedExercises().reduce((s, e) => s + e.trackpoints, 0));
    expect(facts.exercises).toBe(4);
  });

  it('replay re-parses every raw object and changes nothing', async () => {
    const before = await lakeFacts(env['POLAR_LAKE_DIR']!);
    const { stdout } = await run(process.execPath, ['bin/polar-lake.mjs', 'replay'], { env });
    expect((JSON.parse(stdout) as { replayed_raw_objects: number }).replayed_raw_objects).toBeGreaterThan(4);
    expect(await lakeFacts(env['POLAR_LAKE_DIR']!)).toEqual(before);
  });

  it('run --stage without Kafka is refused with the setting to change', async () => {
    await expect(run(process.execPath, ['bin/polar-lake.mjs', 'run', '--stage', 'parse'], { env })).rejects.toMatchObject({
      code: 78,
      stderr: expect.stringMatching(/PL_CONFIG_INVALID: --stage: .*KAFKA_BROKERS/),
    });
  });
});
