import type { Command } from 'commander';
import { createApp, type App, type StageName } from '../../app.ts';
import { ConfigError } from '../../errors.ts';
import { commandContext } from '../context.ts';
import type { Logger } from '../../telemetry/log.ts';
import { collectAppMetrics, startMetricsServer } from '../../telemetry/metrics.ts';
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
      const app = await createApp({ lakeDir: config.lakeDir, stateDir: config.stateDir, kafkaBrokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, pipeline, logger, accesslink: config.accesslink });
      await app.startConsumers(stages.filter((s): s is 'parse' | 'sink' => s !== 'fetch'));
      if (opts.once) {
        try {
          const report = stages.includes('fetch') ? await app.fetch!.runOnce() : undefined;
          await app.drain();
          console.log(JSON.stringify({ fetch: report ?? null, parse: app.parse.counters }, null, 2));
        } finally {
          await app.close();
        }
        return;
      }
      const schedule = stages.includes('fetch') ? app.fetch!.startSchedule(pipeline.fetch.schedule) : null;
      const webhooks = stages.includes('fetch') && config.webhookListen ? await startWebhooks(app, config.stateDir, config.webhookListen, config.topicPrefix, logger, config.webhookMaxEventAgeMs) : null;
      const metrics = config.metricsListen ? await startMetricsServer({ ...config.metricsListen, collect: () => collectAppMetrics(app), logger }) : null;
      logger.info('pipeline.started', { stages, bus: app.bus.kind, schedule: pipeline.fetch.schedule, lake: config.lakeDir });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      schedule?.stop();
      await webhooks?.close();
      await metrics?.close();
      await app.close(); // the sink flushes its buffers and acknowledges before it closes
      logger.info('pipeline.stopped', {});
    });
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
