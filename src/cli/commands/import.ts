import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import { createApp } from '../../app.ts';
import { validateRawId } from '../../lake/raw-zone.ts';
import { runImport } from '../../import/job.ts';
import { createJobProgress, exitCodeFor, printJobSummary } from '../../jobs/progress.ts';
import { commandContext } from '../context.ts';

/**
 * `polar-lake import PATH --user U`: a folder or a zip of files people already have (a Polar
 * Flow account export, HRM + GPX, PPT XML, TCX / GPX / FIT and their .gz) into the raw zone
 * and through the same topics into the same tables (src/import/job.ts). Progress on stderr,
 * the summary on stdout (`--json` for scripts); exit code 2 when any file failed.
 */
export function register(program: Command): void {
  program
    .command('import')
    .description('import a folder or zip of workout files (Flow export, HRM, PPT XML, TCX/GPX/FIT) for one user; idempotent')
    .argument('<path>', 'folder, zip, or single file')
    .requiredOption('--user <id>', 'the user the files belong to (the AccessLink user id when the user is enrolled)')
    .option('--json', 'print the summary as JSON')
    .option('--pipeline <file>', 'pipeline file')
    .action(async (path: string, opts: { user: string; json?: boolean; pipeline?: string }) => {
      const { config, pipeline, logger } = commandContext(opts.pipeline ? { pipelineFile: opts.pipeline } : {});
      const userId = validateRawId('user id', opts.user);
      const app = await createApp({ lakeDir: config.lakeDir, stateDir: config.stateDir, kafkaBrokers: config.kafkaBrokers, topicPrefix: config.topicPrefix, pipeline, logger });
      const progress = createJobProgress({ job: 'import', unit: 'files' });
      try {
        // With Kafka the parse and sink processes do the work; embedded, this process does.
        if (!config.kafkaBrokers) await app.startConsumers();
        await runImport(path, userId, {
          rawZone: app.rawZone, bus: app.bus, ledger: app.ledger, identities: app.identities, progress, logger, now: () => new Date(),
          jobId: `import-${new Date().toISOString().replace(/[:.]/g, '')}-${randomBytes(3).toString('hex')}`,
          spoolDir: join(config.stateDir, 'import-spool'),
          parseOptions: { tokenizer: pipeline.parse.tokenizer, timeOrder: pipeline.parse.time_order },
        });
        if (!config.kafkaBrokers) await app.drain();
        const dead = app.parse.counters.deadLettered;
        if (dead > 0) progress.count('dead_lettered_by_parse', dead);
      } finally {
        await app.close();
      }
      const summary = progress.finish();
      printJobSummary(summary, opts.json ? { json: true } : {});
      process.exitCode = exitCodeFor(summary);
    });
}
