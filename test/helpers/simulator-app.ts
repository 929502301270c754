/** Wiring an app to the simulator, as the demo does: its AccessLink settings and enrolled users. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrolUser } from '../../src/accesslink/enrol.ts';
import { createApp, type App } from '../../src/app.ts';
import type { AccessLinkSettings } from '../../src/config.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';

export function accessLinkSettings(sim: Simulator): AccessLinkSettings {
  return {
    apiBaseUrl: sim.apiBaseUrl, authorizeUrl: sim.authorizeUrl, tokenUrl: sim.tokenUrl,
    redirectUri: sim.redirectUri, clientId: sim.clientId, clientSecret: sim.clientSecret,
  };
}

/** Every simulated account approves access (OAuth2 code flow) and is registered, as `users add` does. */
export async function enrolAll(app: App, sim: Simulator): Promise<void> {
  for (const account of sim.accounts) {
    const { code } = await sim.approve(account.login, 'test-state');
    await enrolUser({ oauth: app.oauth!, client: app.client!, users: app.users, code, memberId: account.login });
  }
}

export interface SimulatedApp {
  readonly sim: Simulator;
  readonly app: App;
  readonly dir: string;
  readonly lakeDir: string;
  close(): Promise<void>;
}

/**
 * A simulator, an app wired to it in a temp folder (embedded bus), every account enrolled and
 * the parse and sink stages consuming: the usual start of a pipeline test.
 */
export async function startSimulatedApp(simulator: SimulatorOptions, options: { enrol?: boolean } = {}): Promise<SimulatedApp> {
  const dir = mkdtempSync(join(tmpdir(), 'polar-lake-test-'));
  const sim = await startSimulator(simulator);
  const lakeDir = join(dir, 'lake');
  const app = await createApp({
    lakeDir,
    stateDir: join(dir, 'state'),
    pipeline: pipelineFromObject({ version: 1, name: 'test' }, 'test'),
    logger: silentLogger,
    accesslink: accessLinkSettings(sim),
  });
  if (options.enrol ?? true) await enrolAll(app, sim);
  await app.startConsumers();
  return {
    sim, app, dir, lakeDir,
    async close() {
      await app.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * For commands run as processes: the environment a deployment would set (AccessLink, lake and
 * state folders; no Kafka unless `extra` sets it), with every account already enrolled into
 * the state folder, as `polar-lake users add` would leave it.
 */
export async function cliEnvironment(sim: Simulator, dir: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POLAR_CLIENT_ID: sim.clientId, POLAR_CLIENT_SECRET: sim.clientSecret,
    POLAR_API_BASE_URL: sim.apiBaseUrl, POLAR_AUTHORIZE_URL: sim.authorizeUrl, POLAR_TOKEN_URL: sim.tokenUrl, POLAR_REDIRECT_URI: sim.redirectUri,
    POLAR_LAKE_DIR: join(dir, 'lake'), POLAR_LAKE_STATE_DIR: join(dir, 'state'), POLAR_LAKE_LOG_LEVEL: 'warn',
  };
  delete env['KAFKA_BROKERS'];
  Object.assign(env, extra);
  const app = await createApp({
    lakeDir: join(dir, 'lake'), stateDir: join(dir, 'state'), pipeline: pipelineFromObject({ version: 1, name: 'default' }, 'p'), logger: silentLogger,
    accesslink: accessLinkSettings(sim),
  });
  try {
    await enrolAll(app, sim);
  } finally {
    await app.close();
  }
  return env;
}
