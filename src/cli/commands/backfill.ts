import type { Command } from 'commander';
import { createAccessLinkClient } from '../../accesslink/client.ts';
import { createApp } from '../../app.ts';
import { ConfigError } from '../../errors.ts';
import { BACKFILL_TYPES, formatBackfillPlan, planBackfill, runBackfill, type BackfillType } from '../../jobs/backfill.ts';
import { createJobProgress, exitCodeFor, printJobSummary } from '../../jobs/progress.ts';
import { commandContext } from '../context.ts';

const list = (value: string | undefined) => (value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean));

/**
 * `polar-lake backfill [--users] [--types] [--since] [--dry-run] [--json]`: everything the
 * current API still shows for the chosen users and types (src/jobs/backfill.ts), in the
 * backfill lane of the rate-limit budget. Progress on stderr, the summary on stdout (`--json`
 * for scripts); exit code 2 when anything failed. `--dry-run` makes no request: it prints the
 * requests and their time at the current budget.
 */
export function register(program: Command): void {
  program
    .command('backfill')
    .description('pull everything the AccessLink API still shows (exercises, every date-based type, physical info) without starving live polling; resumable')
    .option('--users <ids>', 'comma-separated user ids (default: every active user)')
    .option('--types <types>', `comma-separated types (default: all but activity_samples, whose rows come with activity): ${BACKFILL_TYPES.join(', ')}`)
    .option('--since <date>', 'oldest date to pull, YYYY-MM-DD (default: each type\'s whole window)')
    .option('--dry-run', 'print the requests and the time they would take at the current budget; make none')
    .option('--json', 'print the summary (or the dry-run plan) as JSON')
    .option('--pipeline <file>', 'pipeline file')
    .action(async (opts: { users?: string; types?: string; since?: string; dryRun?: boolean; json?: boolean; pipeline?: string }) => {
      const { config, pipeline, logger } = commandContext(opts.pipeline ? { pipelineFile: opts.pipeline } : {});
      if (!config.accesslink) throw new ConfigError('backfill needs an AccessLink client: set POLAR_CLIENT_ID and POLAR_CLIENT_SECRET', 'POLAR_CLIENT_ID');
      const app = await createApp({ lakeDir: config.lakeDir, stateDir: config.stateDir, kafkaBrokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, pipeline, logger, accesslink: config.accesslink });
      const al = config.accesslink;
      const gate = app.client!.rateLimitGate;
      const client = createAccessLinkClient({
        apiBaseUrl: al.apiBaseUrl, clientId: al.clientId, clientSecret: al.clientSecret, concurrency: pipeline.fetch.request_concurrency, logger, rateLimitGate: gate, lane: 'backfill',
      });
      const users = list(opts.users);
      const request = { ...(users ? { users } : {}), ...(opts.types ? { types: list(opts.types) as BackfillType[] } : {}), ...(opts.since ? { since: opts.since } : {}) };
      const deps = { client, users: app.users, rawZone: app.rawZone, ledger: app.ledger, bus: app.bus, logger, now: () => new Date(), exerciseChannel: pipeline.fetch.exercise_channel, payloads: pipeline.fetch.payloads };
      try {
        if (opts.dryRun) {
          const plan = planBackfill(request, deps, gate);
          process.stdout.write(opts.json ? JSON.stringify(plan, null, 2) + '\n' : formatBackfillPlan(plan));
          return;
        }
        planBackfill(request, deps, gate); // bad options fail here, before any work
        if (!config.kafkaBrokers) await app.startConsumers();
        const progress = createJobProgress({ job: 'backfill', unit: 'user-types' });
        try {
          await runBackfill(request, deps, progress, gate);
          if (!config.kafkaBrokers) await app.drain();
          const dead = app.parse.counters.deadLettered;
          if (dead > 0) progress.count('dead_lettered_by_parse', dead);
        } finally {
          const summary = progress.finish();
          printJobSummary(summary, opts.json ? { json: true } : {});
          process.exitCode = exitCodeFor(summary);
        }
      } finally {
        await app.close();
      }
    });
}
