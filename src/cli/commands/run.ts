import type { Command } from 'commander';
import { createApp, type App, type StageName } from '../../app.ts';
import { createServer } from 'node:http';
import { handleOAuthCallback } from '../../accesslink/callback-server.ts';
import { completeEnrolment } from '../../accesslink/enrol.ts';
import type { RuntimeConfig } from '../../config.ts';
import { ConfigError } from '../../errors.ts';
import { listen } from '../../net/listen.ts';
import { openPendingEnrolments } from '../../state/pending-enrolments.ts';
import type { FetchReport } from '../../stages/fetch.ts';
import { EXIT } from '../exit-codes.ts';
import { onShutdownSignals } from '../shutdown.ts';
import type { Lease } from '../../state/lease.ts';
import { lockStateFolder } from '../../state/state-lock.ts';
import { commandContext } from '../context.ts';
import type { Logger } from '../../telemetry/log.ts';
import { serveAppTelemetry } from '../../telemetry/app-telemetry.ts';
import { startWebhookReceiver } from '../../webhooks/receiver.ts';
import { loadWebhookSigningKey } from '../../webhooks/registration.ts';
import { publishWebhookEvent, startWebhookTrigger } from '../../webhooks/trigger.ts';

const STAGES: readonly StageName[] = ['fetch', 'parse', 'sink'];

/**
 * `polar-lake run`: the pipeline. Embedded (no KAFKA_BROKERS): every stage in this process.
 * Distributed: `--stage` picks the stages this process runs; scale out by starting more
 * processes of a stage (one consumer group per stage, topics keyed by user id).
 */
export function register(program: Command): void {
  program
    .command('run')
    .description('run the pipeline: fetch on the pipeline schedule, parse and sink continuously')
    .option('--once', 'one fetch sweep, wait until parse and sink caught up, then exit')
    .option('--stage <stage...>', `stages to run in this process (${STAGES.join(', ')}); needs KAFKA_BROKERS`)
    .option('--pipeline <file>', 'pipeline file (default: POLAR_LAKE_PIPELINE or pipelines/default.yaml)')
    .action(async (opts: { once?: boolean; stage?: string[]; pipeline?: string }) => {
      const { config, pipeline, logger } = commandContext(opts.pipeline ? { pipelineFile: opts.pipeline } : {});
      const stages = (opts.stage ?? STAGES) as StageName[];
      for (const s of stages) if (!STAGES.includes(s)) throw new ConfigError(`unknown stage "${s}" (allowed: ${STAGES.join(', ')})`, '--stage');
      if (opts.stage && !config.kafkaBrokers) {
        throw new ConfigError('running single stages needs a shared bus: set KAFKA_BROKERS (the embedded bus lives in one process)', '--stage');
      }
      if (stages.includes('fetch') && !config.accesslink) {
        throw new ConfigError('no AccessLink client: set POLAR_CLIENT_ID and POLAR_CLIENT_SECRET (or try `npm run demo`, which needs none)', 'POLAR_CLIENT_ID');
      }
      const shutdown = onShutdownSignals(logger);
      // The state folder has one owner: fetch (users, ledger) and the embedded bus write it. With
      // Kafka, a second fetch process waits as a standby and takes over when the owner dies, so
      // one scheduler runs per client.
      const ownsState = stages.includes('fetch') || !config.kafkaBrokers;
      let lease: Lease | null = null;
      try {
        if (ownsState) {
          lease = await lockStateFolder(config.stateDir, {
            purpose: `run --stage ${stages.join(',')}`,
            logger,
            standby: Boolean(config.kafkaBrokers) && !opts.once,
            signal: shutdown.signal,
            onLost: (error) => {
              process.exitCode = EXIT.tempFail;
              shutdown.stop(error.message);
            },
          });
        }
      } catch (error) {
        shutdown.dispose();
        if (shutdown.signal.aborted) return; // stopped while waiting as a standby
        throw error;
      }
      const app = await createApp({ lakeDir: config.lakeDir, stateDir: config.stateDir, kafkaBrokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, pipeline, logger, accesslink: config.accesslink });
      // Whatever fails from here on (a port in use, a broker gone), the app is closed, so the
      // process exits with the error instead of hanging on its open consumers.
      const started: { close(): Promise<void> }[] = [];
      let telemetry: { url: string; close(): Promise<void> } | null = null;
      let running = true;
      try {
        await app.startConsumers(stages.filter((s): s is 'parse' | 'sink' => s !== 'fetch'));
        if (opts.once) {
          const report = stages.includes('fetch') ? await app.fetch!.runOnce() : undefined;
          await app.drain();
          console.log(JSON.stringify({ fetch: report ?? null, parse: app.parse.counters }, null, 2));
          const failures = onceFailures(report ?? null, app.parse.counters.deadLettered);
          if (failures.length > 0) {
            console.error(`polar-lake: run --once finished with failures: ${failures.join('; ')}`);
            process.exitCode = EXIT.partial;
          }
          return;
        }
        if (config.callbackListen) started.push(await startCallbackServer(app, config, config.callbackListen, logger));
        if (stages.includes('fetch') && config.webhookListen) started.push(await startWebhooks(app, config.stateDir, config.webhookListen, config.topicPrefix, logger, config.webhookMaxEventAgeMs));
        const schedule = stages.includes('fetch') ? app.fetch!.startSchedule(pipeline.fetch.schedule) : null;
        if (schedule) started.push({ close: async () => schedule.stop() });
        telemetry = config.metricsListen ? await serveAppTelemetry(app, { ...config.metricsListen, stages, logger, started: () => running }) : null;
        logger.info('pipeline.started', { stages, bus: app.bus.kind, schedule: pipeline.fetch.schedule, lake: config.lakeDir, telemetry: telemetry?.url ?? null });
        await shutdown.requested;
      } finally {
        running = false; // /ready answers 503 while the process drains
        for (const s of started.reverse()) await s.close();
        await app.close(); // the sink flushes its buffers and acknowledges before it closes
        await telemetry?.close();
        await lease?.release();
        shutdown.dispose();
      }
      logger.info('pipeline.stopped', {});
    });
}

/** What made a `run --once` incomplete: users or items not fetched, transactions left open, files dead-lettered. */
export function onceFailures(report: FetchReport | null, deadLettered: number): string[] {
  const out: string[] = [];
  if (report) {
    const errors = Object.entries(report.errorsByCode);
    if (errors.length > 0) out.push(`errors ${errors.map(([code, n]) => `${code}×${n}`).join(', ')}`);
    if (report.transactionsLeftOpen > 0) out.push(`${report.transactionsLeftOpen} transaction(s) left open`);
    if (report.exercisesFailed > 0) out.push(`${report.exercisesFailed} exercise(s) failed`);
  }
  if (deadLettered > 0) out.push(`${deadLettered} payload(s) dead-lettered (see polar.deadletter)`);
  return out;
}

/**
 * Serves the path of POLAR_REDIRECT_URI, so `users add --no-browser` on a server finishes by
 * itself when Polar redirects the user's browser to an https URI proxied to this process.
 */
async function startCallbackServer(app: App, config: RuntimeConfig, at: { host: string; port: number }, logger: Logger): Promise<{ close(): Promise<void> }> {
  const { oauth, client } = app;
  if (!oauth || !client || !config.accesslink) throw new ConfigError('serving the OAuth callback needs the AccessLink client: set POLAR_CLIENT_ID and POLAR_CLIENT_SECRET', 'POLAR_LAKE_CALLBACK_LISTEN');
  const pending = openPendingEnrolments(config.stateDir);
  const route = {
    path: new URL(config.accesslink.redirectUri).pathname,
    logger,
    complete: (state: string, code: string) => completeEnrolment({ oauth, client, users: app.users, pending, state, code }),
  };
  const server = createServer((req, res) => {
    if (!handleOAuthCallback(route, req, res)) res.writeHead(404).end();
  });
  const address = await listen(server, at.port, at.host, 'the OAuth callback server');
  logger.info('users.callback.listening', { host: address.address, port: address.port, path: route.path });
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * The receiver answers Polar once the event is on the bus; the trigger (same consumer group
 * in every fetch process) turns events into fetch sweeps. The signing key is read lazily:
 * `polar-lake webhook create` runs while this process already answers Polar's PING.
 */
async function startWebhooks(app: App, stateDir: string, listen: { host: string; port: number }, topicPrefix: string, logger: Logger, maxEventAgeMs: number) {
  let key: string | null = null;
  const receiver = await startWebhookReceiver({
    host: listen.host,
    port: listen.port,
    signingKey: async () => (key ??= await loadWebhookSigningKey(stateDir)),
    accept: (event) => publishWebhookEvent(app.bus, event),
    logger,
    maxEventAgeMs,
  });
  const trigger = await startWebhookTrigger({ bus: app.bus, group: `${topicPrefix}polar-lake-webhooks`, logger, run: (_users, events) => app.fetch!.runEvents(events) });
  logger.info('webhooks.receiver.started', { url: receiver.url });
  return {
    async close() {
      await trigger.stop();
      await receiver.close();
    },
  };
}
