/**
 * Webhooks drive the pipeline with no polling schedule: create the webhook (the simulator
 * PINGs our receiver first), enrol users (their uploads fire signed EXERCISE events), and the
 * events flow receiver → polar.webhooks → fetch → parse → sink.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import type { Subscription } from '../../src/bus/bus.ts';
import { pipelineFromObject } from '../../src/pipeline/load.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../src/webhooks/receiver.ts';
import { createWebhook, loadWebhookSigningKey } from '../../src/webhooks/registration.ts';
import { publishWebhookEvent, startWebhookTrigger } from '../../src/webhooks/trigger.ts';
import { lakeFacts } from './pipeline-e2e.ts';
import { accessLinkSettings, enrolAll } from '../helpers/simulator-app.ts';

describe('webhooks > pipeline', () => {
  let sim: Simulator;
  let app: App;
  let receiver: WebhookReceiver;
  let trigger: Subscription;
  let dir: string;
  let sweeps = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'polar-lake-webhooks-'));
    sim = await startSimulator({ seed: 3, users: 2, exercisesPerUser: 2, durationRangeS: [300, 600] });
    const accesslink = accessLinkSettings(sim);
    app = await createApp({ lakeDir: join(dir, 'lake'), stateDir: join(dir, 'state'), pipeline: pipelineFromObject({ version: 1, name: 'wh' }, 'wh'), logger: silentLogger, accesslink });
    await app.startConsumers();
    receiver = await startWebhookReceiver({
      signingKey: () => loadWebhookSigningKey(join(dir, 'state')),
      accept: (event) => publishWebhookEvent(app.bus, event),
      logger: silentLogger,
    });
    trigger = await startWebhookTrigger({ bus: app.bus, group: 'wh-trigger', logger: silentLogger, run: async () => { sweeps++; return app.fetch!.runOnce(); } });
  });

  afterAll(async () => {
    await trigger?.stop();
    await receiver?.close();
    await app?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the signing key encrypted after Polar PINGs the receiver', async () => {
    const info = await createWebhook(sim, join(dir, 'state'), { url: receiver.url, events: ['EXERCISE'] });
    expect(info.url).toBe(receiver.url);
    expect(sim.webhookDeliveries.filter((d) => d.event === 'PING').map((d) => d.status)).toEqual([200]);
    const key = await loadWebhookSigningKey(join(dir, 'state'));
    expect(key).toMatch(/\S{16,}/);
    expect(readFileSync(join(dir, 'state', 'webhook.json'), 'utf8')).not.toContain(key!);
  });

  it('signed EXERCISE events alone bring every upload into the lake', async () => {
    await enrolAll(app, sim);
    await sim.flushWebhooks();
    const exerciseEvents = sim.webhookDeliveries.filter((d) => d.event === 'EXERCISE');
    expect(exerciseEvents.length).toBe(4);
    expect(exerciseEvents.every((d) => d.status === 200)).toBe(true);

    await trigger.drained(); // every event's sweep finished
    await app.drain();
    expect(sweeps).toBeGreaterThan(0);
    const committed = sim.committedExercises();
    expect(committed).toHaveLength(4);
    const facts = await lakeFacts(join(dir, 'lake'));
    expect(facts.exercises).toBe(4);
    expect(facts.samples).toBe(committed.reduce((s, e) => s + e.trackpoints, 0));
  });
});
